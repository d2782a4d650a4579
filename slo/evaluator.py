"""Judges a run against a spec. Fails closed: no data, too few samples or a doubtful run never pass.

The run is mapped to each objective's counts (``slo.counts``), per window for windowed objectives,
and judged by the rules of ``slo.judge``. Each endpoint's slices are merged once per evaluation
(and once per window for windowed objectives), so judging a long run costs one pass over it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping

from slogate.slo.counts import Counts, bad_events
from slogate.slo.evaluation import Evaluation, ObjectiveResult
from slogate.slo.judge import (
    family_adjusted,
    judge,
    judge_windows,
    overall,
    run_doubt,
    window_fail_confidence,
)
from slogate.slo.run import TTFB_SUFFIX, EndpointWindow, RunResult, TimeSlice
from slogate.slo.spec import (
    AnyObjective,
    LatencyObjective,
    Spec,
    ThroughputObjective,
    endpoint_matches,
)


def evaluate(spec: Spec, run: RunResult, *, now: float | None = None) -> Evaluation:
    """The verdict of ``run`` against every objective of ``spec``, warm-up excluded."""
    window_start = spec.warmup_s
    window_end = max(window_start, run.duration_s)
    judged = list(run.slices_from(window_start))
    whole = _merge_by_endpoint(judged)
    context = _Context(spec, judged, whole, window_start, window_end - window_start, run.endpoints)
    results = family_adjusted([_judge(objective, context) for objective in spec.all_objectives], spec)
    verdict, reasons = overall(results, doubts(run))
    return Evaluation(
        service=spec.service,
        spec_source=spec.source,
        run_id=run.run_id,
        verdict=verdict,
        reasons=tuple(reasons),
        objectives=results,
        evaluated_at=time.time() if now is None else now,
        window_start_s=window_start,
        window_end_s=window_end,
    )


def doubts(run: RunResult) -> list[str]:
    """Why the run's measurement cannot be trusted (each a reason of the verdict); none for a sound run."""
    reasons = [f"invalid measurement: {flag.message}" for flag in run.validity]
    if not run.complete:
        reasons.append("the run was interrupted before its planned end")
    return reasons


# -- what is judged ------------------------------------------------------------------------------


def judged_counts(spec: Spec, run: RunResult) -> dict[str, Counts]:
    """Each objective's counts (by name) over the requests after the warm-up, merged over the run,
    with the counts of each judged slice."""
    judged = list(run.slices_from(spec.warmup_s))
    whole = _merge_by_endpoint(judged)
    seconds = max(0.0, run.duration_s - spec.warmup_s)
    return {o.name: dataclasses.replace(counts(o, select(o, whole)[0], seconds),
                                        slices=tuple(slice_counts(o, s) for s in judged))
            for o in spec.all_objectives}


def counts(objective: AnyObjective, window: EndpointWindow, seconds: float) -> Counts:
    """What ``objective`` is judged on in ``window``, ``seconds`` long (without per-slice detail)."""
    if isinstance(objective, LatencyObjective):
        histogram = window.ok
        # From bucket bounds: the threshold's own bucket is neither under nor over it.
        _, straddling, over = histogram.split_at(objective.threshold_s * 1e6)
        return Counts(total=histogram.count, bad=over, seconds=seconds, latency=histogram,
                      straddling=straddling)
    if isinstance(objective, ThroughputObjective):
        # Every request counts towards throughput, the rate-limited ones included.
        return Counts(total=window.requests + window.rate_limited, bad=0, seconds=seconds)
    return Counts(total=window.requests, bad=bad_events(objective, window.statuses, window.failures),
                  seconds=seconds)


def slice_counts(objective: AnyObjective, time_slice: TimeSlice) -> Counts:
    """What ``objective`` is judged on in one slice (no latencies: the totals are what varies)."""
    return Counts.added((counts(objective, window, time_slice.duration_s)
                         for name, window in time_slice.endpoints.items() if selects(objective, name)),
                        time_slice.duration_s)


def _merge_by_endpoint(slices: Iterable[TimeSlice]) -> dict[str, EndpointWindow]:
    by_endpoint: dict[str, list[EndpointWindow]] = {}
    for time_slice in slices:
        for name, window in time_slice.endpoints.items():
            by_endpoint.setdefault(name, []).append(window)
    # One merge of all of an endpoint's windows: their histograms add in one pass, not per bucket.
    return {name: EndpointWindow.merged(windows) for name, windows in by_endpoint.items()}


def selects(objective: AnyObjective, endpoint: str) -> bool:
    """Whether an objective judges an endpoint key: ttfb objectives read the '#ttfb' keys only."""
    if objective.kind == "ttfb":
        if not endpoint.endswith(TTFB_SUFFIX):
            return False
        return endpoint_matches(objective.endpoint, endpoint[: -len(TTFB_SUFFIX)])
    return endpoint_matches(objective.endpoint, endpoint)


def select(
    objective: AnyObjective, by_endpoint: Mapping[str, EndpointWindow]
) -> tuple[EndpointWindow, list[str]]:
    """The merged window of the endpoints an objective judges, and their names."""
    matched = sorted(name for name in by_endpoint if selects(objective, name))
    return EndpointWindow.merged(by_endpoint[name] for name in matched), matched


@dataclasses.dataclass
class _Context:
    spec: Spec
    slices: list[TimeSlice]
    whole: dict[str, EndpointWindow]
    from_s: float
    seconds: float
    known: list[str]
    _windows: dict[float, list[tuple[list[int], dict[str, EndpointWindow]]]] = dataclasses.field(
        default_factory=dict)

    def windows(self, length_s: float) -> list[tuple[list[int], dict[str, EndpointWindow]]]:
        """Full windows of ``length_s`` from the judged start: the indices of their slices, and the
        slices merged by endpoint (cached)."""
        if length_s not in self._windows:
            count = int(self.seconds / length_s + 1e-9)
            groups: list[list[int]] = [[] for _ in range(count)]
            for position, time_slice in enumerate(self.slices):
                index = int((time_slice.start_s - self.from_s) / length_s + 1e-9)
                if 0 <= index < count:
                    groups[index].append(position)
            self._windows[length_s] = [
                (group, _merge_by_endpoint(self.slices[i] for i in group)) for group in groups]
        return self._windows[length_s]


def _judge(objective: AnyObjective, context: _Context) -> ObjectiveResult:
    spec, seconds = context.spec, context.seconds
    known = {name for name in context.known if selects(objective, name)}
    missing = None
    if objective.endpoint is not None and not known:
        names = ", ".join(context.known) or "none"
        what = "no endpoint with a time to first byte" if objective.kind == "ttfb" else "no endpoint"
        missing = f"{what} matches {objective.endpoint!r} (run has: {names})"
    elif objective.kind == "ttfb" and not known:
        missing = "the run recorded no time to first byte (no streamed responses)"
    if missing is not None:
        # Judged on nothing, so the result still carries the objective's formula: inconclusive.
        empty = judge(objective, counts(objective, EndpointWindow(), seconds), spec)
        return dataclasses.replace(empty, verdict="inconclusive", reason=missing)
    window, matched = select(objective, context.whole)
    per_slice = tuple(slice_counts(objective, s) for s in context.slices)
    whole = dataclasses.replace(counts(objective, window, seconds), slices=per_slice)
    result = dataclasses.replace(judge(objective, whole, spec), matched_endpoints=tuple(matched))
    if objective.window_s is None:
        return result
    length = objective.window_s
    windows = context.windows(length)
    # Each window fails only at alpha / m, and takes the run's variation between slices.
    strict = window_fail_confidence(spec, len(windows))
    per_window = [
        judge(objective, dataclasses.replace(counts(objective, select(objective, by_endpoint)[0], length),
                                             slices=tuple(per_slice[i] for i in group)),
              spec, fail_confidence=strict, run=whole)
        for group, by_endpoint in windows]
    return judge_windows(objective, result, per_window, from_s=context.from_s, seconds=seconds,
                         doubt=run_doubt(objective, whole, spec))
