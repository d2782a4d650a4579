"""Judges a run against a spec. Fails closed: no data, too few samples or a doubtful run never pass."""

from __future__ import annotations

import time
from typing import Any

from slo.evaluation import Evaluation, ObjectiveResult, Verdict
from slo.run import EndpointWindow, RunResult
from slo.spec import AvailabilityObjective, LatencyObjective, Objective, RatioObjective, Spec
from slo.units import format_duration, format_ratio


def evaluate(spec: Spec, run: RunResult, *, now: float | None = None) -> Evaluation:
    """The verdict of ``run`` against every objective of ``spec``, warm-up excluded."""
    window_start = spec.warmup_s
    window_end = max(window_start, run.duration_s)
    judged_seconds = window_end - window_start
    results = tuple(
        _judge(objective, run, window_start, judged_seconds) for objective in spec.objectives
    )
    verdict, reasons = _overall(results, run)
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


def _overall(results: tuple[ObjectiveResult, ...], run: RunResult) -> tuple[Verdict, list[str]]:
    gating = [r for r in results if r.gating]
    failed = [r for r in gating if r.verdict == "fail"]
    undecided = [r for r in gating if r.verdict == "inconclusive"]
    reasons: list[str] = [f"invalid measurement: {flag.message}" for flag in run.validity]
    if not run.complete:
        reasons.append("the run was interrupted before its planned end")
    if not gating:
        reasons.append("the spec has no gating objective")
    # A doubtful measurement decides nothing, not even a failure: fix the run, then judge again.
    if reasons:
        reasons += [f"{r.name}: {r.reason}" for r in failed + undecided]
        return "inconclusive", reasons
    if failed:
        return "fail", [f"{r.name}: {r.reason}" for r in failed]
    if undecided:
        return "inconclusive", [f"{r.name}: {r.reason}" for r in undecided]
    return "pass", [f"all {len(gating)} gating objectives met"]


def _judge(objective: Objective, run: RunResult, from_s: float, seconds: float) -> ObjectiveResult:
    window, matched = run.merged(objective.endpoint, from_s=from_s)
    if objective.endpoint is not None and not matched:
        known = ", ".join(run.endpoints) or "none"
        return _no_data(objective, f"no endpoint matches {objective.endpoint!r} (run has: {known})")
    if isinstance(objective, LatencyObjective):
        return _judge_latency(objective, window, matched)
    return _judge_ratio(objective, window, matched, seconds)


def _result(objective: Objective, **measured: Any) -> ObjectiveResult:
    """An objective's result: what the spec said, plus what was measured."""
    latency = isinstance(objective, LatencyObjective)
    return ObjectiveResult(
        name=objective.name,
        kind=objective.kind,
        endpoint=objective.endpoint,
        gating=objective.gating,
        unit="s" if latency else "ratio",
        required_samples=objective.required_samples,
        percentile=objective.percentile if isinstance(objective, LatencyObjective) else None,
        **measured,
    )


def _no_data(objective: Objective, reason: str) -> ObjectiveResult:
    return _result(objective, verdict="inconclusive", reason=reason, threshold=_threshold(objective),
                   measured=None, margin=None, samples=0)


def _threshold(objective: Objective) -> float:
    if isinstance(objective, LatencyObjective):
        return objective.threshold_s
    if isinstance(objective, AvailabilityObjective):
        return objective.target
    return objective.allowed_bad_ratio


def _judge_latency(
    objective: LatencyObjective,
    window: EndpointWindow,
    matched: list[str],
) -> ObjectiveResult:
    histogram = window.ok
    samples = histogram.count
    required = objective.required_samples
    q = objective.percentile / 100.0
    label = f"p{objective.percentile:g}"
    threshold = format_duration(objective.threshold_s)
    allowed_slow = 1.0 - q
    slow = samples - histogram.count_at_or_below(objective.threshold_s * 1e6)
    burn = (slow / samples) / allowed_slow if samples else None
    measured_us = histogram.quantile(q) if samples else None
    measured = None if measured_us is None else measured_us / 1e6

    verdict: Verdict
    if samples < required:
        # Even the missing samples, all fast, could not bring the percentile under: decided.
        if slow > allowed_slow * required:
            verdict = "fail"
            reason = (f"{slow} of {samples} successful requests over {threshold}: more than "
                      f"{label} allows even at {required} samples")
        else:
            verdict = "inconclusive"
            reason = (f"{samples} successful requests, {required} needed to judge {label} "
                      f"(at least 10 beyond the percentile)")
    elif measured is not None and measured <= objective.threshold_s:
        verdict = "pass"
        reason = f"{label} {format_duration(measured)} <= {threshold}"
    else:
        verdict = "fail"
        reason = f"{label} {format_duration(measured or 0.0)} > {threshold}"
    return _result(
        objective,
        verdict=verdict,
        reason=reason,
        threshold=objective.threshold_s,
        measured=measured,
        margin=None if measured is None else objective.threshold_s - measured,
        samples=samples,
        bad_events=slow,
        burn_rate=burn,
        matched_endpoints=tuple(matched),
    )


def _judge_ratio(
    objective: RatioObjective, window: EndpointWindow, matched: list[str], seconds: float
) -> ObjectiveResult:
    samples = window.requests
    bad = window.failures
    required = objective.required_samples
    allowed = objective.allowed_bad_ratio
    measured = bad / samples if samples else None
    burn = None
    consumed = None
    # A zero budget ('max: 0%') has no burn rate: any failure fails it outright.
    if measured is not None and allowed > 0:
        burn = measured / allowed
        consumed = burn * seconds / objective.period_s

    # Availability is shown as it is stated (successes, at least the target); the error ratio as
    # failures, at most the maximum. Either way a positive margin is headroom.
    is_availability = objective.kind == "availability"
    shown_measured = None if measured is None else (1.0 - measured if is_availability else measured)
    threshold = 1.0 - allowed if is_availability else allowed
    margin = None
    if shown_measured is not None:
        margin = shown_measured - threshold if is_availability else threshold - shown_measured
    what = "availability" if is_availability else "error ratio"
    compare = ">=" if is_availability else "<="
    worse = "<" if is_availability else ">"
    verdict: Verdict
    if samples < required:
        if bad > allowed * required:
            verdict = "fail"
            reason = (f"{bad} failed of {samples} requests: more than {format_ratio(allowed)} "
                      f"fail even counting {required} requests")
        else:
            verdict = "inconclusive"
            reason = (f"{samples} requests, {required} needed to show {what} {compare} "
                      f"{format_ratio(threshold)} (rule of three)")
    elif shown_measured is not None and measured is not None and measured <= allowed:
        verdict = "pass"
        reason = (f"{what} {format_ratio(shown_measured)} {compare} {format_ratio(threshold)} "
                  f"({bad} of {samples} failed)")
    else:
        verdict = "fail"
        reason = (f"{what} {format_ratio(shown_measured or 0.0)} {worse} {format_ratio(threshold)} "
                  f"({bad} of {samples} failed)")
    return _result(
        objective,
        verdict=verdict,
        reason=reason,
        threshold=threshold,
        measured=shown_measured,
        margin=margin,
        samples=samples,
        bad_events=bad,
        burn_rate=burn,
        budget_consumed=consumed,
        matched_endpoints=tuple(matched),
    )
