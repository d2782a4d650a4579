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

from slogate.slo.evaluation import Evaluation, ObjectiveResult, Verdict
from slogate.slo.evaluator import bad_requests, judged_windows, overall, select
from slogate.slo.run import EndpointWindow, RunResult
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
    current = judged_windows(spec, run)
    previous = judged_windows(spec, baseline)
    objectives = {o.name: o for o in spec.all_objectives}
    results = tuple(
        _compare_one(objectives[r.name], r, current, previous, tolerance, alpha)
        if r.name in objectives else r
        for r in evaluation.objectives
    )
    verdict, reasons = overall(results, run)
    return dataclasses.replace(evaluation, objectives=results, verdict=verdict, reasons=tuple(reasons))


def _compare_one(
    objective: AnyObjective,
    result: ObjectiveResult,
    current: dict[str, EndpointWindow],
    previous: dict[str, EndpointWindow],
    tolerance: float,
    alpha: float,
) -> ObjectiveResult:
    if isinstance(objective, ThroughputObjective):
        return result  # a floor, not a distribution: nothing to test against a baseline
    now, _ = select(objective, current)
    before, _ = select(objective, previous)
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
    objective: AnyObjective, now: EndpointWindow, before: EndpointWindow
) -> tuple[float | None, float | None, TestResult | None]:
    """(candidate, baseline, test) on a 'bigger is worse' scale: seconds, or a bad-event ratio."""
    if isinstance(objective, LatencyObjective) and objective.form == "percentile":
        q = objective.percentile / 100.0
        value = now.ok.quantile(q)
        base = before.ok.quantile(q)
        return (None if value is None else value / 1e6, None if base is None else base / 1e6,
                mann_whitney(before.ok, now.ok))
    if isinstance(objective, ThroughputObjective):
        return None, None, None
    if isinstance(objective, LatencyObjective):
        limit = objective.threshold_s * 1e6
        bad_now, n_now = now.ok.count - now.ok.count_at_or_below(limit), now.ok.count
        bad_before, n_before = before.ok.count - before.ok.count_at_or_below(limit), before.ok.count
    else:
        bad_now, n_now = bad_requests(objective, now), now.requests
        bad_before, n_before = bad_requests(objective, before), before.requests
    return (bad_now / n_now if n_now else None, bad_before / n_before if n_before else None,
            two_proportion_z(bad_before, n_before, bad_now, n_now))


def _shown_value(result: ObjectiveResult, bad_or_seconds: float) -> float:
    """The baseline in the result's own terms (availability and shares are good ratios)."""
    if result.unit == "ratio" and result.kind != "error_ratio":
        return 1.0 - bad_or_seconds
    return bad_or_seconds


def _show(objective: AnyObjective, value: float) -> str:
    if isinstance(objective, LatencyObjective) and objective.form == "percentile":
        return f"p{objective.percentile:g} {format_duration(value)}"
    return f"bad-event ratio {format_ratio(value)}"
