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

The selectors, the ``le`` regular expression (exporters spell bounds differently) and the recorded
names come from ``slo.promql``, which the dashboards read too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slogate.alerts.buckets import bucket_of, nearest_buckets
from slogate.slo import promql
from slogate.slo.contract import LATENCY_BUCKETS_S, MetricContract
from slogate.slo.spec import LatencyObjective, Objective, Spec
from slogate.slo.units import format_duration


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
    """

    objective: Objective
    service: str
    bad_selector: str
    total_selector: str
    bucket_s: float | None = None

    @property
    def name(self) -> str:
        return self.objective.name

    @property
    def latency(self) -> bool:
        return self.bucket_s is not None

    @property
    def labels(self) -> dict[str, str]:
        """The labels of the recorded series: ``slo`` and ``service``."""
        return promql.sli_labels(self.objective, self.service)

    def record(self, window_s: float) -> str:
        return promql.record_name(self.objective, window_s)

    def recorded(self, window_s: float) -> str:
        """The selector of the recorded series over ``window_s``."""
        return promql.recorded_sli(self.objective, self.service, window_s)

    def expr(self, window_s: float) -> str:
        """The bad-event ratio over ``window_s`` (multi-line PromQL)."""
        w = promql.duration(window_s)
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
    """The SLI of one objective; ValueError for a latency threshold that is not a bucket."""
    if isinstance(objective, LatencyObjective):
        bound = bucket_bound(objective, buckets)
        succeeded = promql.latency_matchers(objective, contract)
        good = promql.selector(
            f"{contract.request_duration}_bucket",
            contract.matchers(*succeeded, promql.le_matcher(bound)),
        )
        total = promql.selector(f"{contract.request_duration}_count", contract.matchers(*succeeded))
        return Sli(objective, spec.service, good, total, bound)
    bad, total = promql.error_selectors(objective, contract)
    return Sli(objective, spec.service, bad, total)


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
