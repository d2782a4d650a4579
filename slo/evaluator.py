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
from slogate.slo.goodput import judge_goodput
from slogate.slo.judge import (
    family_adjusted,
    judge_windows,
    overall,
    run_doubt,
    window_fail_confidence,
)
from slogate.slo.judge_kinds import SERVER_SIDE_ONLY, judge_objective, server_side_only
from slogate.slo.run import (
    DERIVED_SUFFIXES,
    ITL_SUFFIX,
    TPOT_SUFFIX,
    TTFB_SUFFIX,
    TTFT_SUFFIX,
    EndpointWindow,
    RunResult,
    TimeSlice,
)
from slogate.slo.sequential import as_judged, describe_decision
from slogate.slo.spec import (
    GoodputObjective,
    HitRatioObjective,
    JudgedObjective,
    LatencyObjective,
    Spec,
    ThroughputObjective,
    cache_result,
    endpoint_matches,
)

KIND_SUFFIXES = {"ttfb": TTFB_SUFFIX, "ttft": TTFT_SUFFIX, "itl": ITL_SUFFIX, "tpot": TPOT_SUFFIX,
                 "tokens_per_s": TPOT_SUFFIX}
"""The derived series each derived latency kind reads (a tokens/s floor is a TPOT ceiling)."""


def evaluate(spec: Spec, run: RunResult, *, now: float | None = None) -> Evaluation:
    """The verdict of ``run`` against every objective of ``spec``, warm-up excluded."""
    spec, run = as_judged(spec, run)  # an --until-decided run: as its deciding look judged it
    window_start = spec.warmup_s
    window_end = max(window_start, run.duration_s)
    judged = list(run.slices_from(window_start))
    whole = merge_by_endpoint(judged)
    context = _Context(spec, judged, whole, window_start, window_end - window_start, run.endpoints, run)
    results = family_adjusted([_judge(objective, context) for objective in spec.run_judged_objectives], spec)
    verdict, reasons = overall(results, doubts(run))
    # Not gating a run, but never silently dropped: the verdict names what it did not judge.
    reasons += [f"{r.name}: {r.reason}" for r in results if r.reason.startswith(SERVER_SIDE_ONLY)]
    if run.until_decided is not None:
        reasons.append(describe_decision(run.until_decided, spec.confidence, window_end - window_start))
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
    whole = merge_by_endpoint(judged)
    seconds = max(0.0, run.duration_s - spec.warmup_s)
    return {o.name: dataclasses.replace(selected_counts(o, whole, seconds),
                                        slices=tuple(slice_counts(o, s) for s in judged))
            for o in spec.run_judged_objectives}


def selected_counts(objective: JudgedObjective, by_endpoint: Mapping[str, EndpointWindow],
                    seconds: float) -> Counts:
    """What ``objective`` is judged on among ``by_endpoint`` (without per-slice detail)."""
    if isinstance(objective, HitRatioObjective):
        # Hits and misses are told apart by their keys, so they are counted key by key.
        return Counts.added((key_counts(objective, name, window, seconds)
                             for name, window in by_endpoint.items() if selects(objective, name)), seconds)
    return counts(objective, select(objective, by_endpoint)[0], seconds)


def key_counts(objective: JudgedObjective, name: str, window: EndpointWindow, seconds: float) -> Counts:
    """What ``objective`` is judged on in one endpoint key's ``window``."""
    if isinstance(objective, HitRatioObjective):
        return Counts(total=window.requests, bad=window.requests if cache_result(name) == "miss" else 0,
                      seconds=seconds)
    return counts(objective, window, seconds)


def counts(objective: JudgedObjective, window: EndpointWindow, seconds: float) -> Counts:
    """What ``objective`` is judged on in ``window``, ``seconds`` long (without per-slice detail);
    a hit ratio needs its keys (``selected_counts``)."""
    if isinstance(objective, LatencyObjective):
        histogram = window.ok
        # From bucket bounds: the threshold's own bucket is neither under nor over it.
        _, straddling, over = histogram.split_at(objective.threshold_s * 1e6)
        return Counts(total=histogram.count, bad=over, seconds=seconds, latency=histogram,
                      straddling=straddling)
    if isinstance(objective, ThroughputObjective):
        # Every request counts towards throughput, the rate-limited ones included.
        return Counts(total=window.requests + window.rate_limited, bad=0, seconds=seconds)
    if isinstance(objective, HitRatioObjective):
        return Counts(total=window.requests, bad=0, seconds=seconds)  # misses: see key_counts
    if isinstance(objective, GoodputObjective):
        return Counts(total=0, bad=0, seconds=seconds)  # judged on the run's request rows instead
    return Counts(total=window.requests, bad=bad_events(objective, window.statuses, window.failures),
                  seconds=seconds)


def slice_counts(objective: JudgedObjective, time_slice: TimeSlice) -> Counts:
    """What ``objective`` is judged on in one slice (no latencies: the totals are what varies)."""
    return Counts.added((key_counts(objective, name, window, time_slice.duration_s)
                         for name, window in time_slice.endpoints.items() if selects(objective, name)),
                        time_slice.duration_s)


def merge_by_endpoint(slices: Iterable[TimeSlice]) -> dict[str, EndpointWindow]:
    """Each endpoint's windows over ``slices``, merged."""
    by_endpoint: dict[str, list[EndpointWindow]] = {}
    for time_slice in slices:
        for name, window in time_slice.endpoints.items():
            by_endpoint.setdefault(name, []).append(window)
    # One merge of all of an endpoint's windows: their histograms add in one pass, not per bucket.
    return {name: EndpointWindow.merged(windows) for name, windows in by_endpoint.items()}


def selects(objective: JudgedObjective, endpoint: str) -> bool:
    """Whether an objective judges an endpoint key: derived latency kinds read their own series
    only ('#ttfb', '#ttft', ...), a hit ratio the ':hit' and ':miss' keys only."""
    suffix = KIND_SUFFIXES.get(objective.kind)
    if suffix is not None:
        if not endpoint.endswith(suffix):
            return False
        return endpoint_matches(objective.endpoint, endpoint[: -len(suffix)])
    if isinstance(objective, HitRatioObjective) and cache_result(endpoint) not in ("hit", "miss"):
        return False
    return endpoint_matches(objective.endpoint, endpoint)


def select(
    objective: JudgedObjective, by_endpoint: Mapping[str, EndpointWindow]
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
    run: RunResult
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
                (group, merge_by_endpoint(self.slices[i] for i in group)) for group in groups]
        return self._windows[length_s]


def _judge(objective: JudgedObjective, context: _Context) -> ObjectiveResult:
    spec, seconds = context.spec, context.seconds
    if not getattr(objective, "client_side", True):
        return server_side_only(objective, counts(objective, EndpointWindow(), seconds), spec)
    if isinstance(objective, GoodputObjective):
        return judge_goodput(objective, context.run, spec, context.from_s)
    known = {name for name in context.known if selects(objective, name)}
    missing = _missing(objective, known, context.known)
    if missing is not None:
        # Judged on nothing, so the result still carries the objective's formula: inconclusive.
        empty = judge_objective(objective, counts(objective, EndpointWindow(), seconds), spec)
        return dataclasses.replace(empty, verdict="inconclusive", reason=missing)
    matched = sorted(name for name in context.whole if selects(objective, name))
    per_slice = tuple(slice_counts(objective, s) for s in context.slices)
    # The requests counted are those of the judged slices, so a rate divides by their seconds: the
    # first starts on the slice grid up to a slice after the warm-up, the run's last is partial.
    sliced_s = sum(s.duration_s for s in context.slices) if context.slices else seconds
    whole = dataclasses.replace(selected_counts(objective, context.whole, sliced_s), slices=per_slice)
    result = dataclasses.replace(judge_objective(objective, whole, spec), matched_endpoints=tuple(matched))
    if objective.window_s is None or isinstance(objective, GoodputObjective | HitRatioObjective):
        return result
    length = objective.window_s
    windows = context.windows(length)
    # Each window fails only at alpha / m, and takes the run's variation between slices.
    strict = window_fail_confidence(spec, len(windows))
    per_window = [
        judge_objective(objective, dataclasses.replace(selected_counts(objective, by_endpoint, length),
                                                       slices=tuple(per_slice[i] for i in group)),
                        spec, fail_confidence=strict, run=whole)
        for group, by_endpoint in windows]
    return judge_windows(objective, result, per_window, from_s=context.from_s, seconds=seconds,
                         doubt=run_doubt(objective, whole, spec))


def _missing(objective: JudgedObjective, known: set[str], run_has: list[str]) -> str | None:
    """Why the run holds nothing ``objective`` could be judged on; None when it holds something."""
    if known:
        return None
    suffix = KIND_SUFFIXES.get(objective.kind)
    series = DERIVED_SUFFIXES[suffix] if suffix is not None else None
    if objective.endpoint is not None:
        names = ", ".join(run_has) or "none"
        what = (f"no endpoint with a {series}" if series is not None
                else "no cached endpoint (':hit' or ':miss' keys)" if isinstance(objective, HitRatioObjective)
                else "no endpoint")
        return f"{what} matches {objective.endpoint!r} (run has: {names})"
    if series is not None:
        return f"the run recorded no {series} (no streamed responses)"
    if isinstance(objective, HitRatioObjective):
        return "the run recorded no cache hits or misses (no ':hit' or ':miss' endpoint keys)"
    return None
