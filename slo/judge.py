"""The judging rules: an objective's verdict from its counts, and the overall verdict from those.

Every verdict rests on a confidence interval (``slo.stats``): pass when the whole interval meets
the objective, fail when the whole interval misses it, inconclusive in between, with an estimate
of how many more requests would decide. The rules read ``slo.counts.Counts`` only, so any source
of counts (a run, Prometheus) is judged the same way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from slogate.slo.counts import Counts
from slogate.slo.evaluation import ObjectiveResult, Verdict
from slogate.slo.spec import (
    AnyObjective,
    AvailabilityObjective,
    ErrorRatioObjective,
    LatencyObjective,
    Objective,
    Spec,
    ThroughputObjective,
)
from slogate.slo.stats import quantile_interval, samples_to_separate, wilson_interval, z_value
from slogate.slo.units import format_duration, format_ratio


def judge(objective: AnyObjective, counts: Counts, spec: Spec) -> ObjectiveResult:
    """The verdict of one objective on its counts (a windowed objective's whole-run verdict)."""
    if isinstance(objective, LatencyObjective):
        if objective.form == "budget":
            return judge_budget(objective, counts, spec)
        return judge_percentile(objective, counts, spec)
    if isinstance(objective, ThroughputObjective):
        return judge_throughput(objective, counts, spec)
    return judge_ratio(objective, counts, spec)


def overall(results: Sequence[ObjectiveResult], doubts: Sequence[str] = ()) -> tuple[Verdict, list[str]]:
    """The verdict from the objectives' (gating ones only), and the reasons to doubt the
    measurement itself (an invalid or interrupted run), each already said as a reason."""
    gating = [r for r in results if r.gating]
    failed = [r for r in gating if r.verdict == "fail"]
    undecided = [r for r in gating if r.verdict == "inconclusive"]
    reasons = list(doubts)
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


def judge_windows(
    objective: AnyObjective, whole: ObjectiveResult, per_window: Sequence[ObjectiveResult], *,
    from_s: float, seconds: float,
) -> ObjectiveResult:
    """'p99 of every 30 s window': every full window must meet the objective on its own.

    ``whole`` is the verdict on all the judged seconds (from ``from_s``, ``seconds`` long), and
    ``per_window`` the verdicts of the full windows in time order.
    """
    assert objective.window_s is not None
    length = objective.window_s
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
        reason = (f"the judged {format_duration(seconds)} hold no full "
                  f"{format_duration(length)} window")
    elif len(failed) > allowed:
        first = per_window[failed[0]]
        verdict = "fail"
        reason = (f"{len(failed)} of {len(per_window)} windows missed the objective; first at "
                  f"{format_duration(from_s + failed[0] * length)}: {first.reason}")
    elif len(failed) + len(undecided) > allowed:
        first = per_window[undecided[0]]
        verdict = "inconclusive"
        reason = (f"{len(undecided)} of {len(per_window)} windows undecided; first at "
                  f"{format_duration(from_s + undecided[0] * length)}: {first.reason}")
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


def _worst(results: Sequence[ObjectiveResult]) -> int:
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


# -- latency -----------------------------------------------------------------------------------


def judge_percentile(objective: LatencyObjective, counts: Counts, spec: Spec) -> ObjectiveResult:
    """'p99 under 250ms': the order-statistic interval of the percentile, read from the latencies."""
    histogram = counts.latency
    if histogram is None:
        raise ValueError(f"{objective.name}: a percentile is judged on latencies, and these counts have none")
    samples = counts.total
    slow = counts.bad
    required = objective.required_samples
    q = objective.percentile / 100.0
    label = f"p{objective.percentile:g}"
    what = "time to first byte" if objective.kind == "ttfb" else "latency"
    threshold = format_duration(objective.threshold_s)
    confidence = spec.confidence
    level = f"{confidence * 100:g}%"
    budget = _budget(slow, samples, objective.allowed_bad_ratio, counts.seconds, spec.period_s)
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


def judge_budget(objective: LatencyObjective, counts: Counts, spec: Spec) -> ObjectiveResult:
    """'99% of requests under 250ms': the share under the threshold, with its Wilson interval."""
    threshold = format_duration(objective.threshold_s)
    return judge_share(objective, counts, spec, target=objective.percentile / 100.0,
                       what=f"share of successful requests under {threshold}",
                       bad_label=f"over {threshold}", period_s=spec.period_s)


# -- ratios ------------------------------------------------------------------------------------


def judge_ratio(
    objective: ErrorRatioObjective | AvailabilityObjective, counts: Counts, spec: Spec
) -> ObjectiveResult:
    """An error ratio (an upper limit on the bad share) or an availability (a lower one on the good)."""
    # Say what counted as an error: the spec's status classes when it names them, else failures.
    bad_label = ("failed" if not objective.error_statuses
                 else f"with status {'/'.join(objective.error_statuses)}")
    if objective.kind == "availability":
        return judge_share(objective, counts, spec, target=1.0 - objective.allowed_bad_ratio,
                           what="availability", bad_label=bad_label, period_s=objective.period_s)
    allowed = objective.allowed_bad_ratio
    return _judge_share_limit(objective, _ShareLimit(
        what="error ratio", definition=f"requests {bad_label} / all requests",
        statistic="z = (ratio − max) / sqrt(max(1−max)/n)", events=counts.bad, bad=counts.bad,
        total=counts.total, bad_label=bad_label, limit=allowed, allowed=allowed, upper=True,
        period_s=objective.period_s,
    ), counts.seconds, spec)


def judge_share(
    objective: LatencyObjective | AvailabilityObjective, counts: Counts, spec: Spec, *, target: float,
    what: str, bad_label: str, period_s: float,
) -> ObjectiveResult:
    """A lower bound on a share of good events (availability, requests under a latency threshold).

    ``what`` names the share in reasons ('availability'), ``bad_label`` the bad events ('failed',
    'over 250ms'); ``period_s`` is the SLO period the error budget is spent over.
    """
    return _judge_share_limit(objective, _ShareLimit(
        what=what, definition="good / all",
        statistic="z = (bad share − allowed) / sqrt(allowed(1−allowed)/n)", events=counts.good,
        bad=counts.bad, total=counts.total, bad_label=bad_label, limit=target, allowed=1.0 - target,
        upper=False, period_s=period_s,
    ), counts.seconds, spec)


def _ratio_statistic(bad: int, total: int, allowed: float) -> float | None:
    """z of the observed bad share against the allowed one (positive: worse than allowed)."""
    if total <= 0 or not 0.0 < allowed < 1.0:
        return None
    return (bad / total - allowed) / math.sqrt(allowed * (1.0 - allowed) / total)


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


# -- throughput --------------------------------------------------------------------------------


def judge_throughput(objective: ThroughputObjective, counts: Counts, spec: Spec) -> ObjectiveResult:
    """Requests per second over the judged seconds, with a Poisson interval on the count."""
    requests = counts.total
    seconds = counts.seconds
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
