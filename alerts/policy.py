"""Which burn-rate window pairs each objective alerts on: its spec's alert policies, or the defaults.

An imported alert policy (OpenSLO ``AlertPolicy``, see ``slo.openslo_policy``) states a burn rate
``factor`` over a ``lookback`` window. Each condition becomes one multi-window pair: the long window
is the lookback, the short one a twelfth of it (the SRE workbook's ratio: 1h/5m, 6h/30m, 1d/2h,
3d/6h; at least 5m, so a rate always has samples), with the budget share
``factor × lookback / period`` so that ``BurnWindow.factor`` gives the stated factor back. Objectives
without a policy keep the tiers passed in (by default the workbook's).
"""

from __future__ import annotations

from dataclasses import dataclass

from slogate.alerts.windows import BurnWindow
from slogate.slo import promql
from slogate.slo.promql import condition_window
from slogate.slo.spec import Objective, Spec


@dataclass(frozen=True)
class PlannedWindow:
    """A window pair for one objective, and how long it must hold before the alert fires."""

    window: BurnWindow
    for_s: float = 0.0
    condition: str = ""
    """The policy condition it comes from ('' for the default tiers)."""


def planned_windows(
    spec: Spec, objective: Objective, defaults: tuple[BurnWindow, ...]
) -> tuple[PlannedWindow, ...]:
    """The window pairs of ``objective``: its policies' conditions whose tier is among those of
    ``defaults`` (a tier switched off stays off), else ``defaults`` themselves."""
    policies = spec.alert_policies_of(objective.name)
    if not policies:
        return tuple(PlannedWindow(window) for window in defaults)
    tiers = {window.tier for window in defaults}
    period = promql.period_s(objective, spec)
    return tuple(
        PlannedWindow(condition_window(condition, period), condition.alert_after_s,
                      f"{policy.name}/{condition.name}")
        for policy in policies
        for condition in policy.conditions
        if condition.tier in tiers
    )


def spec_windows(spec: Spec, defaults: tuple[BurnWindow, ...]) -> tuple[BurnWindow, ...]:
    """Every window pair some objective of ``spec`` alerts on (for the inhibit rules)."""
    seen: dict[BurnWindow, None] = {}
    for objective in spec.objectives:
        for planned in planned_windows(spec, objective, defaults):
            seen.setdefault(planned.window, None)
    return tuple(seen) or defaults
