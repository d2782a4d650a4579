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
- ratios (error ratio, availability, share under a latency threshold): the bad-event ratio, its
  p-value from a permutation test of the batches of both runs dealt out again (exact for two runs
  of one process), its interval from a block bootstrap; the batches last long enough that an
  episode rarely couples two of them (``bootstrap.ratio_batch_count``: 20, fewer when slices are
  correlated). Runs of fewer than 5 slices fall back to a two-proportion test whose binomial
  variances are each inflated by the run's batch-means variation (``stats.dispersion``).

Each compared result carries the test, its p-value and the relative change with its interval
(``baseline_effect*``). A regression of a gating objective fails it. A baseline with no data for an
objective makes that objective inconclusive (a relative criterion without its reference is never a pass).
"""

from __future__ import annotations

import dataclasses
import math

from slogate.slo.bootstrap import (
    Change,
    batch_description,
    batches,
    percentile_change,
    ratio_batch_count,
    ratio_change,
)
from slogate.slo.counts import Counts
from slogate.slo.evaluation import Evaluation, ObjectiveResult, Verdict
from slogate.slo.evaluator import doubts, judged_counts, merge_by_endpoint, select
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.judge import overall
from slogate.slo.run import RunResult
from slogate.slo.spec import AnyObjective, LatencyObjective, Spec, ThroughputObjective
from slogate.slo.stats import Dispersion, critical_value, dispersion, mann_whitney, t_cdf
from slogate.slo.units import format_duration, format_ratio

DEFAULT_TOLERANCE = 0.10
"""Worse by more than 10% (relative) before a significant difference counts as a regression."""

DEFAULT_ALPHA = 0.05
"""One-sided significance level of the regression tests."""

RATIO_TEST = "two-proportion test"


@dataclasses.dataclass(frozen=True)
class _Run:
    """One run as a comparison reads it: each objective's counts as the evaluator judges them
    (with their slices), and the latencies of each batch of consecutive judged slices."""

    whole: dict[str, Counts]
    latencies: dict[str, list[LatencyHistogram]]
    """Percentile objectives only: one histogram per batch (``bootstrap.batches``)."""
    method: str
    """How the batches resample the run: '20 batches of 30s'."""

    @classmethod
    def of(cls, spec: Spec, run: RunResult) -> _Run:
        groups = batches(list(run.slices_from(spec.warmup_s)))
        # Each batch merged by endpoint once; then each objective selects its endpoints in it.
        merged = [merge_by_endpoint(group) for group in groups]
        latencies = {o.name: [select(o, by_endpoint)[0].ok for by_endpoint in merged]
                     for o in spec.all_objectives if _percentile(o) is not None}
        batch_s = sum(s.duration_s for group in groups for s in group) / len(groups) if groups else 0.0
        return cls(judged_counts(spec, run), latencies, batch_description(len(groups), batch_s))



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
        change = percentile_change(before.latencies[name], now.latencies[name], percentile / 100.0,
                                   alpha=alpha)
        return None if change is None else (change, f"over {where}")
    per_slice = [([float(s.total) for s in slices], [float(s.bad) for s in slices])
                 for slices in (before.whole[name].slices, now.whole[name].slices)]
    count = ratio_batch_count(*per_slice)
    permuted = ratio_change(*(_batched(*run, count) for run in per_slice), alpha=alpha)
    if permuted is not None:
        slices = min(len(events) for events, _ in per_slice)
        return permuted, f"over {count} batches of about {slices // count} slices per run"
    spreads = (_spread(before.whole[name], alpha), _spread(now.whole[name], alpha))
    change = _ratio_change(before.whole[name], now.whole[name], spreads, alpha)
    if change is None:
        return None
    factors = [f"{spread.inflation:.3g}" for spread in spreads]
    return change, f"with the variance ×{factors[1]} (baseline ×{factors[0]}) from batch means over {where}"


def _batched(events: list[float], bad: list[float], count: int) -> list[tuple[float, float]]:
    """(events, bad events) of ``count`` batches of consecutive slices."""
    return [(sum(events[i] for i in group), sum(bad[i] for i in group))
            for group in batches(range(len(events)), count)]


def _spread(counts: Counts, alpha: float) -> Dispersion:
    """How much more the run's bad-event ratio varies between its slices than independent events would."""
    ratio = counts.bad / counts.total if counts.total else 0.0
    independent = ratio * (1.0 - ratio) / counts.total if counts.total else 0.0
    return dispersion([s.total for s in counts.slices], [s.bad for s in counts.slices], independent,
                      critical_value(1.0 - 2.0 * alpha))


def _ratio_change(
    before: Counts, now: Counts, spreads: tuple[Dispersion, Dispersion], alpha: float
) -> Change | None:
    """Is the bad-event ratio of ``now`` greater than that of ``before``? A one-sided
    two-proportion test on the pooled ratio, each run's binomial variance times its inflation
    (``stats.dispersion``), with Student's t at the Welch-Satterthwaite degrees of freedom when an
    inflation was estimated from batches. The interval of the difference uses the same standard
    error, so its lower end is above 0 exactly when p < alpha. The change is relative to the
    baseline's ratio (infinite from 0)."""
    if before.total <= 0 or now.total <= 0:
        return None
    pooled = (before.bad + now.bad) / (before.total + now.total)
    variances = [pooled * (1.0 - pooled) * spread.inflation / counts.total
                 for spread, counts in zip(spreads, (before, now), strict=True)]
    error = math.sqrt(sum(variances))
    dof = _welch_dof(variances, [spread.dof for spread in spreads])
    ratio_before = before.bad / before.total
    difference = now.bad / now.total - ratio_before
    # No variance at all (no bad events in either run, or only bad ones): 'worse' is all or nothing.
    no_variance_p = 1.0 if difference <= 0.0 else 0.0
    p_value = 1.0 - t_cdf(difference / error, dof) if error > 0.0 else no_variance_p
    bound = critical_value(1.0 - 2.0 * alpha, dof) * error
    return Change(
        effect=_relative(difference, ratio_before),
        low=_relative(difference - bound, ratio_before),
        high=_relative(difference + bound, ratio_before),
        confidence=1.0 - 2.0 * alpha,
        p_value=p_value,
        test=RATIO_TEST,
    )


def _welch_dof(variances: list[float], dofs: list[int | None]) -> int | None:
    """Welch-Satterthwaite degrees of freedom of a sum of variances, each with its own (None: known)."""
    if all(dof is None for dof in dofs) or sum(variances) <= 0.0:
        return None
    spread = sum(v * v / dof for v, dof in zip(variances, dofs, strict=True) if dof is not None)
    return max(1, math.floor(sum(variances) ** 2 / spread)) if spread > 0.0 else None


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
