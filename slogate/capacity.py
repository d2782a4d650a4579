"""The capacity search: which load to try next, from the verdicts of the loads tried so far.

Geometric steps from ``start`` (each ``growth`` times the last, the last one ``stop``) until a step
fails, the load generator runs out, or two steps in a row cannot be decided; then bisection (at the
geometric mean) of the bracket between the highest load that passed and the lowest that failed
(with none failed: the highest that could not be decided), until every gap between the loads
tried inside it is within ``resolution``. Steps that could not be decided split the bracket but do
not end it: bisection goes on in the widest gap, around them, so a pass above an undecided step
still raises the answer (a step decided early by the sequential rule is worth as much as any).
An undecided step is never guessed: it is named in the answer, and once ``MAX_UNDECIDED`` of them
sit in the bracket the search stops with what its decided steps show. A step where the load
generator ran out ends the search (the answer is then a lower bound, said as such) unless a higher
load already broke the target: then it is one more step that could not tell. With ``probe``
(the ``--require`` load) inside the bracket, bisection tries it first, so a requirement is decided
by a step at exactly that load.

Pure logic: a step is anything that turns a load into a :class:`StepResult` (:class:`StepRunner`),
a real Locust run in ``slogate.capacity_steps``, an in-memory stand-in in the tests.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from slogate.slo.capacity import (
    CapacityResult,
    LoadUnit,
    StepResult,
    generator_limit,
    holds_at,
    lowest_not_held,
    unsettled,
)

DEFAULT_GROWTH = 2.0
DEFAULT_RESOLUTION = 0.05
RAMP_UNDECIDED_IN_A_ROW = 2
"""The geometric phase goes on past one step that could not tell, not past two in a row."""
MAX_UNDECIDED = 4
"""Bisection stops once this many steps in the bracket could not tell: near the knee the
objectives sit at their thresholds, where more steps of the same length would not tell either."""


class StepRunner(Protocol):
    def __call__(self, load: float) -> StepResult:
        """Offer ``load`` (arrivals/s, or users) for one step and judge it."""
        ...


@dataclass(frozen=True)
class SearchPlan:
    start: float
    stop: float
    unit: LoadUnit = "req/s"
    resolution: float = DEFAULT_RESOLUTION
    growth: float = DEFAULT_GROWTH
    probe: float | None = None
    """A load to decide exactly when it falls between a pass and a fail (``--require``)."""

    def __post_init__(self) -> None:
        if not 0 < self.start <= self.stop:
            raise ValueError(f"expected 0 < start <= stop, got {self.start:g} and {self.stop:g}")
        if not self.resolution > 0 or not self.growth > 1:
            raise ValueError("the resolution must be positive and the growth more than 1")


def ramp_loads(plan: SearchPlan) -> list[float]:
    """The loads of the geometric phase: start, start x growth, ..., stop (always the last)."""
    loads = []
    load = plan.start
    while load < plan.stop * (1 - 1e-9):
        loads.append(_whole(load, plan))
        load *= plan.growth
    loads.append(plan.stop)
    return sorted(set(loads))


def bracket(steps: Sequence[StepResult]) -> list[float]:
    """The loads that bound the capacity, in order: the highest that passed (none: no bracket),
    the undecided ones above it, and the lowest that failed above it (none failed: the highest
    undecided is the top)."""
    low = holds_at(steps)
    if low is None:
        return []
    failed = [s.load for s in steps if s.verdict == "fail" and s.load > low]
    top = min(failed, default=math.inf)
    undecided = sorted(s.load for s in unsettled(steps) if low < s.load < top)
    return [low, *undecided, *([top] if failed else [])]


def next_probe(steps: Sequence[StepResult], plan: SearchPlan) -> float | None:
    """The load to try next after ``steps``; None once every gap of the bracket is within the
    resolution, it holds ``MAX_UNDECIDED`` undecided steps, or no other load fits in it."""
    tried = {s.load for s in steps}
    loads = bracket(steps)
    low = loads[0] if loads else 0.0
    high = loads[-1] if len(loads) > 1 else lowest_not_held(steps, None) or 0.0
    if plan.probe is not None and plan.probe not in tried and low < plan.probe < high:
        return plan.probe
    undecided = sum(s.load in loads for s in unsettled(steps))
    if len(loads) < 2 or undecided >= MAX_UNDECIDED:
        return None
    # The widest gap (as a ratio) first; of equal ones the highest, where a pass raises the answer most.
    gaps = sorted(itertools.pairwise(loads), key=lambda gap: (gap[1] / gap[0], gap[0]), reverse=True)
    return next((m for below, above in gaps if (m := middle(below, above, plan, tried)) is not None), None)


def middle(low: float, high: float, plan: SearchPlan, tried: set[float]) -> float | None:
    """The geometric mean of ``low`` and ``high`` (a whole number of users, three significant
    digits when that stays inside); None when they are within the resolution or nothing new fits."""
    if high <= low * (1 + plan.resolution):
        return None
    load = _whole(_rounded(math.sqrt(low * high), low, high), plan)
    return load if low < load < high and load not in tried else None


def _rounded(load: float, low: float, high: float) -> float:
    """Three significant digits (a load people can read), when that stays inside the bracket."""
    rounded = float(f"{load:.3g}")
    return rounded if low < rounded < high else load


def _whole(load: float, plan: SearchPlan) -> float:
    return float(round(load)) if plan.unit == "users" else load


def search(plan: SearchPlan, run_step: StepRunner, *,
           clock: Callable[[], float] = time.monotonic) -> CapacityResult:
    """Run the steps the plan calls for, each decided by ``run_step``, and say what they show."""
    began = clock()
    steps: list[StepResult] = []
    undecided_in_a_row = 0
    for load in ramp_loads(plan):
        steps.append(run_step(load))
        undecided_in_a_row = undecided_in_a_row + 1 if steps[-1].verdict == "undecided" else 0
        if steps[-1].verdict in ("fail", "generator") or undecided_in_a_row == RAMP_UNDECIDED_IN_A_ROW:
            break
    while generator_limit(steps) is None and (probe := next_probe(steps, plan)) is not None:
        steps.append(run_step(probe))
    return CapacityResult(unit=plan.unit, steps=tuple(steps), start=plan.start, stop=plan.stop,
                          resolution=plan.resolution, search_s=clock() - began)
