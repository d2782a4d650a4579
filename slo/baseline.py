"""Baseline comparison: did this run get worse than an earlier one, by more than a tolerance, and
is the difference real? Both conditions, so a noisy 2% wobble and a tiny-but-significant drift at
huge sample sizes are neither flagged.

- latency percentiles: the candidate's percentile over the baseline's × (1 + tolerance), and a
  one-sided Mann-Whitney U test over the two histograms (is the candidate slower?);
- ratios (error ratio, availability, share under a latency threshold): the bad-event ratio over
  the baseline's × (1 + tolerance), and a one-sided two-proportion z-test.

A regression of a gating objective fails it. A baseline with no data for an objective makes that
objective inconclusive (a relative criterion without its reference is never a pass).
"""

from __future__ import annotations

import dataclasses

from slogate.slo.counts import Counts
from slogate.slo.evaluation import Evaluation, ObjectiveResult, Verdict
from slogate.slo.evaluator import doubts, judged_counts
from slogate.slo.judge import overall
from slogate.slo.run import RunResult
from slogate.slo.spec import AnyObjective, LatencyObjective, Spec, ThroughputObjective
from slogate.slo.stats import TestResult, mann_whitney, two_proportion_z
from slogate.slo.units import format_duration, format_ratio

DEFAULT_TOLERANCE = 0.10
"""Worse by more than 10% (relative) before a significant difference counts as a regression."""

DEFAULT_ALPHA = 0.05
"""One-sided significance level of the regression tests."""


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
    current = judged_counts(spec, run)
    previous = judged_counts(spec, baseline)
    objectives = {o.name: o for o in spec.all_objectives}
    results = tuple(
        _compare_one(objectives[r.name], r, current[r.name], previous[r.name], tolerance, alpha)
        if r.name in objectives else r
        for r in evaluation.objectives
    )
    verdict, reasons = overall(results, doubts(run))
    return dataclasses.replace(evaluation, objectives=results, verdict=verdict, reasons=tuple(reasons))


def _compare_one(
    objective: AnyObjective,
    result: ObjectiveResult,
    now: Counts,
    before: Counts,
    tolerance: float,
    alpha: float,
) -> ObjectiveResult:
    if isinstance(objective, ThroughputObjective):
        return result  # a floor, not a distribution: nothing to test against a baseline
    value, baseline_value, test = _measure(objective, now, before)
    if baseline_value is None or test is None:
        reason = f"{result.reason}; no baseline data to compare with"
        undecided: Verdict = "inconclusive" if result.verdict == "pass" else result.verdict
        return dataclasses.replace(result, verdict=undecided, reason=reason, regression=None)
    worse = value is not None and value > baseline_value * (1.0 + tolerance) + 1e-15
    significant = test.p_value < alpha
    regression = worse and significant
    shown = _show(objective, baseline_value)
    comparison = (f"baseline {shown}; {test.test} p = {test.p_value:.3g}"
                  f"{' (significant)' if significant else ''}")
    verdict: Verdict = result.verdict
    if regression:
        verdict = "fail"
        reason = (f"regression: worse than the baseline by more than {format_ratio(tolerance)} and "
                  f"significantly ({comparison}); {result.reason}")
        if result.verdict == "fail":
            reason = f"{result.reason}; also a regression ({comparison})"
    else:
        reason = f"{result.reason}; no regression ({comparison})"
    return dataclasses.replace(result, verdict=verdict, reason=reason,
                               baseline=_shown_value(result, baseline_value), test=test.test,
                               p_value=test.p_value, regression=regression)


def _measure(
    objective: AnyObjective, now: Counts, before: Counts
) -> tuple[float | None, float | None, TestResult | None]:
    """(candidate, baseline, test) on a 'bigger is worse' scale: seconds, or a bad-event ratio."""
    if isinstance(objective, LatencyObjective) and objective.form == "percentile":
        assert now.latency is not None and before.latency is not None  # counted from runs
        q = objective.percentile / 100.0
        value = now.latency.quantile(q)
        base = before.latency.quantile(q)
        return (None if value is None else value / 1e6, None if base is None else base / 1e6,
                mann_whitney(before.latency, now.latency))
    return (now.bad / now.total if now.total else None,
            before.bad / before.total if before.total else None,
            two_proportion_z(before.bad, before.total, now.bad, now.total))


def _shown_value(result: ObjectiveResult, bad_or_seconds: float) -> float:
    """The baseline in the result's own terms (availability and shares are good ratios)."""
    if result.unit == "ratio" and result.kind != "error_ratio":
        return 1.0 - bad_or_seconds
    return bad_or_seconds


def _show(objective: AnyObjective, value: float) -> str:
    if isinstance(objective, LatencyObjective) and objective.form == "percentile":
        return f"p{objective.percentile:g} {format_duration(value)}"
    return f"bad-event ratio {format_ratio(value)}"
