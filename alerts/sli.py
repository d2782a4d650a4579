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

Each objective is read with its own contract (``slo.spec.objective_contract``: the objective's,
the spec's, else the command's), its ``matchers`` joined to the contract's selector.

An objective whose SLI is given in the user's own PromQL (``objective.sli``: Sloth, Pyrra, OpenSLO
imports) is recorded from those queries verbatim (``slo.query_sli``), never from the contract.

The selectors, the ``le`` regular expression (exporters spell bounds differently) and the recorded
names come from ``slo.promql``, which the dashboards read too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slogate.alerts.buckets import bucket_of, nearest_buckets
from slogate.slo import promql, query_sli
from slogate.slo.contract import LATENCY_BUCKETS_S, MetricContract
from slogate.slo.sli import QuerySli
from slogate.slo.spec import LatencyObjective, Objective, Spec, objective_contract, spec_contract
from slogate.slo.units import format_duration

ABSENT_WINDOW = "10m"
"""The range an absent-metric check gives the user's event queries: two scrapes at least."""


def bucket_bound(
    objective: LatencyObjective, buckets: Sequence[float] = LATENCY_BUCKETS_S
) -> float:
    """The histogram bucket equal to the objective's threshold; a ValueError naming the nearest
    buckets when there is none."""
    threshold = objective.threshold_s
    bound = bucket_of(threshold, buckets)
    if bound is not None:
        return bound
    raise ValueError(
        f"latency objective {objective.name!r}: threshold {format_duration(threshold)} is not a "
        f"bucket boundary of the latency histogram, so Prometheus cannot count the requests "
        f"under it; nearest buckets: {nearest_buckets(threshold, buckets)}. Use one of them, or "
        f"add the threshold to the histogram's buckets "
        f"({', '.join(format_duration(b) for b in buckets)})"
    )


@dataclass(frozen=True)
class Sli:
    """One objective's SLI as PromQL: the bad-event ratio over any window.

    For a latency SLI ``bad_selector`` picks the requests at or under the threshold's bucket
    ``bucket_s`` (the good ones: Prometheus counts those), for a ratio SLI the failed ones.
    ``query`` is the user's own SLI (``objective.sli``), then the selectors are unused.
    """

    objective: Objective
    service: str
    bad_selector: str
    total_selector: str
    bucket_s: float | None = None
    query: QuerySli | None = None
    contract: MetricContract | None = None
    """The contract the selectors are of (the objective's matchers in its selector); None for
    the user's own SLI."""

    @property
    def name(self) -> str:
        return self.objective.name

    @property
    def latency(self) -> bool:
        return isinstance(self.objective, LatencyObjective)

    @property
    def labels(self) -> dict[str, str]:
        """The labels of the recorded series: ``slo`` and ``service``."""
        return promql.sli_labels(self.objective, self.service)

    def record(self, window_s: float) -> str:
        return promql.record_name(self.objective, window_s)

    def recorded(self, window_s: float) -> str:
        """The selector of the recorded series over ``window_s``."""
        return promql.recorded_sli(self.objective, self.service, window_s)

    @property
    def presence(self) -> tuple[str, ...]:
        """What must have series for the SLI to exist (an absent-metric alert watches them): the
        request counts, and for a latency SLI the threshold's bucket too. For the user's event or
        ratio queries, the total query over ``ABSENT_WINDOW``."""
        if self.query is not None:
            named = query_sli.selectors(self.query)
            if named:
                return tuple(str(s) for s in named)
            return (query_sli.total_expr(self.query, ABSENT_WINDOW),)
        return (self.total_selector, self.bad_selector) if self.latency else (self.total_selector,)

    def expr(self, window_s: float) -> str:
        """The bad-event ratio over ``window_s`` (multi-line PromQL)."""
        w = promql.duration(window_s)
        if self.query is not None:
            return query_sli.bad_ratio(self.query, w)
        if self.latency:
            good = promql.sum_rate(self.bad_selector, w)
            total = promql.sum_rate(self.total_selector, w)
            return f"1 - (\n  {good}\n/\n  {total}\n)"
        return promql.error_ratio(self.bad_selector, self.total_selector, w)


def sli_for(
    objective: Objective,
    spec: Spec,
    contract: MetricContract,
    buckets: Sequence[float] = LATENCY_BUCKETS_S,
) -> Sli:
    """The SLI of one objective; ValueError for a latency threshold that is not a bucket, and for
    a user's SLI that is no ratio of events (a quantile threshold)."""
    if objective.sli is not None:
        try:
            query = query_sli.ratio_sli(objective.sli)
        except query_sli.UnsupportedSli as exc:
            raise ValueError(f"objective {objective.name!r}: server-side SLI given as queries is "
                             f"not supported by alerts yet: {exc}") from None
        return Sli(objective, spec.service, "", "", query=query)
    if isinstance(objective, LatencyObjective):
        bound = bucket_bound(objective, buckets)
        succeeded = promql.latency_matchers(objective, contract)
        good = promql.selector(
            contract.request_bucket,
            contract.matchers(*succeeded, promql.le_matcher(contract.le(bound))),
        )
        total = promql.selector(f"{contract.request_duration}_count", contract.matchers(*succeeded))
        return Sli(objective, spec.service, good, total, bound, contract=contract)
    bad, total = promql.error_selectors(objective, contract)
    return Sli(objective, spec.service, bad, total, contract=contract)


def slis(
    spec: Spec,
    contract: MetricContract,
    buckets: Sequence[float] | None = None,
) -> list[Sli]:
    """Every objective's SLI, in spec order, each read with its own contract (``contract`` is the
    command's); all bucket problems reported at once. ``buckets`` (seconds, from a live target)
    stand for the bounds of the spec's contract's histogram; an objective whose contract has
    another histogram is checked against that contract's buckets."""
    result: list[Sli] = []
    problems: list[str] = []
    proxy = spec_contract(spec, contract)
    for objective in spec.objectives:
        own = objective_contract(spec, objective, contract)
        bounds = own.buckets_s if buckets is None or own.request_duration != proxy.request_duration \
            else buckets
        try:
            result.append(sli_for(objective, spec, own, bounds))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("\n".join(problems))
    return result
