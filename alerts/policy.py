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

from alerts.windows import BurnWindow
from slo import promql
from slo.spec import BurnRateCondition, Objective, Spec

SHORT_WINDOW_DIVISOR = 12
MIN_SHORT_WINDOW_S = 300.0


@dataclass(frozen=True)
class PlannedWindow:
    """A window pair for one objective, and how long it must hold before the alert fires."""

    window: BurnWindow
    for_s: float = 0.0
    condition: str = ""
    """The policy condition it comes from ('' for the default tiers)."""


def short_window_s(long_s: float) -> float:
    """The short window of a pair whose long window is ``long_s`` (whole seconds)."""
    return float(min(long_s, max(MIN_SHORT_WINDOW_S, round(long_s / SHORT_WINDOW_DIVISOR))))


def condition_window(condition: BurnRateCondition, period_s: float) -> BurnWindow:
    """One policy condition as a window pair for an SLO period of ``period_s``."""
    if period_s <= 0.0:
        raise ValueError(f"expected a positive SLO period, got {period_s!r} s")
    return BurnWindow(
        tier=condition.tier,
        long_s=condition.lookback_s,
        short_s=short_window_s(condition.lookback_s),
        budget_fraction=condition.factor * condition.lookback_s / period_s,
        severity=condition.severity,
    )


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
