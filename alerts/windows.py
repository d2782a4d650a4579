"""Multi-window, multi-burn-rate alert tiers (SRE workbook, chapter 5), for any SLO period.

The windows themselves live in ``slo.promql`` (the SLO dashboard reads them too); this module
adds the configuration: which tiers to alert on and with which severity.

A tier alerts when both its long and its short window burn the error budget faster than
``factor``×, with ``factor = budget_fraction × period / long_window``: for a 30-day period the
workbook's 14.4× (2% in 1h), 6× (5% in 6h), 3× (10% in 1d) and 1× (10% in 3d). Other periods
scale: a 7-day SLO pages at 2% × 168h / 1h = 3.36×.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from slogate.slo.promql import (
    DAY_S,
    DEFAULT_SEVERITY,
    HOUR_S,
    WORKBOOK_WINDOWS,
    ActiveWindow,
    BurnWindow,
    active_windows,
    record_windows_s,
)

HOUR = HOUR_S
DAY = DAY_S
TIERS = ("page", "ticket")
SEVERITIES = ("critical", "warning", "info")
SEVERITY = DEFAULT_SEVERITY

RECORD_WINDOWS_S: tuple[float, ...] = tuple(
    sorted({w.long_s for w in WORKBOOK_WINDOWS} | {w.short_s for w in WORKBOOK_WINDOWS})
)
"""Every window the workbook tiers read: 5m, 30m, 1h, 2h, 6h, 1d, 3d."""

__all__ = [
    "DAY",
    "HOUR",
    "RECORD_WINDOWS_S",
    "SEVERITIES",
    "SEVERITY",
    "TIERS",
    "WORKBOOK_WINDOWS",
    "ActiveWindow",
    "BurnWindow",
    "active_windows",
    "configure_tiers",
    "record_windows_s",
]


def configure_tiers(
    tiers: Sequence[str] = TIERS,
    severity: Mapping[str, str] | None = None,
    windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS,
) -> tuple[BurnWindow, ...]:
    """The window pairs of the ``tiers`` switched on, with their severities overridden.

    ``configure_tiers(["page"])`` alerts on pages only; ``severity={"ticket": "info"}`` files
    tickets as ``info``. Unknown tiers or severities are a ValueError naming the known ones.
    """
    known = {w.tier for w in windows}
    unknown = sorted(set(tiers) - known)
    if unknown:
        raise ValueError(f"unknown alert tier(s) {', '.join(unknown)}; expected some of: "
                         f"{', '.join(sorted(known))}")
    severity = dict(severity or {})
    for tier, level in severity.items():
        if tier not in known:
            raise ValueError(f"unknown alert tier {tier!r}; expected one of: {', '.join(sorted(known))}")
        if level not in SEVERITIES:
            raise ValueError(f"unknown severity {level!r} for the {tier} tier; expected one of: "
                             f"{', '.join(SEVERITIES)}")
    return tuple(
        replace(w, severity=severity.get(w.tier, w.severity)) for w in windows if w.tier in tiers
    )
