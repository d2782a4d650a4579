"""Judges a run against a spec. Fails closed: no data, too few samples or a doubtful run never pass.

Every verdict rests on a confidence interval (``slo.stats``): pass when the whole interval meets
the objective, fail when the whole interval misses it, inconclusive in between, with an estimate
of how many more requests would decide. Each endpoint's slices are merged once per evaluation
(and once per window for windowed objectives), so judging a long run costs one pass over it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from slogate.slo.evaluation import Evaluation, ObjectiveResult, Verdict
from slogate.slo.run import TTFB_SUFFIX, EndpointWindow, RunResult, TimeSlice
from slogate.slo.spec import (
    AnyObjective,
    AvailabilityObjective,
    ErrorRatioObjective,
    LatencyObjective,
    Objective,
    Spec,
    ThroughputObjective,
    endpoint_matches,
)
from slogate.slo.stats import quantile_interval, samples_to_separate, wilson_interval, z_value
from slogate.slo.units import format_duration, format_ratio


def evaluate(spec: Spec, run: RunResult, *, now: float | None = None) -> Evaluation:
    """The verdict of ``run`` against every objective of ``spec``, warm-up excluded."""
    window_start = spec.warmup_s
    window_end = max(window_start, run.duration_s)
    judged = list(run.slices_from(window_start))
    whole = _merge_by_endpoint(judged)
    context = _Context(spec, judged, whole, window_start, window_end - window_start, run.endpoints)
    results = tuple(_judge(objective, context) for objective in spec.all_objectives)
    verdict, reasons = overall(results, run)
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


def overall(results: tuple[ObjectiveResult, ...], run: RunResult) -> tuple[Verdict, list[str]]:
    """The run's verdict from its objectives' (gating ones only) and the run's validity."""
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


# -- what is judged ------------------------------------------------------------------------------


def judged_windows(spec: Spec, run: RunResult) -> dict[str, EndpointWindow]:
    """Each endpoint's requests after the warm-up, merged over the run."""
    return _merge_by_endpoint(run.slices_from(spec.warmup_s))


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


@dataclasses.dataclass
class _Context:
    spec: Spec
    slices: list[TimeSlice]
    whole: dict[str, EndpointWindow]
    from_s: float
    seconds: float
    known: list[str]
    _windows: dict[float, list[tuple[float, dict[str, EndpointWindow]]]] = dataclasses.field(
        default_factory=dict
    )

    def windows(self, length_s: float) -> list[tuple[float, dict[str, EndpointWindow]]]:
        """Full windows of ``length_s`` from the judged start, each merged by endpoint (cached)."""
        if length_s not in self._windows:
            count = int(self.seconds / length_s + 1e-9)
            groups: list[list[TimeSlice]] = [[] for _ in range(count)]
            for time_slice in self.slices:
                index = int((time_slice.start_s - self.from_s) / length_s + 1e-9)
                if 0 <= index < count:
                    groups[index].append(time_slice)
            self._windows[length_s] = [(self.from_s + i * length_s, _merge_by_endpoint(group))
                                       for i, group in enumerate(groups)]
        return self._windows[length_s]


def select(
    objective: AnyObjective, by_endpoint: dict[str, EndpointWindow]
) -> tuple[EndpointWindow, list[str]]:
    """The merged window of the endpoints an objective judges, and their names."""
    matched = sorted(name for name in by_endpoint if selects(objective, name))
    return EndpointWindow.merged(by_endpoint[name] for name in matched), matched


def _judge(objective: AnyObjective, context: _Context) -> ObjectiveResult:
    judge = _judge_function(objective)
    window, matched = select(objective, context.whole)
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
        empty = judge(objective, EndpointWindow(), context.seconds, context.spec)
        return dataclasses.replace(empty, verdict="inconclusive", reason=missing)
    result = judge(objective, window, context.seconds, context.spec)
    result = dataclasses.replace(result, matched_endpoints=tuple(matched))
    if objective.window_s is not None:
        result = _windowed(objective, result, judge, context)
    return result


_Judge = Callable[[Any, EndpointWindow, float, Spec], ObjectiveResult]


def _judge_function(objective: AnyObjective) -> _Judge:
    if isinstance(objective, LatencyObjective):
        return _judge_budget if objective.form == "budget" else _judge_percentile
    if isinstance(objective, ThroughputObjective):
        return judge_throughput
    return judge_ratio


def _windowed(
    objective: AnyObjective, whole: ObjectiveResult, judge: _Judge, context: _Context
) -> ObjectiveResult:
    """'p99 of every 30 s window': every full window must meet the objective on its own."""
    assert objective.window_s is not None
    length = objective.window_s
    per_window = [judge(objective, select(objective, by_endpoint)[0], length, context.spec)
                  for _, by_endpoint in context.windows(length)]
    failed = [i for i, r in enumerate(per_window) if r.verdict == "fail"]
    undecided = [i for i, r in enumerate(per_window) if r.verdict == "inconclusive"]
    target = objective.window_target
    # Timeslices budgeting: up to (1 - target) of the windows may miss (none by default).
    allowed = math.floor((1.0 - target) * len(per_window) + 1e-9)
    every = (f"every {format_duration(length)} window" if target >= 1.0
             else f"{format_ratio(target)} of {format_duration(length)} windows")
    verdict: Verdict
    if not per_window:
        verdict = "inconclusive"
        reason = (f"the judged {format_duration(context.seconds)} hold no full "
                  f"{format_duration(length)} window")
    elif len(failed) > allowed:
        first = per_window[failed[0]]
        verdict = "fail"
        reason = (f"{len(failed)} of {len(per_window)} windows missed the objective; first at "
                  f"{format_duration(context.from_s + failed[0] * length)}: {first.reason}")
    elif len(failed) + len(undecided) > allowed:
        first = per_window[undecided[0]]
        verdict = "inconclusive"
        reason = (f"{len(undecided)} of {len(per_window)} windows undecided; first at "
                  f"{format_duration(context.from_s + undecided[0] * length)}: {first.reason}")
    else:
        verdict = "pass"
        missed = f", {len(failed) + len(undecided)} missed or undecided" if failed or undecided else ""
        reason = f"{every} met ({len(per_window)} windows{missed}); whole run: {whole.reason}"
    worst = per_window[(failed or undecided or [_worst(per_window)])[0]] if per_window else whole
    return dataclasses.replace(
        whole,
        verdict=verdict,
        reason=reason,
        measured=worst.measured,
        margin=worst.margin,
        ci_low=worst.ci_low,
        ci_high=worst.ci_high,
        more_samples_needed=worst.more_samples_needed,
        formula=f"judged on {every}, each as: {whole.formula}",
        window_s=length,
        windows_total=len(per_window),
        windows_failed=len(failed),
        windows_undecided=len(undecided),
        window_burn_rates=tuple(r.burn_rate for r in per_window),
    )


def _worst(results: list[ObjectiveResult]) -> int:
    margins = [(r.margin if r.margin is not None else math.inf, i) for i, r in enumerate(results)]
    return min(margins)[1]


# -- results -----------------------------------------------------------------------------------


def _result(objective: AnyObjective, unit: str, **measured: Any) -> ObjectiveResult:
    """An objective's result: what the spec said, plus what was measured."""
    return ObjectiveResult(
        name=objective.name,
        kind=objective.kind,
        endpoint=objective.endpoint,
        gating=objective.gating,
        unit=unit,  # type: ignore[arg-type]
        required_samples=objective.required_samples,
        percentile=objective.percentile if isinstance(objective, LatencyObjective) else None,
        window_s=objective.window_s,
        **measured,
    )


def _unit(objective: AnyObjective) -> str:
    if isinstance(objective, LatencyObjective):
        return "ratio" if objective.form == "budget" else "s"
    return "rps" if isinstance(objective, ThroughputObjective) else "ratio"


def _budget(bad: int, total: int, allowed: float, seconds: float, period_s: float) -> dict[str, Any]:
    """Burn rate (bad share over allowed), budget consumed over the window, time to exhaustion."""
    if total <= 0 or allowed <= 0.0:
        return {"burn_rate": None, "budget_consumed": None, "time_to_exhaustion_s": None}
    burn = (bad / total) / allowed
    return {
        "burn_rate": burn,
        "budget_consumed": burn * seconds / period_s,
        "time_to_exhaustion_s": period_s / burn if burn > 0 else None,
    }


_BUDGET_FORMULA = ("burn rate = (bad / total) / allowed; budget consumed = burn rate × judged window / "
                   "period; time to exhaustion = period / burn rate")


def _more(samples: int, required: int, decide_at: int | None) -> int | None:
    """Requests still missing to decide: at least the floor, and what the interval needs."""
    if decide_at is None:
        return None
    return max(0, max(required, decide_at) - samples) or None


def _pct(fraction: float) -> str:
    return format_ratio(fraction)


def _judge_percentile(
    objective: LatencyObjective, window: EndpointWindow, seconds: float, spec: Spec
) -> ObjectiveResult:
    histogram = window.ok
    samples = histogram.count
    required = objective.required_samples
    q = objective.percentile / 100.0
    label = f"p{objective.percentile:g}"
    what = "time to first byte" if objective.kind == "ttfb" else "latency"
    threshold_us = objective.threshold_s * 1e6
    threshold = format_duration(objective.threshold_s)
    confidence = spec.confidence
    level = f"{confidence * 100:g}%"
    slow = samples - histogram.count_at_or_below(threshold_us) if samples else 0
    budget = _budget(slow, samples, objective.allowed_bad_ratio, seconds, spec.period_s)
    interval = quantile_interval(histogram, q, confidence)
    formula = (f"{label} = the {what} of the ceil({q:g}·n)-th fastest of n successful requests; "
               f"{level} interval = order statistics of ranks n·(q ∓ z·sqrt(q(1−q)/n)), z = "
               f"{z_value(confidence):.3g} (distribution-free); pass when its upper bound <= "
               f"{threshold}, fail when its lower bound > {threshold}; bad = requests over {threshold}; "
               f"{_BUDGET_FORMULA}")
    common: dict[str, Any] = {"threshold": objective.threshold_s, "samples": samples, "bad_events": slow,
                              "confidence": confidence, "formula": formula, **budget}
    if interval is None:
        return _result(objective, "s", verdict="inconclusive", measured=None, margin=None,
                       reason=f"no successful requests to judge {label} (at least {required} needed)",
                       more_samples_needed=required, **common)
    measured = interval.estimate / 1e6
    low = interval.low / 1e6
    high = None if interval.high is None else interval.high / 1e6
    shown_ci = f"{level} CI {format_duration(low)}–{'∞' if high is None else format_duration(high)}"
    share_under = (samples - slow) / samples
    verdict: Verdict
    more = None
    if low > objective.threshold_s:
        verdict = "fail"
        reason = (f"{label} {format_duration(measured)} > {threshold} "
                  f"({shown_ci}: beyond even at its lower bound)")
    elif samples < required:
        verdict = "inconclusive"
        more = _more(samples, required, samples_to_separate(share_under, q, confidence))
        reason = (f"{samples} successful requests, {required} needed to judge {label} "
                  f"(at least 10 beyond the percentile); {label} so far {format_duration(measured)}")
    elif high is not None and high <= objective.threshold_s:
        verdict = "pass"
        reason = f"{label} {format_duration(measured)} <= {threshold} ({shown_ci})"
    else:
        verdict = "inconclusive"
        more = _more(samples, required, samples_to_separate(share_under, q, confidence))
        needed = f"about {more} more requests would decide" if more else "no sample size decides it"
        reason = f"{label} {format_duration(measured)} but {shown_ci} straddles {threshold}: {needed}"
    return _result(objective, "s", verdict=verdict, reason=reason, measured=measured,
                   margin=objective.threshold_s - measured, ci_low=low, ci_high=high,
                   more_samples_needed=more, **common)


def _judge_budget(
    objective: LatencyObjective, window: EndpointWindow, seconds: float, spec: Spec
) -> ObjectiveResult:
    """'99% of requests under 250ms': the share under the threshold, with its Wilson interval."""
    histogram = window.ok
    samples = histogram.count
    target = objective.percentile / 100.0
    threshold = format_duration(objective.threshold_s)
    fast = histogram.count_at_or_below(objective.threshold_s * 1e6) if samples else 0
    slow = samples - fast
    return judge_share(
        objective, good=fast, total=samples, target=target, seconds=seconds, spec=spec,
        what=f"share of successful requests under {threshold}", bad_label=f"over {threshold}",
        period_s=spec.period_s, bad=slow,
    )


def judge_ratio(
    objective: ErrorRatioObjective | AvailabilityObjective, window: EndpointWindow, seconds: float,
    spec: Spec,
) -> ObjectiveResult:
    samples = window.requests
    bad = bad_requests(objective, window)
    # Say what counted as an error: the spec's status classes when it names them, else failures.
    bad_label = ("failed" if not objective.error_statuses
                 else f"with status {'/'.join(objective.error_statuses)}")
    if objective.kind == "availability":
        return judge_share(objective, good=samples - bad, total=samples,
                            target=1.0 - objective.allowed_bad_ratio, seconds=seconds, spec=spec,
                            what="availability", bad_label=bad_label, period_s=objective.period_s,
                            bad=bad)
    allowed = objective.allowed_bad_ratio
    return _judge_share_limit(objective, _ShareLimit(
        what="error ratio", definition=f"requests {bad_label} / all requests",
        statistic="z = (ratio − max) / sqrt(max(1−max)/n)", events=bad, bad=bad, total=samples,
        bad_label=bad_label, limit=allowed, allowed=allowed, upper=True, period_s=objective.period_s,
    ), seconds, spec)


def bad_requests(objective: ErrorRatioObjective | AvailabilityObjective, window: EndpointWindow) -> int:
    """The requests a ratio objective counts as errors: its status classes, or the failed ones."""
    if not objective.error_statuses:
        return window.failures
    return sum(count for status, count in window.statuses.items()
               if any(status_in_class(status, c) for c in objective.error_statuses))


def status_in_class(status: str, status_class: str) -> bool:
    """'503' is in '5xx' and in '503'."""
    pattern = status_class.strip().lower()
    if len(pattern) != len(status):
        return False
    return all(p in ("x", s) for p, s in zip(pattern, status, strict=True))


def _ratio_statistic(bad: int, total: int, allowed: float) -> float | None:
    """z of the observed bad share against the allowed one (positive: worse than allowed)."""
    if total <= 0 or not 0.0 < allowed < 1.0:
        return None
    return (bad / total - allowed) / math.sqrt(allowed * (1.0 - allowed) / total)


def judge_share(
    objective: LatencyObjective | AvailabilityObjective, *, good: int, total: int, bad: int, target: float,
    seconds: float, spec: Spec, what: str, bad_label: str, period_s: float,
) -> ObjectiveResult:
    """A lower bound on a share of good events (availability, requests under a latency threshold)."""
    return _judge_share_limit(objective, _ShareLimit(
        what=what, definition="good / all",
        statistic="z = (bad share − allowed) / sqrt(allowed(1−allowed)/n)", events=good, bad=bad,
        total=total, bad_label=bad_label, limit=target, allowed=1.0 - target, upper=False,
        period_s=period_s,
    ), seconds, spec)


@dataclasses.dataclass(frozen=True)
class _ShareLimit:
    """A share of requests and the limit it must respect: an upper one on the bad share (error
    ratio), or a lower one on the good share (availability, requests under a latency threshold)."""

    what: str
    """The share's name in reasons ('error ratio', 'availability')."""
    definition: str
    """What the share divides, for the formula ('failed / all requests')."""
    statistic: str
    """How the formula explains the test statistic."""
    events: int
    """The requests the share counts: bad ones under an upper limit, good ones over a lower one."""
    bad: int
    total: int
    bad_label: str
    """What the bad requests are, in reasons ('failed', 'over 250ms')."""
    limit: float
    allowed: float
    """The bad share the error budget allows."""
    upper: bool
    period_s: float

    @property
    def holds(self) -> str:
        return "<=" if self.upper else ">="

    @property
    def breaks(self) -> str:
        return ">" if self.upper else "<"


def _judge_share_limit(
    objective: Objective, share: _ShareLimit, seconds: float, spec: Spec
) -> ObjectiveResult:
    """Pass when the share's whole Wilson interval respects the limit, fail when it is all beyond."""
    what, limit, total, bad = share.what, share.limit, share.total, share.bad
    required = objective.required_samples
    confidence = spec.confidence
    level = f"{confidence * 100:g}%"
    low, high = wilson_interval(share.events, total, confidence)
    measured = share.events / total if total else None
    passing_bound, failing_bound = ("upper", "lower") if share.upper else ("lower", "upper")
    formula = (f"{what} = {share.definition}; {level} Wilson score interval; pass when its "
               f"{passing_bound} bound {share.holds} {_pct(limit)}, fail when its {failing_bound} bound "
               f"{share.breaks} {_pct(limit)}; {share.statistic}; {_BUDGET_FORMULA}")
    budget = _budget(bad, total, share.allowed, seconds, share.period_s)
    shown_ci = f"{level} CI {_pct(low)}–{_pct(high)}"
    counts = f"{bad} of {total} {share.bad_label}"
    # Compared on the interval of the counted share itself, not mirrored (1 − x is not exact).
    beyond = low > limit if share.upper else high < limit
    within = high <= limit if share.upper else low >= limit
    verdict: Verdict
    more = None
    if measured is None:
        verdict, reason, more = "inconclusive", f"no requests (at least {required} needed)", required
    elif share.allowed <= 0.0:
        # A zero budget (error ratio max 0%, or a target of 100%, which OpenSLO can state) has no
        # interval to wait for: one bad request fails it, and an interval that can never reach
        # the limit exactly would otherwise keep a perfect run from ever passing.
        if bad:
            verdict, reason = "fail", f"{what} {_pct(measured)} {share.breaks} {_pct(limit)} ({counts})"
        elif total < required:
            verdict, more = "inconclusive", required - total
            reason = f"{total} requests, {required} needed to show {what} {share.holds} {_pct(limit)}"
        else:
            verdict, reason = "pass", f"{what} {_pct(measured)} {share.holds} {_pct(limit)} ({counts})"
    elif beyond:
        verdict = "fail"
        reason = f"{what} {_pct(measured)} {share.breaks} {_pct(limit)} ({counts}; {shown_ci})"
    elif total < required:
        verdict = "inconclusive"
        more = _more(total, required, samples_to_separate(measured, limit, confidence))
        reason = (f"{total} requests, {required} needed to show {what} {share.holds} {_pct(limit)} "
                  f"(so far {counts})")
    elif within:
        verdict = "pass"
        reason = f"{what} {_pct(measured)} {share.holds} {_pct(limit)} ({counts}; {shown_ci})"
    else:
        verdict = "inconclusive"
        more = _more(total, required, samples_to_separate(measured, limit, confidence))
        needed = f"about {more} more requests would decide" if more else "no sample size decides it"
        reason = f"{what} {_pct(measured)} but {shown_ci} straddles {_pct(limit)}: {needed}"
    margin = None if measured is None else (limit - measured if share.upper else measured - limit)
    return _result(
        objective, "ratio", verdict=verdict, reason=reason, threshold=limit, measured=measured,
        margin=margin, samples=total, bad_events=bad, ci_low=low if total else None,
        ci_high=high if total else None, confidence=confidence, more_samples_needed=more,
        formula=formula, test_statistic=_ratio_statistic(bad, total, share.allowed), **budget,
    )


def judge_throughput(
    objective: ThroughputObjective, window: EndpointWindow, seconds: float, spec: Spec
) -> ObjectiveResult:
    """Requests per second over the judged window, with a Poisson interval on the count."""
    requests = window.requests + window.rate_limited
    confidence = spec.confidence
    level = f"{confidence * 100:g}%"
    floor = objective.min_rps
    formula = (f"throughput = requests (any outcome, rate-limited included) / judged seconds; {level} "
               f"interval = (n ∓ z·sqrt(n)) / seconds; pass when its lower bound >= {floor:g}/s, "
               "fail when its upper bound < the floor")
    common: dict[str, Any] = {"threshold": floor, "samples": requests, "confidence": confidence,
                              "formula": formula}
    if seconds <= 0.0 or requests == 0:
        return _result(objective, "rps", verdict="inconclusive", measured=None, margin=None,
                       reason="no requests in the judged window", **common)
    rate = requests / seconds
    spread = z_value(confidence) * math.sqrt(requests)
    low, high = max(0.0, requests - spread) / seconds, (requests + spread) / seconds
    shown = (f"{rate:.4g}/s ({requests} requests in {format_duration(seconds)}; "
             f"{level} CI {low:.4g}–{high:.4g}/s)")
    verdict: Verdict
    if high < floor:
        verdict, reason = "fail", f"throughput {shown} < {floor:g}/s"
    elif requests < objective.required_samples or low < floor:
        verdict, reason = "inconclusive", f"throughput {shown} not clearly >= {floor:g}/s"
    else:
        verdict, reason = "pass", f"throughput {shown} >= {floor:g}/s"
    return _result(objective, "rps", verdict=verdict, reason=reason, measured=rate, margin=rate - floor,
                   ci_low=low, ci_high=high, **common)
