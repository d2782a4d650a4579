"""The judging rules: an objective's verdict from its counts, and the overall verdict from those.

Every verdict rests on a confidence interval (``slo.stats``): pass when the whole interval meets
the objective, fail when the whole interval misses it, inconclusive in between, with an estimate
of how many more requests would decide. The rules read ``slo.counts.Counts`` only, so any source
of counts (a run, Prometheus) is judged the same way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
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
from slogate.slo.stats import (
    INDEPENDENT,
    Dispersion,
    critical_value,
    dispersion,
    excess_p_value,
    quantile_interval,
    samples_to_separate,
    share_bound,
    t_cdf,
    z_value,
)
from slogate.slo.units import format_duration, format_ratio


def judge(objective: AnyObjective, counts: Counts, spec: Spec, *, fail_confidence: float | None = None,
          run: Counts | None = None) -> ObjectiveResult:
    """The verdict of one objective on its counts (a windowed objective's whole-run verdict).

    ``fail_confidence``: a stricter confidence for failing than ``spec.confidence`` (one window of
    many). ``run``: when judging one window, the whole run's counts, whose slices measure the
    variation between slices (a window's few slices could not); None: ``counts`` is the whole run.
    """
    if isinstance(objective, LatencyObjective):
        if objective.form == "budget":
            return judge_budget(objective, counts, spec, fail_confidence=fail_confidence, run=run)
        return judge_percentile(objective, counts, spec, fail_confidence=fail_confidence, run=run)
    if isinstance(objective, ThroughputObjective):
        return judge_throughput(objective, counts, spec, fail_confidence=fail_confidence, run=run)
    return judge_ratio(objective, counts, spec, fail_confidence=fail_confidence, run=run)


def window_fail_confidence(spec: Spec, windows: int) -> float:
    """A window fails at alpha / m (Bonferroni over the m windows), so a run whose every window
    meets the objective fails falsely at most alpha / 2 of the time; a pass needs every window to
    pass at alpha on its own (an intersection-union test), which needs no correction."""
    return 1.0 - (1.0 - spec.confidence) / max(1, windows)


def family_adjusted(results: Sequence[ObjectiveResult], spec: Spec) -> tuple[ObjectiveResult, ...]:
    """Holm's step-down over the gating objectives' failures (``family: holm``): the i-th smallest
    p-value of k fails only at alpha / (k - i + 1), so any failure is false at most alpha (one-sided
    2.5%) for the whole spec. ``family: none`` leaves each at its own level."""
    if spec.family != "holm":
        return tuple(results)
    gating = [r for r in results if r.gating]
    alpha = (1.0 - spec.confidence) / 2.0
    failed = sorted((r for r in gating if r.verdict == "fail"),
                    key=lambda r: r.fail_p_value if r.fail_p_value is not None else 0.0)
    kept: set[str] = set()
    for i, result in enumerate(failed):
        if (result.fail_p_value or 0.0) > alpha / (len(gating) - i):
            break
        kept.add(result.name)
    return tuple(
        r if r.verdict != "fail" or not r.gating or r.name in kept else dataclasses.replace(
            r, verdict="inconclusive", reason=(
                f"{r.reason}; but not beyond the family-wise level (Holm over {len(gating)} gating "
                f"objectives, p = {r.fail_p_value:.3g})"))
        for r in results
    )


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
    from_s: float, seconds: float, doubt: str | None = None,
) -> ObjectiveResult:
    """'p99 of every 30 s window': every full window must meet the objective on its own.

    ``whole`` is the verdict on all the judged seconds (from ``from_s``, ``seconds`` long), and
    ``per_window`` the verdicts of the full windows in time order, each judged with
    ``window_fail_confidence``. ``doubt``: why the run as a whole cannot support a pass (too short,
    too few slices), or None.
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
    elif doubt is not None:
        verdict, reason = "inconclusive", f"{every} met, but {doubt}"
    else:
        verdict = "pass"
        missed = f", {len(failed) + len(undecided)} missed or undecided" if failed or undecided else ""
        reason = (f"{every} met ({len(per_window)} windows{missed}; each passed at "
                  f"{spec_level(whole)}, failing needs {len(per_window)}× stronger evidence "
                  f"(Bonferroni)); whole run: {whole.reason}")
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
        fail_p_value=min(1.0, len(per_window) * min(
            (r.fail_p_value for r in per_window if r.fail_p_value is not None), default=1.0)),
    )


def spec_level(result: ObjectiveResult) -> str:
    return f"{(result.confidence or 0.95) * 100:g}%"


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


def _pct(fraction: float) -> str:
    return format_ratio(fraction)


# -- latency ---------------------------------------------------------------------------------------


def judge_percentile(objective: LatencyObjective, counts: Counts, spec: Spec, *,
                     fail_confidence: float | None = None, run: Counts | None = None) -> ObjectiveResult:
    """'p99 under 250ms': p99 <= T exactly when at most 1% of requests are over T, so the verdict
    is the budget form's (the share over T, from bucket bounds); the percentile and its
    order-statistic interval are shown for reading."""
    histogram = counts.latency
    if histogram is None:
        raise ValueError(f"{objective.name}: a percentile is judged on latencies, and these counts have none")
    q = objective.percentile / 100.0
    label = f"p{objective.percentile:g}"
    what = "time to first byte" if objective.kind == "ttfb" else "latency"
    threshold = format_duration(objective.threshold_s)
    limit = _Limit(what=f"share over {threshold}", bad_label=f"over {threshold}",
                   allowed=objective.allowed_bad_ratio, period_s=spec.period_s, shown_good=False)
    evidence = _evidence(objective, counts, limit.allowed, spec, fail_confidence)
    level = f"{spec.confidence * 100:g}%"
    formula = (f"{label} = the {what} of the ceil({q:g}·n)-th fastest of n successful requests; "
               f"{label} <= {threshold} iff at most {_pct(limit.allowed)} of them are over "
               f"{threshold}: pass when the {level} upper bound of the share possibly over it "
               f"(buckets reaching above {threshold}) <= {_pct(limit.allowed)}, fail when the lower "
               f"bound of the share surely over it (buckets starting at or above it) > "
               f"{_pct(limit.allowed)}; {_SHARE_FORMULA}; shown interval = order statistics of the "
               f"binomial ranks of q, read at bucket bounds; {_BUDGET_FORMULA}")
    interval = quantile_interval(histogram, q, spec.confidence, effective=evidence.effective,
                                 critical=evidence.critical)
    decision = _decide(objective, counts, evidence, spec, run, threshold_bucket=_bucket_text(
        counts, objective.threshold_s))
    measured = None if interval is None else interval.estimate / 1e6
    low = None if interval is None else interval.low / 1e6
    high = None if interval is None or interval.high is None else interval.high / 1e6
    if interval is None:
        stated = f"{label}: no successful requests"
    else:
        upper = "∞" if high is None else format_duration(high)
        shown_ci = f"{level} CI {format_duration(low or 0.0)}–{upper}"
        relation = {"fail": ">", "pass": "<="}.get(decision.verdict, "vs")
        stated = f"{label} {format_duration(measured or 0.0)} {relation} {threshold} ({shown_ci}"
        stated += f"; {_over(evidence, limit)})"
    return _result(
        objective, "s", verdict=decision.verdict, reason=decision.reason(stated),
        threshold=objective.threshold_s, measured=measured,
        margin=None if measured is None else objective.threshold_s - measured, ci_low=low, ci_high=high,
        samples=counts.total, bad_events=counts.bad, confidence=spec.confidence,
        more_samples_needed=decision.more, formula=formula,
        **_budget(counts.bad, counts.total, limit.allowed, counts.seconds, limit.period_s),
        **_coverage_fields(counts, evidence, run),
    )


def judge_budget(objective: LatencyObjective, counts: Counts, spec: Spec, *,
                 fail_confidence: float | None = None, run: Counts | None = None) -> ObjectiveResult:
    """'99% of requests under 250ms': the share under the threshold, from bucket bounds."""
    threshold = format_duration(objective.threshold_s)
    return judge_share(objective, counts, spec, target=objective.percentile / 100.0,
                       what=f"share of successful requests under {threshold}",
                       bad_label=f"over {threshold}", period_s=spec.period_s,
                       fail_confidence=fail_confidence, run=run)


def _bucket_text(counts: Counts, threshold_s: float) -> str | None:
    if counts.latency is None or not counts.straddling:
        return None
    low, high = counts.latency.bucket_of(threshold_s * 1e6)
    return f"({format_duration(low / 1e6)}, {format_duration(high / 1e6)}]"


# -- ratios ----------------------------------------------------------------------------------------


def judge_ratio(
    objective: ErrorRatioObjective | AvailabilityObjective, counts: Counts, spec: Spec, *,
    fail_confidence: float | None = None, run: Counts | None = None,
) -> ObjectiveResult:
    """An error ratio (an upper limit on the bad share) or an availability (a lower one on the good)."""
    # Say what counted as an error: the spec's status classes when it names them, else failures.
    bad_label = ("failed" if not objective.error_statuses
                 else f"with status {'/'.join(objective.error_statuses)}")
    if objective.kind == "availability":
        return judge_share(objective, counts, spec, target=1.0 - objective.allowed_bad_ratio,
                           what="availability", bad_label=bad_label, period_s=objective.period_s,
                           fail_confidence=fail_confidence, run=run)
    return _judge_limit(objective, counts, spec, _Limit(
        what="error ratio", bad_label=bad_label, allowed=objective.allowed_bad_ratio,
        period_s=objective.period_s, shown_good=False, definition=f"requests {bad_label} / all requests",
    ), fail_confidence, run)


def judge_share(
    objective: LatencyObjective | AvailabilityObjective, counts: Counts, spec: Spec, *, target: float,
    what: str, bad_label: str, period_s: float, fail_confidence: float | None = None,
    run: Counts | None = None,
) -> ObjectiveResult:
    """A lower bound on a share of good events (availability, requests under a latency threshold).

    ``what`` names the share in reasons ('availability'), ``bad_label`` the bad events ('failed',
    'over 250ms'); ``period_s`` is the SLO period the error budget is spent over. Judged on the bad
    share (1 - target allowed), shown as the good one.
    """
    return _judge_limit(objective, counts, spec, _Limit(
        what=what, bad_label=bad_label, allowed=1.0 - target, period_s=period_s, shown_good=True,
        definition="good / all",
    ), fail_confidence, run)


@dataclasses.dataclass(frozen=True)
class _Limit:
    """An upper limit on a share of bad events, shown as stated: the bad share itself (error
    ratio) or the good one against its target (availability, requests under a threshold)."""

    what: str
    """The share's name in reasons ('error ratio', 'availability')."""
    bad_label: str
    """What the bad requests are, in reasons ('failed', 'over 250ms')."""
    allowed: float
    """The bad share the error budget allows."""
    period_s: float
    shown_good: bool
    definition: str = ""

    def shown(self, bad_share: float) -> float:
        return 1.0 - bad_share if self.shown_good else bad_share

    @property
    def limit(self) -> float:
        return self.shown(self.allowed)

    @property
    def holds(self) -> str:
        return ">=" if self.shown_good else "<="

    @property
    def breaks(self) -> str:
        return "<" if self.shown_good else ">"


def _judge_limit(objective: Objective, counts: Counts, spec: Spec, limit: _Limit,
                 fail_confidence: float | None, run: Counts | None) -> ObjectiveResult:
    """Pass when the bad share's interval is all within the allowed share, fail when all beyond."""
    total, bad = counts.total, counts.bad
    level = f"{spec.confidence * 100:g}%"
    evidence = _evidence(objective, counts, limit.allowed, spec, fail_confidence)
    passing_bound, failing_bound = ("lower", "upper") if limit.shown_good else ("upper", "lower")
    formula = (f"{limit.what} = {limit.definition}; {level} interval of the bad share ({_SHARE_FORMULA}); "
               f"pass when its {passing_bound} bound {limit.holds} {_pct(limit.limit)}, fail when its "
               f"{failing_bound} bound {limit.breaks} {_pct(limit.limit)}; z = (bad share − allowed) / "
               f"sqrt(allowed(1−allowed)/n_eff); {_BUDGET_FORMULA}")
    measured = limit.shown(counts.bad / total) if total else None
    # The shown interval: of the share surely bad at its low end, possibly bad at its high end.
    ci = (limit.shown(evidence.high), limit.shown(evidence.low)) if limit.shown_good else (
        evidence.low, evidence.high)
    decision = _decide(objective, counts, evidence, spec, run,
                       threshold_bucket=_bucket_text(counts, objective.threshold_s)
                       if isinstance(objective, LatencyObjective) else None)
    relation = {"fail": limit.breaks, "pass": limit.holds}.get(decision.verdict, "vs")
    if measured is None:
        stated = f"{limit.what}: no requests"
    elif limit.allowed <= 0.0:
        stated = (f"{limit.what} {_pct(measured)} {relation} {_pct(limit.limit)} "
                  f"({bad} of {total} {limit.bad_label})")
    else:
        stated = (f"{limit.what} {_pct(measured)} {relation} {_pct(limit.limit)} "
                  f"({_over(evidence, limit)}; {level} CI {_pct(ci[0])}–{_pct(ci[1])})")
    return _result(
        objective, "ratio", verdict=decision.verdict, reason=decision.reason(stated),
        threshold=limit.limit, measured=measured,
        margin=None if measured is None else (measured - limit.limit if limit.shown_good
                                              else limit.limit - measured),
        samples=total, bad_events=bad, ci_low=ci[0] if total else None, ci_high=ci[1] if total else None,
        confidence=spec.confidence, more_samples_needed=decision.more, formula=formula,
        test_statistic=_ratio_statistic(bad, total, limit.allowed),
        **_budget(bad, total, limit.allowed, counts.seconds, limit.period_s),
        **_coverage_fields(counts, evidence, run),
    )


def _over(evidence: _Evidence, limit: _Limit) -> str:
    """'150 of 10000 over 200ms', or with the threshold's bucket, '0 to 150 of 10000 ...'."""
    surely, possibly = evidence.surely, evidence.possibly
    count = f"{surely}" if surely == possibly else f"{surely} to {possibly}"
    return f"{count} of {evidence.total} {limit.bad_label}"


def _ratio_statistic(bad: int, total: int, allowed: float) -> float | None:
    """z of the observed bad share against the allowed one (positive: worse than allowed)."""
    if total <= 0 or not 0.0 < allowed < 1.0:
        return None
    return (bad / total - allowed) / math.sqrt(allowed * (1.0 - allowed) / total)


# -- the evidence of a share and the decision ------------------------------------------------------


_SHARE_FORMULA = ("Wilson score interval, exact binomial (Clopper-Pearson) with fewer than 50 events on "
                  "a side, on n_eff = n / phi effective samples, phi = batch-means variance of the share "
                  "over about 20 batches of consecutive slices / binomial variance (>= 1), with Student's "
                  "t when phi > 1, its degrees of freedom B−1 or fewer when a few batches carry the "
                  "variation (Satterthwaite, from the batches' kurtosis)")

COVERAGE_CYCLES = 10
"""A run of length L speaks for slow episodes (GC pauses, noisy neighbours, cache refills) that begin
at least every L / 10 on average: it meets about ten of them, so the batch-means interval sees how
they vary (``benchmarks.calibration`` measures it). Episodes rarer than that it may never have met,
and no statistic of the run can tell: ``min_duration`` states the horizon a verdict must cover."""

MIN_SLICES_TO_PASS = 5
"""A pass needs events in at least this many slices: with fewer, the variation between slices
cannot be estimated at all (from 5 on, Student's t with the batches' degrees of freedom pays for it)."""


@dataclasses.dataclass(frozen=True)
class _Evidence:
    """The bad share's interval: its low end from the events surely bad (at the fail confidence),
    its high end from those possibly bad (at the pass confidence), on the effective samples."""

    total: int
    surely: int
    possibly: int
    allowed: float
    low: float
    high: float
    passing: Dispersion
    """Of the share possibly bad: what a pass rests on."""
    failing: Dispersion
    critical: float
    """The pass side's critical value (normal, or Student's t)."""
    p_value: float
    """One-sided p-value of 'the bad share is at most allowed', on the surely bad events."""

    @property
    def effective(self) -> float:
        return self.total / self.passing.inflation

    @property
    def inflation(self) -> float:
        return max(self.passing.inflation, self.failing.inflation)


def _evidence(objective: AnyObjective, counts: Counts, allowed: float, spec: Spec,
              fail_confidence: float | None) -> _Evidence:
    # A window's own slices measure its variation: the run's would count the differences between
    # windows, which are what a windowed objective looks for, as noise.
    source = counts
    confidence = spec.confidence
    failing_confidence = confidence if fail_confidence is None else fail_confidence
    passing = _share_dispersion(source, lambda c: c.possibly_bad, allowed, z_value(confidence))
    failing = _share_dispersion(source, lambda c: c.bad, allowed, z_value(confidence))
    total = counts.total
    critical = critical_value(confidence, passing.dof)
    if total <= 0:
        return _Evidence(0, 0, 0, allowed, 0.0, 1.0, passing, failing, critical, 1.0)
    n_pass, n_fail = total / passing.inflation, total / failing.inflation
    high = share_bound(counts.possibly_bad / total * n_pass, n_pass, critical, upper=True)
    low = share_bound(counts.bad / total * n_fail, n_fail, critical_value(failing_confidence, failing.dof),
                      upper=False)
    # Slices that vary a lot make the share's spread symmetric (batch means), not binomial: the
    # exact interval at n_eff would put the low end of a burst too high. Take the wider of both.
    if passing.dof is not None and passing.variance is not None:
        high = max(high, counts.possibly_bad / total + critical * math.sqrt(passing.variance))
    if failing.dof is not None and failing.variance is not None:
        low = min(low, counts.bad / total - critical_value(failing_confidence, failing.dof)
                  * math.sqrt(failing.variance))
    p_value = excess_p_value(counts.bad / total * n_fail, n_fail, allowed, failing.dof)
    return _Evidence(total, counts.bad, counts.possibly_bad, allowed, low, high, passing, failing,
                     critical, p_value)


def _share_dispersion(counts: Counts, bad_of: Callable[[Counts], int], allowed: float,
                      critical: float) -> Dispersion:
    total = counts.total
    if not counts.slices or total <= 0:
        return Dispersion(float(total), float(total), 1.0, len(counts.slices), None)
    share = bad_of(counts) / total
    # Where the observed share is 0 or 1 its binomial variance vanishes: the limit's stands in.
    p = share if 0.0 < share < 1.0 else min(max(allowed, 1.0 / total), 1.0 - 1.0 / total)
    return dispersion([c.total for c in counts.slices], [bad_of(c) for c in counts.slices],
                      max(p * (1.0 - p), 1e-12) / total, critical)


def _side(evidence: _Evidence) -> str:
    if evidence.low > evidence.allowed:
        return "fail"
    if evidence.high <= evidence.allowed:
        return "pass"
    return "between"


@dataclasses.dataclass(frozen=True)
class _Decision:
    verdict: Verdict
    cause: str
    """Why, beyond the stated figures: empty for a plain pass or fail."""
    more: int | None = None

    def reason(self, stated: str) -> str:
        return f"{stated}: {self.cause}" if self.cause else stated


def _decide(objective: AnyObjective, counts: Counts, evidence: _Evidence, spec: Spec,
            run: Counts | None, *, threshold_bucket: str | None) -> _Decision:
    """Fail when the bad share's interval is all beyond the allowed share, pass when it is all
    within and the run holds enough information (effective samples, slices, length), else
    inconclusive with the reason and the requests a fresh run would need."""
    allowed, total = evidence.allowed, evidence.total
    required = objective.required_samples
    if total <= 0:
        return _Decision("inconclusive", f"no events to judge (at least {required} needed)", required)
    short = _too_short(objective, counts, spec, run)
    if short is not None:
        return _Decision("inconclusive", short, None)
    if allowed >= 1.0:
        # No share of bad events can exceed 100%: no sample size or variation between slices can
        # change that verdict, so it needs neither.
        return _Decision("pass", "")
    if allowed <= 0.0:
        # A zero budget (error ratio max 0%, a target of 100%) has no interval to wait for: one
        # bad event fails it, and an interval that never reaches the limit exactly would otherwise
        # keep a perfect run from ever passing.
        if evidence.surely:
            return _Decision("fail", "")
        if evidence.possibly:
            return _Decision("inconclusive", f"the histogram bucket {threshold_bucket} holding the "
                             "threshold cannot decide", None)
        effective = evidence.effective
        if effective < required:
            return _Decision("inconclusive", _too_little(evidence, required),
                             max(1, math.ceil(required * evidence.passing.inflation) - total))
        return _few_slices(counts, run) or _Decision("pass", "")
    side = _side(evidence)
    if side == "fail":
        return _Decision("fail", "beyond even at the lower bound of the share over it" if isinstance(
            objective, LatencyObjective) and objective.form == "percentile" else "")
    more = _more_samples(evidence, required, spec.confidence)  # only undecided results need it
    if evidence.effective < required:
        return _Decision("inconclusive", _too_little(evidence, required), more)
    if side == "pass":
        change = evidence.passing.change if run is None else None
        if change is not None and change.second > allowed:
            return _Decision("inconclusive", (
                f"the run changed behaviour mid-run: its second half alone is beyond the limit "
                f"({_pct(change.second)} bad against {_pct(change.first)} in the first); a longer run "
                "would show whether it settles"), more)
        return _few_slices(counts, run) or _Decision("pass", "")
    if evidence.surely / total <= allowed < evidence.possibly / total and threshold_bucket:
        return _Decision("inconclusive", f"the histogram bucket {threshold_bucket} holding the threshold "
                         "cannot decide (it holds requests on both sides of it)", more)
    needed = f"about {more} more requests would decide" if more else "no sample size decides it"
    if isinstance(objective, LatencyObjective) and objective.form == "percentile":
        # The percentile's shown interval is for reading (order statistics at n_eff); the verdict
        # rests on the share over the threshold, whose batch-means interval is wider when a few
        # slices carry the variation (a queue still filling): say which interval straddles.
        return _Decision("inconclusive", (
            f"the share over the threshold may be {_pct(evidence.low)}–{_pct(evidence.high)}, which "
            f"straddles the {_pct(allowed)} the percentile allows: {needed}"), more)
    return _Decision("inconclusive", f"the interval straddles the limit: {needed}", more)


def _too_little(evidence: _Evidence, required: int) -> str:
    phi = evidence.passing.inflation
    if phi <= 1.0:
        return f"{evidence.total} events, {required} needed to judge it"
    return (f"n_eff {evidence.effective:.0f} of {evidence.total} events: slices vary {phi:.3g}× more "
            f"than independent samples would; too little information ({required} needed)")


def _few_slices(counts: Counts, run: Counts | None) -> _Decision | None:
    source = counts if run is None else run
    if not source.slices:
        return None
    with_data = sum(1 for c in source.slices if c.total > 0)
    if with_data >= MIN_SLICES_TO_PASS:
        return None
    per_slice = source.total / max(1, with_data)
    return _Decision("inconclusive", (
        f"events in {with_data} slices only, {MIN_SLICES_TO_PASS} needed to measure how much they vary "
        "between slices"), math.ceil(per_slice * (MIN_SLICES_TO_PASS - with_data)))


def _too_short(objective: AnyObjective, counts: Counts, spec: Spec, run: Counts | None) -> str | None:
    """A run (not a window) shorter than the objective's min_duration (else the spec's)."""
    least = objective.min_duration_s if objective.min_duration_s is not None else spec.min_duration_s
    if run is not None or counts.seconds + 1e-9 >= least:
        return None
    return (f"run of {format_duration(counts.seconds)} is shorter than min_duration "
            f"{format_duration(least)}")


def _more_samples(evidence: _Evidence, required: int, confidence: float) -> int | None:
    """Requests a fresh run needs (about 80% power) beyond these: from the share surely bad when it
    is beyond the limit, from the share possibly bad when within; None when the threshold's bucket
    alone straddles the limit (no sample size decides it) or the share sits on the limit."""
    total, allowed = evidence.total, evidence.allowed
    surely, possibly = evidence.surely / total, evidence.possibly / total
    if surely > allowed:
        needed = samples_to_separate(surely, allowed, confidence, inflation=evidence.failing.inflation,
                                     dof=evidence.failing.dof)
    elif possibly < allowed:
        needed = samples_to_separate(possibly, allowed, confidence, inflation=evidence.passing.inflation,
                                     dof=evidence.passing.dof)
    else:
        return None
    if needed is None:
        return None
    floor = math.ceil(required * evidence.passing.inflation)
    return max(1, max(needed, floor) - total)


def _coverage_fields(counts: Counts, evidence: _Evidence, run: Counts | None) -> dict[str, Any]:
    """What the verdict covered: judged seconds, slices, n, n_eff, phi, and what it cannot rule out."""
    fields: dict[str, Any] = {"judged_s": counts.seconds, "fail_p_value": evidence.p_value, "coverage": ""}
    if run is not None:
        return fields  # a window: its run's result says what the run covered
    if not counts.slices:
        fields["coverage"] = (f"judged {format_duration(counts.seconds)}: {counts.total} events counted "
                              "without per-slice detail, so judged as independent")
        return fields
    slices = sum(1 for c in counts.slices if c.total > 0)
    phi = evidence.inflation
    effective = counts.total / phi
    varied = (f"slices vary {phi:.3g}× more than independent requests would" if phi > 1.0
              else "slices vary no more than independent requests would")
    change = evidence.passing.change
    shift = (f"; its behaviour changed mid-run ({_pct(change.first)} bad in the first half, "
             f"{_pct(change.second)} in the second)" if change is not None else "")
    return {
        **fields,
        "slices_judged": slices,
        "effective_samples": effective,
        "between_slice_variation": phi,
        "regime_change": change is not None,
        "coverage": (f"judged {format_duration(counts.seconds)} in {slices} slices: {counts.total} events, "
                     f"worth {effective:.0f} independent ones ({varied}){shift}; a run that never met a "
                     f"slow episode cannot know about it: this one covers episodes that recur at least "
                     f"every {format_duration(counts.seconds / COVERAGE_CYCLES)}, rarer ones it may "
                     "have missed"),
    }


# -- throughput --------------------------------------------------------------------------------


def judge_throughput(objective: ThroughputObjective, counts: Counts, spec: Spec, *,
                     fail_confidence: float | None = None, run: Counts | None = None) -> ObjectiveResult:
    """Requests per second over the judged seconds: a Poisson interval on the count, widened by the
    batch-means variance of the per-batch rates where slices vary more than Poisson arrivals would."""
    requests = counts.total
    seconds = counts.seconds
    confidence = spec.confidence
    level = f"{confidence * 100:g}%"
    floor = objective.min_rps
    formula = (f"throughput = requests (any outcome, rate-limited included) / judged seconds; {level} "
               f"interval = (n ∓ c·sqrt(phi·n)) / seconds, phi = batch-means variance of the rate over "
               f"about 20 batches of consecutive slices / Poisson variance (>= 1), c normal or Student's "
               f"t (B−1 degrees of freedom or fewer, from the batches' kurtosis) when phi > 1; "
               f"pass when its lower bound >= {floor:g}/s, "
               "fail when its upper bound < the floor")
    common: dict[str, Any] = {"threshold": floor, "samples": requests, "confidence": confidence,
                              "formula": formula}
    if seconds <= 0.0 or requests == 0:
        return _result(objective, "rps", verdict="inconclusive", measured=None, margin=None,
                       reason="no requests in the judged window", **common)
    source = counts  # a window's own slices, as for shares
    spread = INDEPENDENT
    if source.slices and source.total > 0 and source.seconds > 0:
        spread = dispersion([c.seconds for c in source.slices], [c.total for c in source.slices],
                            source.total / source.seconds ** 2, z_value(confidence))
    rate = requests / seconds
    error = math.sqrt(spread.inflation * requests) / seconds
    low = max(0.0, rate - critical_value(confidence, spread.dof) * error)
    high = rate + critical_value(confidence if fail_confidence is None else fail_confidence,
                                 spread.dof) * error
    shown = (f"{rate:.4g}/s ({requests} requests in {format_duration(seconds)}; "
             f"{level} CI {low:.4g}–{high:.4g}/s)")
    doubt = run_doubt(objective, counts, spec, run)
    verdict: Verdict
    if doubt is not None:
        verdict, reason = "inconclusive", f"throughput {shown}: {doubt}"
    elif high < floor:
        verdict, reason = "fail", f"throughput {shown} < {floor:g}/s"
    elif requests < objective.required_samples or low < floor:
        verdict, reason = "inconclusive", f"throughput {shown} not clearly >= {floor:g}/s"
    else:
        verdict, reason = "pass", f"throughput {shown} >= {floor:g}/s"
    p_value = 1.0 - t_cdf((floor - rate) / error, spread.dof) if error > 0 else float(rate >= floor)
    effective = requests / spread.inflation
    fields: dict[str, Any] = {"judged_s": seconds, "coverage": ""}
    if run is None and counts.slices:
        fields = {
            "judged_s": seconds, "slices_judged": sum(1 for c in counts.slices if c.total > 0),
            "effective_samples": effective, "between_slice_variation": spread.inflation,
            "regime_change": spread.change is not None,
            "coverage": (f"judged {format_duration(seconds)} in {len(counts.slices)} slices: rates vary "
                         f"{spread.inflation:.3g}× as much as Poisson arrivals would between batches"),
        }
    return _result(objective, "rps", verdict=verdict, reason=reason, measured=rate, margin=rate - floor,
                   ci_low=low, ci_high=high, fail_p_value=p_value, **fields, **common)


def run_doubt(objective: AnyObjective, counts: Counts, spec: Spec, run: Counts | None = None) -> str | None:
    """Why the run cannot support a pass of ``objective`` whatever its figures: shorter than its
    min_duration, or events in too few slices to measure their variation; None when it can."""
    short = _too_short(objective, counts, spec, run)
    if short is not None:
        return short
    few = _few_slices(counts, run)
    return None if few is None else few.cause
