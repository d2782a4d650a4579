"""The capacity search: which load to try next, from the verdicts of the loads tried so far.

Geometric steps from ``start`` (each ``growth`` times the last, the last one ``stop``) until a step
does not pass; then bisection (at the geometric mean) between the highest load that passed and the
lowest that did not (failed, or could not be decided), until they are within ``resolution`` of each
other. An undecided step is never guessed around: it bounds what the search can certify (near the
knee the objectives sit at their thresholds, where no finite step can tell), and it is named in the
answer. A step where the load generator ran out ends the search: the answer is then a lower bound,
said as such. With ``probe`` (the ``--require`` load) inside the bracket, bisection tries it
first, so a requirement is decided by a step at exactly that load.

Pure logic: a step is anything that turns a load into a :class:`StepResult` (:class:`StepRunner`),
a real Locust run in ``slogate.capacity_steps``, an in-memory stand-in in the tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from slogate.slo.capacity import CapacityResult, LoadUnit, StepResult, holds_at, lowest_not_held

DEFAULT_GROWTH = 2.0
DEFAULT_RESOLUTION = 0.05


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


def next_probe(low: float | None, high: float, plan: SearchPlan, tried: set[float]) -> float | None:
    """The load to try between ``low`` (passed; None: none did) and ``high`` (failed); None once
    the bracket is within the resolution, or no other load fits in it."""
    if plan.probe is not None and plan.probe not in tried and (low or 0.0) < plan.probe < high:
        return plan.probe
    if low is None or high <= low * (1 + plan.resolution):
        return None
    middle = _whole(_rounded(math.sqrt(low * high), low, high), plan)
    return middle if low < middle < high and middle not in tried else None


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
    for load in ramp_loads(plan):
        steps.append(run_step(load))
        if steps[-1].verdict != "pass":
            break
    while steps[-1].verdict != "generator":
        low = holds_at(steps)
        top = lowest_not_held(steps, low)
        if top is None:
            break
        probe = next_probe(low, top, plan, {s.load for s in steps})
        if probe is None:
            break
        steps.append(run_step(probe))
    return CapacityResult(unit=plan.unit, steps=tuple(steps), start=plan.start, stop=plan.stop,
                          resolution=plan.resolution, search_s=clock() - began)
