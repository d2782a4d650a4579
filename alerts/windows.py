"""Multi-window, multi-burn-rate alert tiers (SRE workbook, chapter 5), for any SLO period.

A tier alerts when both its long and its short window burn the error budget faster than
``factor``×. The factor comes from how much of the budget the long window may consume:

    factor = budget_fraction × period / long_window

which for a 30-day period gives the workbook's 14.4× (2% in 1h), 6× (5% in 6h), 3× (10% in 1d)
and 1× (10% in 3d). Other periods scale: a 7-day SLO pages at 2% × 168h / 1h = 3.36×.

Two kinds of tier are left out, because their alert could never fire or means nothing:
a long window longer than the SLO period itself, and a threshold (factor × allowed bad ratio) of
1 or more, since a ratio of bad events never exceeds 1 (a p50 objective allows 50% slow
requests, so 14.4× would need 720% of requests to be slow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from slo import promql

Tier = Literal["page", "ticket"]

SEVERITY: dict[Tier, str] = {"page": "critical", "ticket": "warning"}


@dataclass(frozen=True)
class BurnWindow:
    """One window pair: alert when ``budget_fraction`` of the budget goes within ``long_s``."""

    tier: Tier
    long_s: float
    short_s: float
    budget_fraction: float

    @property
    def severity(self) -> str:
        return SEVERITY[self.tier]

    @property
    def long(self) -> str:
        return promql.duration(self.long_s)

    @property
    def short(self) -> str:
        return promql.duration(self.short_s)

    def factor(self, period_s: float) -> float:
        """The burn rate (multiple of the sustainable rate) that trips this window pair."""
        if period_s <= 0.0:
            raise ValueError(f"expected a positive SLO period, got {period_s!r} s")
        return float(promql.number(self.budget_fraction * period_s / self.long_s))


HOUR = 3600.0
DAY = 86400.0

WORKBOOK_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow("page", 1 * HOUR, 5 * 60.0, 0.02),
    BurnWindow("page", 6 * HOUR, 30 * 60.0, 0.05),
    BurnWindow("ticket", 1 * DAY, 2 * HOUR, 0.10),
    BurnWindow("ticket", 3 * DAY, 6 * HOUR, 0.10),
)
"""The SRE workbook's recommended tiers, by the budget share each long window may consume."""

RECORD_WINDOWS_S: tuple[float, ...] = tuple(
    sorted({w.long_s for w in WORKBOOK_WINDOWS} | {w.short_s for w in WORKBOOK_WINDOWS})
)
"""Every window the tiers read: 5m, 30m, 1h, 2h, 6h, 1d, 3d."""


@dataclass(frozen=True)
class ActiveWindow:
    """A window pair applied to one objective: the burn factor and the bad-ratio threshold."""

    window: BurnWindow
    factor: float
    threshold: float


def active_windows(
    period_s: float,
    allowed_bad_ratio: float,
    windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS,
) -> list[ActiveWindow]:
    """The window pairs that make sense for an objective, with their thresholds (see module doc)."""
    active = []
    for window in windows:
        if window.long_s > period_s:
            continue
        factor = window.factor(period_s)
        threshold = float(promql.number(factor * allowed_bad_ratio))
        if threshold >= 1.0:
            continue
        active.append(ActiveWindow(window, factor, threshold))
    return active
