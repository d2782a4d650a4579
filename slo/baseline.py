"""Baseline comparison: did this run get worse than an earlier one, by more than a tolerance, and
is the difference real? Both conditions, so a noisy 2% wobble and a tiny-but-significant drift at
huge sample sizes are neither flagged.

The rule, for every objective but throughput: a **regression** when the candidate's value is worse
than the baseline's by more than ``tolerance`` (relative: candidate / baseline - 1 > tolerance) AND
the change is significant: its one-sided lower bound at level ``alpha`` is above 0 and its
one-sided p-value is below ``alpha`` (for ratios the two say the same).

- latency percentiles: the change of the percentile itself (not of the whole distribution: a slower
  tail with the same median is a regression; a shifted median with the same tail is not), with its
  interval from a block bootstrap over batches of consecutive slices and its p-value from a
  permutation test of the ranks of those batches' own percentiles (``slo.bootstrap``), so episodes
  of slow requests widen it as they should, and one slow batch is not mistaken for a regression. A
  Mann-Whitney U test over the two histograms (did the distribution shift?) is said alongside, as a
  secondary signal that decides nothing.
- ratios (error ratio, availability, share under a latency threshold): the bad-event ratio, by a
  one-sided two-proportion z-test whose binomial variances are each inflated by the run's
  batch-means variance over its binomial one (floored at 1; ``bootstrap.ratio_inflation``).

Each compared result carries the test, its p-value and the relative change with its interval
(``baseline_effect*``). A regression of a gating objective fails it. A baseline with no data for an
objective makes that objective inconclusive (a relative criterion without its reference is never a pass).
"""

from __future__ import annotations

import dataclasses
import math
from statistics import NormalDist

from slogate.slo.bootstrap import Change, batch_description, batches, percentile_change, ratio_inflation
from slogate.slo.counts import Counts
from slogate.slo.evaluation import Evaluation, ObjectiveResult, Verdict
from slogate.slo.evaluator import counts, doubts, select
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.judge import overall
from slogate.slo.run import EndpointWindow, RunResult, TimeSlice
from slogate.slo.spec import AnyObjective, LatencyObjective, Spec, ThroughputObjective
from slogate.slo.stats import mann_whitney
from slogate.slo.units import format_duration, format_ratio

DEFAULT_TOLERANCE = 0.10
"""Worse by more than 10% (relative) before a significant difference counts as a regression."""

DEFAULT_ALPHA = 0.05
"""One-sided significance level of the regression tests."""

RATIO_TEST = "two-proportion z-test"


@dataclasses.dataclass(frozen=True)
class _Run:
    """One run as a comparison reads it: each objective's counts per batch of consecutive judged
    slices (``bootstrap.batches``), and over the whole judged run."""

    batches: dict[str, list[Counts]]
    whole: dict[str, Counts]
    batch_s: float

    @classmethod
    def of(cls, spec: Spec, run: RunResult) -> _Run:
        groups = batches(list(run.slices_from(spec.warmup_s)))
        # Each batch merged by endpoint once; then each objective selects its endpoints in it.
        merged = [_merged_by_endpoint(group) for group in groups]
        seconds = [sum(s.duration_s for s in group) for group in groups]
        per_batch = {o.name: [counts(o, select(o, by_endpoint)[0], length)
                              for by_endpoint, length in zip(merged, seconds, strict=True)]
                     for o in spec.all_objectives}
        whole = {name: _summed(parts) for name, parts in per_batch.items()}
        return cls(per_batch, whole, sum(seconds) / len(groups) if groups else 0.0)

    @property
    def method(self) -> str:
        return batch_description(len(next(iter(self.batches.values()), [])), self.batch_s)

    def latencies(self, name: str) -> list[LatencyHistogram]:
        return [c.latency for c in self.batches[name] if c.latency is not None]

    def inflation(self, name: str) -> float | None:
        return ratio_inflation([c.bad for c in self.batches[name]], [c.total for c in self.batches[name]])


def _merged_by_endpoint(slices: list[TimeSlice]) -> dict[str, EndpointWindow]:
    by_endpoint: dict[str, list[EndpointWindow]] = {}
    for time_slice in slices:
        for name, window in time_slice.endpoints.items():
            by_endpoint.setdefault(name, []).append(window)
    return {name: EndpointWindow.merged(windows) for name, windows in by_endpoint.items()}


def _summed(parts: list[Counts]) -> Counts:
    latencies = [c.latency for c in parts if c.latency is not None]
    return Counts(total=sum(c.total for c in parts), bad=sum(c.bad for c in parts),
                  seconds=sum(c.seconds for c in parts),
                  latency=LatencyHistogram.merged(latencies) if latencies else None)


def compare(
    evaluation: Evaluation,
    spec: Spec,
    run: RunResult,
    baseline: RunResult,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    alpha: float = DEFAULT_ALPHA,
) -> Evaluation:
    """``evaluation`` of ``run`` with each objective compared with ``baseline`` and the verdict redone."""
    current, previous = _Run.of(spec, run), _Run.of(spec, baseline)
    objectives = {o.name: o for o in spec.all_objectives}
    results = tuple(
        _compare_one(objectives[r.name], r, current, previous, tolerance, alpha)
        if r.name in objectives else r
        for r in evaluation.objectives
    )
    verdict, reasons = overall(results, doubts(run))
    return dataclasses.replace(evaluation, objectives=results, verdict=verdict, reasons=tuple(reasons))


def _compare_one(
    objective: AnyObjective,
    result: ObjectiveResult,
    now: _Run,
    before: _Run,
    tolerance: float,
    alpha: float,
) -> ObjectiveResult:
    if isinstance(objective, ThroughputObjective):
        return result  # a floor, not a distribution: nothing to test against a baseline
    baseline_value = _value(objective, before.whole[objective.name])
    measured = _change(objective, now, before, alpha)
    if baseline_value is None or measured is None:
        reason = f"{result.reason}; no baseline data to compare with"
        undecided: Verdict = "inconclusive" if result.verdict == "pass" else result.verdict
        return dataclasses.replace(result, verdict=undecided, reason=reason, regression=None)
    change, method = measured
    worse = change.effect > tolerance + 1e-12
    significant = change.low > 0.0 and change.p_value < alpha
    regression = worse and significant
    comparison = _describe(objective, baseline_value, change, method, significant)
    secondary = _secondary(objective, now, before)
    comparison += f"; {secondary}" if secondary else ""
    verdict: Verdict = result.verdict
    if regression:
        verdict = "fail"
        reason = (f"regression: worse than the baseline by more than {format_ratio(tolerance)} and "
                  f"significantly ({comparison}); {result.reason}")
        if result.verdict == "fail":
            reason = f"{result.reason}; also a regression ({comparison})"
    else:
        reason = f"{result.reason}; no regression ({comparison})"
    return dataclasses.replace(
        result, verdict=verdict, reason=reason, baseline=_shown_value(result, baseline_value),
        test=change.test, p_value=change.p_value, regression=regression,
        baseline_effect=_finite(change.effect), baseline_effect_low=_finite(change.low),
        baseline_effect_high=_finite(change.high), baseline_effect_confidence=change.confidence,
    )


def _percentile(objective: AnyObjective) -> float | None:
    """The percentile (99.0) a percentile-form latency objective judges; None for the others."""
    if isinstance(objective, LatencyObjective) and objective.form == "percentile":
        return objective.percentile
    return None


def _value(objective: AnyObjective, whole: Counts) -> float | None:
    """The run's value on a 'bigger is worse' scale: seconds, or a bad-event ratio."""
    percentile = _percentile(objective)
    if percentile is not None:
        assert whole.latency is not None  # counted from a run
        value = whole.latency.quantile(percentile / 100.0)
        return None if value is None else value / 1e6
    return whole.bad / whole.total if whole.total else None


def _change(objective: AnyObjective, now: _Run, before: _Run, alpha: float) -> tuple[Change, str] | None:
    """The change from ``before`` to ``now`` and how its uncertainty was estimated."""
    name, percentile = objective.name, _percentile(objective)
    where = now.method if now.method == before.method else f"{now.method} (baseline {before.method})"
    if percentile is not None:
        change = percentile_change(before.latencies(name), now.latencies(name), percentile / 100.0,
                                   alpha=alpha)
        return None if change is None else (change, f"over {where}")
    inflations = (before.inflation(name), now.inflation(name))
    change = _ratio_change(before.whole[name], now.whole[name], inflations, alpha)
    if change is None:
        return None
    factors = [f"{phi:.3g}" if phi is not None else "1 (too few batches or bad events to tell)"
               for phi in inflations]
    return change, f"with the variance ×{factors[1]} (baseline ×{factors[0]}) from {where}"


def _ratio_change(
    before: Counts, now: Counts, inflations: tuple[float | None, float | None], alpha: float
) -> Change | None:
    """Is the bad-event ratio of ``now`` greater than that of ``before``? A one-sided
    two-proportion z-test on the pooled ratio, each run's binomial variance times its inflation;
    the interval of the difference uses the same standard error, so its lower end is above 0
    exactly when p < alpha. The change is relative to the baseline's ratio (infinite from 0)."""
    bad_a, n_a, bad_b, n_b = before.bad, before.total, now.bad, now.total
    if n_a <= 0 or n_b <= 0:
        return None
    phi_a, phi_b = (1.0 if phi is None else phi for phi in inflations)
    pooled = (bad_a + bad_b) / (n_a + n_b)
    error = math.sqrt(pooled * (1.0 - pooled) * (phi_a / n_a + phi_b / n_b))
    ratio_a, ratio_b = bad_a / n_a, bad_b / n_b
    difference = ratio_b - ratio_a
    # No variance at all (no bad events in either run, or only bad ones): 'worse' is all or nothing.
    no_variance_p = 1.0 if difference <= 0.0 else 0.0
    p_value = 1.0 - NormalDist().cdf(difference / error) if error > 0.0 else no_variance_p
    bound = NormalDist().inv_cdf(1.0 - alpha) * error
    return Change(
        effect=_relative(difference, ratio_a),
        low=_relative(difference - bound, ratio_a),
        high=_relative(difference + bound, ratio_a),
        confidence=1.0 - 2.0 * alpha,
        p_value=p_value,
        test=RATIO_TEST,
    )


def _relative(difference: float, baseline: float) -> float:
    if baseline > 0.0:
        return difference / baseline
    return math.inf if difference > 0.0 else -math.inf if difference < 0.0 else 0.0


def _describe(objective: AnyObjective, baseline_value: float, change: Change, method: str,
              significant: bool) -> str:
    """'baseline p99 120ms; p99 +32% (90% interval +12% to +55%), block bootstrap, 20 batches of 30s,
    p = 0.003 (significant)'."""
    percentile = _percentile(objective)
    what = "bad-event ratio" if percentile is None else f"p{percentile:g}"
    shown = format_ratio(baseline_value) if percentile is None else format_duration(baseline_value)
    interval = f"{signed_change(change.low)} to {signed_change(change.high)}"
    return (f"baseline {what} {shown}; {what} {signed_change(change.effect)} "
            f"({change.confidence:.0%} interval {interval}), {change.test} {method}, "
            f"p = {change.p_value:.3g}{' (significant)' if significant else ''}")


def signed_change(change: float) -> str:
    """'+32%', '-4.1%', '+∞' (from a baseline of 0)."""
    if math.isinf(change):
        return "+∞" if change > 0 else "-∞"
    return f"{change * 100:+.3g}%"


def _secondary(objective: AnyObjective, now: _Run, before: _Run) -> str | None:
    """For a percentile, whether the whole distribution shifted (Mann-Whitney U): said, not decisive."""
    if _percentile(objective) is None:
        return None
    latency_now, latency_before = now.whole[objective.name].latency, before.whole[objective.name].latency
    if latency_now is None or latency_before is None:
        return None
    shift = mann_whitney(latency_before, latency_now)
    if shift is None:
        return None
    return f"distribution shift ({shift.test}, not decisive) p = {shift.p_value:.3g}"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _shown_value(result: ObjectiveResult, bad_or_seconds: float) -> float:
    """The baseline in the result's own terms (availability and shares are good ratios)."""
    if result.unit == "ratio" and result.kind != "error_ratio":
        return 1.0 - bad_or_seconds
    return bad_or_seconds
