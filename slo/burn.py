"""Burn-rate windows and tiers: when an objective's error budget burns fast enough to alert on.

Multi-window, multi-burn-rate alerting (SRE workbook, chapter 5) for any SLO period. A window pair
alerts when both its long and its short window burn the budget faster than
``factor = budget_fraction × period / long window``: for a 30-day period the workbook's 14.4×
(2% in 1h), 6× (5% in 6h), 3× (10% in 1d) and 1× (10% in 3d). Other periods scale: a 7-day SLO
pages at 2% × 168h / 1h = 3.36×.

An imported alert policy (OpenSLO ``AlertPolicy``) states a burn rate ``factor`` over a
``lookback`` instead. Each condition becomes one window pair: the long window is the lookback, the
short one a twelfth of it (the workbook's ratio: 1h/5m, 6h/30m, 1d/2h, 3d/6h; at least 5m, so a
rate always has samples), with the budget share ``factor × lookback / period`` so that
``BurnWindow.factor`` gives the stated factor back.

Here in ``slo`` rather than in ``alerts`` because the SLO dashboard shows the same burn rates and
which alerts they would fire, and ``dashboards`` may not import ``alerts``. The PromQL text of these
windows is ``slo.promql``'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from slogate.slo.promql import duration, number
from slogate.slo.spec import BurnRateCondition, LatencyObjective, Objective, Spec
from slogate.slo.units import format_duration, format_ratio

_HOUR_S = 3600.0
_DAY_S = 86400.0
SHORT_WINDOW_DIVISOR = 12
MIN_SHORT_WINDOW_S = 300.0

TIERS = ("page", "ticket")
SEVERITIES = ("critical", "warning", "info")
DEFAULT_SEVERITY: dict[str, str] = {"page": "critical", "ticket": "warning"}


# --- The error budget --------------------------------------------------------------------------

def allowed_bad_ratio(objective: Objective) -> float:
    """The bad-event ratio the objective allows, rounded to 12 digits (``1 - 99.9/100 = 0.001``)."""
    if isinstance(objective, LatencyObjective):
        raw = 1.0 - objective.percentile / 100.0
    else:
        raw = objective.allowed_bad_ratio
    return float(number(raw))


def period_s(objective: Objective, spec: Spec) -> float:
    """The SLO period an objective's budget spans (latency objectives use the spec's)."""
    if isinstance(objective, LatencyObjective):
        return spec.period_s
    return objective.period_s


# --- Window pairs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BurnWindow:
    """One window pair: alert when ``budget_fraction`` of the budget goes within ``long_s``.

    ``tier`` is ``page`` or ``ticket`` (the ``tier`` label of the alert); ``severity`` is the
    alert's ``severity`` label (``critical`` pages, ``warning`` makes a ticket by default).
    """

    tier: str
    long_s: float
    short_s: float
    budget_fraction: float
    severity: str = ""

    def __post_init__(self) -> None:
        if not self.severity:
            object.__setattr__(self, "severity", DEFAULT_SEVERITY.get(self.tier, "warning"))

    @property
    def long(self) -> str:
        return duration(self.long_s)

    @property
    def short(self) -> str:
        return duration(self.short_s)

    def factor(self, period_s: float) -> float:
        """The burn rate (multiple of the sustainable rate) that trips this window pair:
        ``budget_fraction × period / long window`` (14.4 for 2% in 1h of 30 days)."""
        if period_s <= 0.0:
            raise ValueError(f"expected a positive SLO period, got {period_s!r} s")
        return float(number(self.budget_fraction * period_s / self.long_s))


WORKBOOK_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow("page", 1 * _HOUR_S, 5 * 60.0, 0.02),
    BurnWindow("page", 6 * _HOUR_S, 30 * 60.0, 0.05),
    BurnWindow("ticket", 1 * _DAY_S, 2 * _HOUR_S, 0.10),
    BurnWindow("ticket", 3 * _DAY_S, 6 * _HOUR_S, 0.10),
)
"""The SRE workbook's recommended tiers, by the budget share each long window may consume."""


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


@dataclass(frozen=True)
class PlannedWindow:
    """A window pair for one objective, and how long it must hold before the alert fires."""

    window: BurnWindow
    for_s: float = 0.0
    condition: str = ""
    """The policy condition it comes from ('' for the default tiers)."""


def planned_windows(
    spec: Spec, objective: Objective, defaults: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS
) -> tuple[PlannedWindow, ...]:
    """The window pairs of ``objective``: its policies' conditions whose tier is among those of
    ``defaults`` (a tier switched off stays off), else ``defaults`` themselves."""
    policies = spec.alert_policies_of(objective.name)
    if not policies:
        return tuple(PlannedWindow(window) for window in defaults)
    tiers = {window.tier for window in defaults}
    period = period_s(objective, spec)
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


# --- Window pairs of one objective -------------------------------------------------------------

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
    """The window pairs that can fire for an objective, with their thresholds.

    Left out: a long window longer than the SLO period, and a threshold (factor × allowed bad
    ratio) of 1 or more, since a ratio of bad events never exceeds 1.
    """
    active = []
    for window in windows:
        if window.long_s > period_s:
            continue
        factor = window.factor(period_s)
        threshold = float(number(factor * allowed_bad_ratio))
        if threshold >= 1.0:
            continue
        active.append(ActiveWindow(window, factor, threshold))
    return active


def record_windows_s(period: float, windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS) -> list[float]:
    """Every window an objective's SLI is recorded over: each tier's long and short window
    (5m, 30m, 1h, 2h, 6h, 1d, 3d) and the SLO period itself (budget remaining)."""
    spans = {w.long_s for w in windows} | {w.short_s for w in windows} | {period}
    return sorted(s for s in spans if s <= period)


@dataclass(frozen=True)
class ObjectiveBurn:
    """One objective's burn-rate model: its budget, its window pairs and those that can fire."""

    objective: Objective
    period_s: float
    allowed_bad_ratio: float
    planned: tuple[PlannedWindow, ...]
    active: tuple[ActiveWindow, ...]

    @property
    def record_windows_s(self) -> list[float]:
        """The windows the objective's SLI is recorded over (see ``record_windows_s``)."""
        return record_windows_s(self.period_s, tuple(p.window for p in self.planned))

    def active_of(self, planned: PlannedWindow) -> ActiveWindow | None:
        """The active form of a planned pair; None when it cannot fire for this objective."""
        return next((a for a in self.active if a.window == planned.window), None)

    def problems(self) -> list[str]:
        """Policy conditions that can never fire, one line each: someone asked for them, so
        unlike a default tier that cannot fire they are not silently left out."""
        return [self._unreachable(p) for p in self.planned
                if p.condition and self.active_of(p) is None]

    def _unreachable(self, planned: PlannedWindow) -> str:
        window = planned.window
        if window.long_s > self.period_s:
            why = (f"its lookback window {window.long} is longer than the SLO period "
                   f"{format_duration(self.period_s)}")
        else:
            factor = window.factor(self.period_s)
            why = (f"a burn rate of {number(factor)}x means a bad-event ratio of at least "
                   f"{format_ratio(factor * self.allowed_bad_ratio)}, more than every request; "
                   f"the highest burn rate it can reach is {number(1.0 / self.allowed_bad_ratio)}x")
        return (f"alert condition {planned.condition} of SLO {self.objective.name!r} can never "
                f"fire: {why}")


def objective_burn(
    spec: Spec, objective: Objective, defaults: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS
) -> ObjectiveBurn:
    """The burn-rate model of ``objective``: its alert policies' window pairs, else ``defaults``."""
    period = period_s(objective, spec)
    allowed = allowed_bad_ratio(objective)
    planned = planned_windows(spec, objective, defaults)
    active = active_windows(period, allowed, tuple(p.window for p in planned))
    return ObjectiveBurn(objective, period, allowed, planned, tuple(active))
