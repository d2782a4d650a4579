"""The judging rules of the kinds built on a share (``slo.judge``'s rules do the statistics):
tokens/s floors, cache hit ratios and goodput; and the result of an objective a run cannot judge.

Each is a lower bound on a share of good events, so each goes through ``judge.judge_share``
(Wilson interval, batch-means variance, exact with few events) like availability does; only what
the share is called differs. ``judge_objective`` is the one entry the evaluator calls.
"""

from __future__ import annotations

import dataclasses

from slogate.slo.counts import Counts
from slogate.slo.evaluation import ObjectiveResult
from slogate.slo.judge import judge, judge_share
from slogate.slo.spec import (
    AvailabilityObjective,
    GoodputObjective,
    HitRatioObjective,
    JudgedObjective,
    LatencyObjective,
    Spec,
)
from slogate.slo.units import format_duration

SERVER_SIDE_ONLY = "judged server-side only (run gate --prometheus)"
"""The reason of an objective whose SLI is the user's own PromQL (``client_side`` False)."""


def judge_objective(objective: JudgedObjective, counts: Counts, spec: Spec, *,
                    fail_confidence: float | None = None, run: Counts | None = None) -> ObjectiveResult:
    """``judge.judge`` for every kind: the kinds of this module here, the others there."""
    if isinstance(objective, LatencyObjective) and objective.kind == "tokens_per_s":
        floor = f"{objective.tokens_per_s_floor:.4g} tokens/s"
        return judge_share(objective, counts, spec, target=objective.percentile / 100.0,
                           what=f"share of streams at or above {floor}",
                           bad_label=f"under {floor} (time per output token over "
                                     f"{format_duration(objective.threshold_s)})",
                           period_s=spec.period_s, fail_confidence=fail_confidence, run=run)
    if isinstance(objective, HitRatioObjective):
        return _as_share(objective, counts, spec, what="hit ratio", bad_label="misses",
                         fail_confidence=fail_confidence, run=run)
    if isinstance(objective, GoodputObjective):
        result = _as_share(objective, counts, spec, what="goodput",
                           bad_label=f"missing a limit ({limits_text(objective)})",
                           fail_confidence=fail_confidence, run=run)
        result = dataclasses.replace(result, limits=limits_of(objective))
        if counts.seconds <= 0.0:
            return result
        rate = f"goodput rate {counts.good / counts.seconds:.4g} good requests/s"
        return dataclasses.replace(result, reason=f"{result.reason}; {rate}")
    return judge(objective, counts, spec, fail_confidence=fail_confidence, run=run)


def limits_of(objective: GoodputObjective) -> dict[str, float]:
    """The limits a good request meets, seconds by name (``ObjectiveResult.limits``)."""
    limits = objective.limits
    named = (("ttft", limits.ttft_s), ("tpot", limits.tpot_s), ("total", limits.total_s))
    return {name: value for name, value in named if value is not None}


def limits_text(objective: GoodputObjective) -> str:
    """'TTFT <= 500ms, TPOT <= 50ms, total <= 20s': the limits a good request met together."""
    limits = objective.limits
    parts = [(label, value) for label, value in (("TTFT", limits.ttft_s), ("TPOT", limits.tpot_s),
                                                  ("total", limits.total_s)) if value is not None]
    return ", ".join(f"{label} <= {format_duration(value)}" for label, value in parts)


def server_side_only(objective: JudgedObjective, empty: Counts, spec: Spec) -> ObjectiveResult:
    """The result of an objective a load test cannot measure (its SLI is the user's PromQL), from
    ``empty`` counts: inconclusive and not gating the run; ``gate --prometheus`` judges it."""
    empty_result = judge_objective(objective, empty, spec)
    return dataclasses.replace(empty_result, verdict="inconclusive", gating=False, reason=(
        f"{SERVER_SIDE_ONLY}: its SLI is a PromQL query a load test does not measure; "
        "not gating this run"))


def _as_share(objective: HitRatioObjective | GoodputObjective, counts: Counts, spec: Spec, *, what: str,
              bad_label: str, fail_confidence: float | None, run: Counts | None) -> ObjectiveResult:
    # Judged as an availability of the same target (the share rule has one form for every lower
    # bound on good events), then said as what it is.
    stand_in = AvailabilityObjective(
        name=objective.name, target=objective.target, endpoint=objective.endpoint,
        min_samples=objective.min_samples, gating=objective.gating, period_s=objective.period_s,
        window_s=objective.window_s, window_target=objective.window_target,
        min_duration_s=objective.min_duration_s)
    result = judge_share(stand_in, counts, spec, target=objective.target, what=what,
                         bad_label=bad_label, period_s=objective.period_s,
                         fail_confidence=fail_confidence, run=run)
    return dataclasses.replace(result, kind=objective.kind)
