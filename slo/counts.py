"""What a verdict is computed from: an objective's events over the judged seconds.

A run (``slo.evaluator``) and Prometheus (``slo.prometheus_source``) are two sources of the same
values; the judging rules (``slo.judge``) read only these, never a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from slogate.slo.histogram import LatencyHistogram
from slogate.slo.spec import AvailabilityObjective, ErrorRatioObjective


@dataclass(frozen=True)
class Counts:
    """The events one objective is judged on, ``bad`` of ``total`` of them, over ``seconds``.

    What an event is depends on the objective: a request of the endpoints it selects (ratios,
    throughput, where none is bad), or a successful one, bad when over the threshold (latency).
    """

    total: int
    bad: int
    seconds: float
    latency: LatencyHistogram | None = None
    """The latencies of the events (µs), where the source has them; a percentile is judged on
    them. None from a source that only counts (Prometheus)."""
    straddling: int = 0
    """Latency: events in the histogram bucket holding the threshold, so on either side of it
    (``bad`` counts only those surely over it: the buckets whose lower bound is at or above it)."""
    slices: tuple[Counts, ...] = ()
    """The same counts per slice of the run, in time order (without latencies): how much they vary
    between slices measures how much independent information the total holds. Empty from a source
    without slices (Prometheus): its events are judged as independent."""

    @property
    def good(self) -> int:
        return self.total - self.bad

    @property
    def possibly_bad(self) -> int:
        """The bad events and those that may be (the threshold's bucket)."""
        return self.bad + self.straddling

    @classmethod
    def added(cls, parts: Iterable[Counts], seconds: float) -> Counts:
        """The sum of several sources' counts over the same ``seconds`` (no latencies, no slices)."""
        total = bad = straddling = 0
        for part in parts:
            total, bad, straddling = total + part.total, bad + part.bad, straddling + part.straddling
        return cls(total=total, bad=bad, seconds=seconds, straddling=straddling)


def bad_events(
    objective: ErrorRatioObjective | AvailabilityObjective, statuses: Mapping[str, int], failures: int
) -> int:
    """The requests a ratio objective counts as errors: its status classes, or else the failed ones."""
    if not objective.error_statuses:
        return failures
    return sum(count for status, count in statuses.items()
               if any(status_in_class(status, c) for c in objective.error_statuses))


def status_in_class(status: str, status_class: str) -> bool:
    """'503' is in '5xx' and in '503'."""
    pattern = status_class.strip().lower()
    if len(pattern) != len(status):
        return False
    return all(p in ("x", s) for p, s in zip(pattern, status, strict=True))
