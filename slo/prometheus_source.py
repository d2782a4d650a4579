"""Prometheus as an SLI source: the same spec judged from the proxy's own server-side metrics.

Every query of one evaluation uses one evaluation time (the window's end) and one range (the
window's length), so 'good' and 'total' never come from different instants. Counts come from
``increase()`` over the metric contract's request counter and latency histogram (``slo.contract``):

- ratios and throughput: one ``sum by (status) (increase(…_count[range]))``; failures are the
  statuses the contract's error matcher selects (or the objective's ``error_statuses``);
- latency: ``sum by (le) (increase(…_bucket{succeeded}[range]))`` gives the share of requests
  under the threshold (which must be a bucket bound) and its Wilson interval decides, as for
  the budget form; ``histogram_quantile`` over the same buckets gives the percentile shown.

An objective whose SLI is the user's own PromQL (``objective.sli``: Sloth, Pyrra, OpenSLO) is
counted from those queries, never from the contract (``_OwnSli``): counters by ``increase()``
(gauges of events by ``sum_over_time``), event queries with their ``{{.window}}`` set to the
window (a ``rate()`` query's per-second value times the window's seconds), a histogram's bucket
``le`` over its count. A precomputed ratio query gives no event counts to judge with confidence:
its objective is inconclusive and says so, as is a quantile query that is not over a histogram.

Each objective is counted with its own contract (``spec.objective_contract``: the objective's, the
spec's, else the command's ``contract``), its label ``matchers`` in every selector.

A contract without a latency histogram (HAProxy's exporter) judges latency objectives client-side
only: each is inconclusive server-side and says why, never dropped.

Server-side there is no time to first byte nor sub-bucket latency, and windows would need other
evaluation times: ttfb and windowed objectives are inconclusive here, and say why. Unreachable
Prometheus, a refused query or no series at all are errors, never a pass.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from slogate.slo import query_sli
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.counts import Counts, bad_events
from slogate.slo.evaluation import Evaluation, ObjectiveResult
from slogate.slo.judge import judge, judge_budget, judge_share, overall
from slogate.slo.promql import (
    duration,
    endpoint_matchers,
    label_name,
    number,
    selector,
    succeeded_matcher,
)
from slogate.slo.sli import CounterRatio, ErrorRatioQuery, EventQueries, HistogramLatency, QuerySli, Selector
from slogate.slo.spec import (
    DERIVED_LATENCY_KINDS,
    AnyObjective,
    AvailabilityObjective,
    ErrorRatioObjective,
    LatencyObjective,
    Spec,
    ThroughputObjective,
    objective_contract,
    spec_contract,
)
from slogate.slo.units import format_duration

_MATCHER = re.compile(r'^\s*(=~|!~|!=|=)\s*"(.*)"\s*$', re.S)


class PrometheusError(Exception):
    """Prometheus could not answer (unreachable, or no data): the measurement is missing (exit 3)."""


class PrometheusQueryError(PrometheusError):
    """Prometheus refused a query (bad PromQL or a bad contract override): bad input (exit 2)."""


class PrometheusApi(Protocol):
    """What this source needs of a Prometheus server: instant queries. ``PrometheusClient`` asks
    one over HTTP; tests answer from memory."""

    url: str
    """Where the answers come from, for the evaluation's run id."""

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` at time ``at`` (the API's ``data.result``); raises
        PrometheusError when there is no answer, PrometheusQueryError when the query is refused."""
        ...


class PrometheusClient:
    """The instant-query API of one Prometheus server, over plain HTTP (a ``PrometheusApi``)."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise PrometheusQueryError(
                f"expected a Prometheus URL such as http://127.0.0.1:9090, got {url!r}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        """The vector result of ``expr`` at time ``at``; raises PrometheusError/QueryError."""
        body = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"}).encode()
        request = urllib.request.Request(f"{self.url}/api/v1/query", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read() or b"{}")
            except ValueError:
                answer = {}
            if exc.code in (400, 422):
                raise PrometheusQueryError(
                    f"Prometheus refused the query ({answer.get('errorType', exc.code)}: "
                    f"{answer.get('error', exc.reason)}): {expr}") from None
            raise PrometheusError(f"Prometheus at {self.url} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {reason}") from None
        except ValueError:
            raise PrometheusError(f"Prometheus at {self.url} did not answer JSON") from None
        if answer.get("status") != "success":
            raise PrometheusQueryError(f"Prometheus query failed: {answer.get('error')}: {expr}")
        data = answer.get("data", {})
        if data.get("resultType") != "vector":
            raise PrometheusQueryError(f"expected an instant vector from: {expr}")
        return list(data.get("result", []))


def evaluate_prometheus(
    spec: Spec,
    client: PrometheusApi,
    start: float,
    end: float,
    *,
    contract: MetricContract = DEFAULT_CONTRACT,
    now: float | None = None,
) -> Evaluation:
    """The verdict of the window [start, end] (Unix seconds) from Prometheus, at evaluation time ``end``."""
    if not end > start:
        raise PrometheusQueryError(f"the window must end after it starts (from {start}, to {end})")
    source = _Source(client, contract, end, end - start)
    results = tuple(_judge(objective, dataclasses.replace(
        source, contract=objective_contract(spec, objective, contract)), spec)
        for objective in spec.all_objectives)
    if all(r.samples == 0 for r in results):
        proxy = spec_contract(spec, contract)
        counted = proxy.request_duration or proxy.request_count
        what = (f"{counted} samples" if any(o.sli is None for o in spec.objectives)
                else "samples of the SLOs' own queries")
        raise PrometheusError(
            f"Prometheus has no {what} in the window "
            f"({format_duration(end - start)} to {end:.0f}): is it scraping the proxy?")
    verdict, reasons = overall(results)
    # Objectives the proxy's metrics cannot measure are out of the verdict, and said so.
    gating = {objective.name for objective in spec.all_objectives if objective.gating}
    reasons += [f"{r.name}: not judged server-side: {r.reason}" for r in results
                if r.name in gating and not r.gating]
    return Evaluation(service=spec.service, spec_source=spec.source,
                      run_id=f"prometheus {client.url} {start:.0f}..{end:.0f}", verdict=verdict,
                      reasons=tuple(reasons), objectives=results,
                      evaluated_at=time.time() if now is None else now, window_start_s=start,
                      window_end_s=end)


@dataclasses.dataclass(frozen=True)
class _Source:
    """The window's queries, and their answers read as counts."""

    client: PrometheusApi
    contract: MetricContract
    at: float
    seconds: float

    @property
    def range(self) -> str:
        return duration(max(1.0, round(self.seconds)))

    def request_counts(
        self, objective: ErrorRatioObjective | AvailabilityObjective | ThroughputObjective
    ) -> Counts:
        """All requests of the objective's endpoint; the bad ones as a ratio objective counts them
        (its ``error_statuses``, else the statuses the contract's error matcher selects)."""
        statuses = {status: count for status, value in self.statuses(objective).items()
                    if (count := _whole(value))}
        failures = sum(count for status, count in statuses.items() if _failed(status, self.contract))
        total = sum(statuses.values())
        if isinstance(objective, ThroughputObjective):
            return Counts(total=total, bad=0, seconds=self.seconds)
        return Counts(total=total, bad=bad_events(objective, statuses, failures), seconds=self.seconds)

    def latency_counts(self, objective: LatencyObjective) -> Counts:
        """Successful requests of the objective's endpoint, the bad ones over its threshold."""
        buckets = self.buckets(objective)
        total = _whole(buckets.get(math.inf, 0.0))
        bound = next((le for le in buckets if math.isclose(le, objective.threshold_s, rel_tol=1e-9)), None)
        if bound is None and total:
            known = ", ".join(f"{le:g}" for le in sorted(buckets) if math.isfinite(le))
            raise PrometheusQueryError(
                f"{objective.name}: threshold {format_duration(objective.threshold_s)} is not a bucket "
                f"bound of {self.contract.request_duration} (bounds in seconds: {known}); server-side "
                "latency can only be judged at a bucket bound")
        fast = _whole(buckets.get(bound, 0.0)) if bound is not None else 0
        return Counts(total=total, bad=total - fast, seconds=self.seconds)

    def statuses(self, objective: AnyObjective) -> dict[str, float]:
        """Requests by status code in the window, for the objective's endpoint."""
        c = self.contract
        series = selector(c.request_count, c.matchers(*endpoint_matchers(objective.endpoint, c)))
        expr = f"sum by ({label_name(c.status_label)}) (increase({series}[{self.range}]))"
        return {str(r["metric"].get(c.status_label, "")): _value(r) for r in self.client.query(expr, self.at)}

    def buckets(self, objective: LatencyObjective) -> dict[float, float]:
        """Successful requests of the objective's endpoint by bucket bound, in seconds."""
        c = self.contract
        series = selector(c.request_bucket, self._latency_matchers(objective))
        expr = f"sum by (le) (increase({series}[{self.range}]))"
        return {c.seconds(float(r["metric"].get("le", "nan"))): _value(r)
                for r in self.client.query(expr, self.at)}

    def _latency_matchers(self, objective: LatencyObjective) -> str:
        c = self.contract
        succeeded = [succeeded_matcher(c)] if c.latency_status else []
        return c.matchers(*endpoint_matchers(objective.endpoint, c), *succeeded)

    def quantile(self, objective: LatencyObjective) -> float | None:
        c = self.contract
        series = selector(c.request_bucket, self._latency_matchers(objective))
        inner = f"sum by (le) (increase({series}[{self.range}]))"
        result = self.client.query(f"histogram_quantile({objective.percentile / 100.0!r}, {inner})", self.at)
        value = _value(result[0]) if result else math.nan
        return c.seconds(value) if math.isfinite(value) else None


def _value(sample: dict[str, Any]) -> float:
    try:
        return float(sample["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return math.nan


def _failed(status: str, contract: MetricContract) -> bool:
    match = _MATCHER.match(contract.error_status_matcher)
    if match is None:
        raise PrometheusQueryError(f"cannot read the error matcher {contract.error_status_matcher!r}")
    op, pattern = match.groups()
    hit = re.fullmatch(pattern, status) is not None if "~" in op else status == pattern
    return hit if op in ("=", "=~") else not hit


def _whole(value: float) -> int:
    # increase() extrapolates to the window's edges: counts are whole requests.
    return max(0, round(value)) if math.isfinite(value) else 0


@dataclasses.dataclass(frozen=True)
class _OwnSli:
    """The window's counts of an SLI given as the user's own queries."""

    source: _Source

    def counts(self, sli: QuerySli) -> Counts:
        """Total and bad events of ``sli`` in the window; ValueError (``UnsupportedSli``) for an SLI
        that gives no counts."""
        sli = query_sli.ratio_sli(sli)
        if isinstance(sli, ErrorRatioQuery):
            raise query_sli.UnsupportedSli(
                f"its SLI is a precomputed ratio ({sli.ratio}), which gives no event counts to "
                "judge with confidence; write it as error and total event queries")
        if isinstance(sli, EventQueries):
            total = self._events(sli.total)
            numerator = self._events(sli.bad if sli.bad is not None else sli.good or "")
            bad = numerator if sli.bad is not None else total - numerator
        elif isinstance(sli, CounterRatio):
            total = self._increase(sli.total, sli.counter)
            numerator = self._increase(sli.bad if sli.bad is not None else sli.good or sli.total, sli.counter)
            bad = numerator if sli.bad is not None else total - numerator
        elif isinstance(sli, HistogramLatency):
            total = self._increase(sli.total, True)
            bad = total - self._increase(sli.good, True)
        else:  # ratio_sli leaves no quantile threshold
            raise query_sli.UnsupportedSli("a quantile threshold gives no event counts")
        return Counts(total=total, bad=min(total, max(0, bad)), seconds=self.source.seconds)

    def quantile(self, objective: LatencyObjective) -> float | None:
        """The objective's percentile of its own histogram, in seconds, where it has one."""
        sli = query_sli.ratio_sli(objective.sli) if objective.sli is not None else None
        if not isinstance(sli, HistogramLatency):
            return None
        rated = f"sum by (le) (increase({sli.good.without('le')}[{self.source.range}]))"
        result = self.source.client.query(
            f"histogram_quantile({number(objective.percentile / 100.0)}, {rated})", self.source.at)
        value = _value(result[0]) if result else math.nan
        if not math.isfinite(value):
            return None
        return value / 1000.0 if sli.unit == "ms" else value

    def _one(self, expr: str) -> float:
        answer = self.source.client.query(expr, self.source.at)
        return sum(v for v in (_value(r) for r in answer) if math.isfinite(v))

    def _increase(self, series: Selector, counter: bool) -> int:
        function = "increase" if counter else "sum_over_time"
        return _whole(self._one(f"sum({function}({series}[{self.source.range}]))"))

    def _events(self, query: str) -> int:
        value = self._one(query_sli.with_window(query, self.source.range))
        # A rate is per second: the window's events are the rate times its seconds.
        per_second = re.search(r"\b(rate|irate)\s*\(", query) is not None
        return _whole(value * self.source.seconds if per_second else value)


def _judge_own(objective: AnyObjective, source: _Source, spec: Spec) -> ObjectiveResult:
    """An objective whose SLI is the user's own queries, judged from their counts."""
    assert not isinstance(objective, ThroughputObjective) and objective.sli is not None
    own = _OwnSli(source)
    try:
        counts = own.counts(objective.sli)
    except query_sli.UnsupportedSli as exc:
        result = judge(objective, Counts(total=0, bad=0, seconds=source.seconds), spec)
        return dataclasses.replace(result, verdict="inconclusive", reason=(
            f"server-side SLI given as queries is not supported by gate --prometheus yet: {exc}"))
    result = judge_budget(objective, counts, spec) if isinstance(objective, LatencyObjective) \
        else judge(objective, counts, spec)
    if isinstance(objective, LatencyObjective) and objective.form == "percentile" and counts.total:
        estimate = own.quantile(objective)
        if estimate is not None:
            result = dataclasses.replace(result, reason=(
                f"p{objective.percentile:g} ≈ {format_duration(estimate)} (histogram_quantile); "
                f"{result.reason}"))
    return result


def _judge(objective: AnyObjective, source: _Source, spec: Spec) -> ObjectiveResult:
    if not isinstance(objective, ThroughputObjective) and objective.sli is not None:
        result = _judge_own(objective, source, spec)
    elif isinstance(objective, LatencyObjective):
        result = _judge_latency(objective, source, spec)
    else:
        result = judge(objective, source.request_counts(objective), spec)
    if objective.window_s is not None and result.verdict == "pass":
        result = dataclasses.replace(result, verdict="inconclusive", reason=(
            f"windowed objectives are judged from a run's slices, not from Prometheus; whole window: "
            f"{result.reason}"))
    return result


def _judge_latency(objective: LatencyObjective, source: _Source, spec: Spec) -> ObjectiveResult:
    if objective.kind in DERIVED_LATENCY_KINDS:
        result = judge_share(objective, Counts(total=0, bad=0, seconds=source.seconds), spec,
                             target=objective.percentile / 100.0, what=objective.kind,
                             bad_label="slow", period_s=spec.period_s)
        series = DERIVED_LATENCY_KINDS[objective.kind].replace(" ", "-")
        return dataclasses.replace(result, gating=False, reason=f"the metric contract has no {series} "
                                   f"histogram: judge {objective.kind} objectives from a run")
    if not source.contract.has_latency:
        # What the proxy does not measure is no doubt about the server side: that objective is left
        # out of the server's verdict (named, never dropped) and judged by the run alone.
        result = judge_budget(objective, Counts(total=0, bad=0, seconds=source.seconds), spec)
        return dataclasses.replace(result, verdict="inconclusive", gating=False, reason=(
            f"{source.contract.label} has no latency histogram ({source.contract.request_count} "
            "counts requests, not their durations): latency is judged client-side only, by the run"))
    counts = source.latency_counts(objective)
    result = judge_budget(objective, counts, spec)
    if objective.form == "budget":
        return result
    # Stated as a percentile: decided by the same binomial criterion (p <= T iff share under T >= p),
    # shown with Prometheus's interpolated percentile.
    label = f"p{objective.percentile:g}"
    threshold = format_duration(objective.threshold_s)
    estimate = source.quantile(objective) if counts.total else None
    shown = f"{label} ≈ {format_duration(estimate)} (histogram_quantile); " if estimate is not None else ""
    return dataclasses.replace(
        result, unit="s", threshold=objective.threshold_s, measured=estimate,
        margin=None if estimate is None else objective.threshold_s - estimate, ci_low=None, ci_high=None,
        reason=f"{shown}{result.reason}",
        formula=f"{label} <= {threshold} iff the share of requests under {threshold} >= "
                f"{objective.percentile:g}%; {result.formula}",
    )
