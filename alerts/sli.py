"""PromQL for each objective's SLI as a ratio of bad events to all events, over a window.

Every SLI here is *traffic-weighted*: ``sum(rate(bad[w])) / sum(rate(total[w]))`` over all the
series an objective selects, never an average of per-series ratios.

- error_ratio and availability: bad = requests whose status matches the contract's
  ``error_status_matcher`` (``=~"5.."`` by default); total = all requests. When no request has
  failed there is no error series at all, so the numerator falls back to ``vector(0)``: the SLI
  is then 0 rather than absent (it is still absent when there is no traffic).
- latency (percentile p, threshold T): bad = requests slower than T, i.e.
  ``1 - bucket{le="T"} / count``, and the allowed bad ratio is ``1 - p/100``. Like the run
  evaluator (``slo.evaluator``), only successful requests count: failures are judged by the ratio
  objectives, and a fast 503 must not make latency look good. T must be a bucket boundary of the
  histogram, since a bucket is the only place Prometheus knows how many requests were under T.

The ``le`` label is matched with a regular expression, because exporters write the same bound
differently: Python's prometheus_client writes ``0.25``, ``1.0`` and ``10.0``, Go's client and
Prometheus 3 (which normalises classic histogram ``le`` labels on ingestion) write ``0.25``, ``1``
and ``10``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from alerts import promql
from slo.contract import LATENCY_BUCKETS_S, MetricContract
from slo.spec import LatencyObjective, Objective, Spec
from slo.units import format_duration

RATIO_RECORD = "slogate:sli_error_ratio"
"""Recorded bad-event ratio of error_ratio and availability objectives (``…:rate5m`` etc.)."""

LATENCY_RECORD = "slogate:sli_slow_ratio"
"""Recorded ratio of successful requests slower than the threshold, for latency objectives."""


def record_base(objective: Objective) -> str:
    return LATENCY_RECORD if isinstance(objective, LatencyObjective) else RATIO_RECORD


def record_name(objective: Objective, window_s: float) -> str:
    """``slogate:sli_error_ratio:rate5m`` and the like."""
    return f"{record_base(objective)}:rate{promql.duration(window_s)}"


def allowed_bad_ratio(objective: Objective) -> float:
    """The bad-event ratio the objective allows, rounded to 12 digits (``1 - 99.9/100 = 0.001``)."""
    if isinstance(objective, LatencyObjective):
        raw = 1.0 - objective.percentile / 100.0
    else:
        raw = objective.allowed_bad_ratio
    return float(promql.number(raw))


def period_s(objective: Objective, spec: Spec) -> float:
    """The SLO period an objective's budget spans (latency objectives use the spec's)."""
    if isinstance(objective, LatencyObjective):
        return spec.period_s
    return objective.period_s


def endpoint_matchers(endpoint: str | None, contract: MetricContract) -> list[str]:
    """Label matchers for an endpoint selector: 'POST /v1/messages' gives route and method,
    '/v1/messages' the route alone (every method), None nothing (every request)."""
    if endpoint is None:
        return []
    parts = endpoint.split()
    if len(parts) == 1:
        return [promql.equals(contract.route_label, parts[0])]
    if len(parts) == 2:
        method, route = parts
        return [
            promql.equals(contract.route_label, route),
            promql.equals(contract.method_label, method),
        ]
    raise ValueError(
        f"cannot read the endpoint {endpoint!r}; expected 'METHOD /route' or '/route'"
    )


def bucket_bound(
    objective: LatencyObjective, buckets: Sequence[float] = LATENCY_BUCKETS_S
) -> float:
    """The histogram bucket equal to the objective's threshold; a ValueError naming the nearest
    buckets when there is none."""
    threshold = objective.threshold_s
    for bound in buckets:
        if math.isclose(bound, threshold, rel_tol=1e-9, abs_tol=1e-12):
            return bound
    below = [b for b in buckets if b < threshold]
    above = [b for b in buckets if b > threshold]
    nearest = [f"{format_duration(b)} (le={promql.number(b)})" for b in (*below[-1:], *above[:1])]
    raise ValueError(
        f"latency objective {objective.name!r}: threshold {format_duration(threshold)} is not a "
        f"bucket boundary of the latency histogram, so Prometheus cannot count the requests "
        f"under it; nearest buckets: {' and '.join(nearest)}. Use one of them, or add the "
        f"threshold to the histogram's buckets "
        f"({', '.join(format_duration(b) for b in buckets)})"
    )


def le_pattern(bound: float) -> str:
    """An RE2 pattern matching every common spelling of a bucket bound in the ``le`` label.

    0.25 -> ``0\\.250*`` (0.25, 0.250); 1.0 -> ``1(\\.0*)?`` (1, 1.0); 1e-05 also as written.
    """
    if not math.isfinite(bound):
        return r"\+Inf"
    forms: list[str] = []
    plain = format(Decimal(repr(bound)), "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    if "." in plain:
        forms.append(plain.replace(".", r"\.") + "0*")
    else:
        forms.append(plain + r"(\.0*)?")
    for spelled in (repr(bound), f"{bound:g}"):
        if "e" in spelled:
            escaped = spelled.replace(".", r"\.").replace("+", r"\+")
            if escaped not in forms:
                forms.append(escaped)
    return "|".join(forms)


@dataclass(frozen=True)
class Sli:
    """One objective's SLI as PromQL: the bad-event ratio over any window."""

    objective: Objective
    service: str
    allowed_bad_ratio: float
    period_s: float
    bad_selector: str
    total_selector: str
    latency: bool

    @property
    def name(self) -> str:
        return self.objective.name

    def record(self, window_s: float) -> str:
        return record_name(self.objective, window_s)

    def expr(self, window_s: float) -> str:
        """The bad-event ratio over ``window_s`` (multi-line PromQL)."""
        w = promql.duration(window_s)
        bad = f"sum(rate({self.bad_selector}[{w}]))"
        total = f"sum(rate({self.total_selector}[{w}]))"
        if self.latency:
            # bad_selector picks the requests at or under the threshold: the good ones.
            return f"1 - (\n  {bad}\n/\n  {total}\n)"
        return f"(\n  {bad}\n  or vector(0)\n)\n/\n{total}"


def sli_for(
    objective: Objective,
    spec: Spec,
    contract: MetricContract,
    buckets: Sequence[float] = LATENCY_BUCKETS_S,
) -> Sli:
    """The SLI of one objective; ValueError for a latency threshold that is not a bucket."""
    where = endpoint_matchers(objective.endpoint, contract)
    status = contract.status_label
    if isinstance(objective, LatencyObjective):
        bound = bucket_bound(objective, buckets)
        ok = f"{promql.label_name(status)}{promql.negate(contract.error_status_matcher)}"
        le = f"le=~{promql.string(le_pattern(bound))}"
        good = promql.selector(
            f"{contract.request_duration}_bucket", contract.matchers(*where, ok, le)
        )
        total = promql.selector(f"{contract.request_duration}_count", contract.matchers(*where, ok))
        return Sli(objective, spec.service, allowed_bad_ratio(objective), period_s(objective, spec),
                   good, total, latency=True)
    failed = f"{promql.label_name(status)}{contract.error_status_matcher.strip()}"
    promql.negate(contract.error_status_matcher)  # validates the matcher's form
    bad = promql.selector(f"{contract.request_duration}_count", contract.matchers(*where, failed))
    total = promql.selector(f"{contract.request_duration}_count", contract.matchers(*where))
    return Sli(objective, spec.service, allowed_bad_ratio(objective), period_s(objective, spec),
               bad, total, latency=False)


def slis(
    spec: Spec,
    contract: MetricContract,
    buckets: Sequence[float] = LATENCY_BUCKETS_S,
) -> list[Sli]:
    """Every objective's SLI, in spec order; all bucket problems reported at once."""
    result: list[Sli] = []
    problems: list[str] = []
    for objective in spec.objectives:
        try:
            result.append(sli_for(objective, spec, contract, buckets))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("\n".join(problems))
    return result
