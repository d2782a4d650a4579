"""Burn-rate alerts: one alerting rule per window pair of an objective (``slo.burn``) that can
fire, reading the SLI's recording rules over the pair's long and short window.

What the user said about an objective's alerts (``objective.alerting``: Sloth's and Pyrra's alert
name, labels, annotations, severities and disabled tiers) is honoured: their name replaces
slogate's, their labels and annotations are added over slogate's (a tier's over the objective's),
and a label ``tier`` of theirs is kept as they wrote it, slogate's own tier then going in
``slogate_tier`` (which the inhibit rules read too)."""

from __future__ import annotations

from dataclasses import dataclass

from slogate.alerts.conventions import (
    ERROR_BUDGET_BURN,
    LATENCY_BUDGET_BURN,
    VALUE_PERCENT,
    runbook_url,
)
from slogate.alerts.rulefmt import AlertingRule
from slogate.alerts.sli import Sli
from slogate.slo import promql
from slogate.slo.burn import ActiveWindow, ObjectiveBurn
from slogate.slo.sli import AlertOverrides, TierOverrides
from slogate.slo.spec import LatencyObjective
from slogate.slo.units import format_duration, format_ratio


@dataclass(frozen=True)
class BurnAlert:
    """One window pair of one objective: what trips it, and its alerting rule."""

    sli: Sli
    active: ActiveWindow
    for_s: float
    """How long both windows must burn before it fires (an alert policy's ``alertAfter``)."""
    rule: AlertingRule


def burn_alerts(
    sli: Sli, burn: ObjectiveBurn, spec_labels: dict[str, str], runbook_base: str
) -> tuple[BurnAlert, ...]:
    """The alerts of ``sli``'s window pairs that can fire (see ``ObjectiveBurn.problems`` for
    those that cannot), labelled with ``spec_labels`` (the spec's own, sorted) first."""
    overrides = sli.objective.alerting or AlertOverrides()
    alerts = []
    for planned in burn.planned:
        active = burn.active_of(planned)
        tier = _tier(overrides, planned.window.tier)
        if active is None or overrides.disabled or tier.disabled:
            continue
        rule = AlertingRule(
            alert=alert_name(sli),
            expr=_expr(sli, active),
            for_s=planned.for_s,
            labels=_labels(sli, active, spec_labels, overrides, tier),
            annotations={**_annotations(sli, burn, active, runbook_base), **overrides.annotations,
                         **tier.annotations},
        )
        alerts.append(BurnAlert(sli, active, planned.for_s, rule))
    return tuple(alerts)


def alert_name(sli: Sli) -> str:
    """The user's alert name for the objective, else slogate's for its kind."""
    overrides = sli.objective.alerting
    if overrides is not None and overrides.name:
        return overrides.name
    return LATENCY_BUDGET_BURN if sli.latency else ERROR_BUDGET_BURN


OWN_TIER_LABEL = "tier"
MOVED_TIER_LABEL = "slogate_tier"
"""Where slogate's tier goes when the user's labels have a ``tier`` of their own."""


def _tier(overrides: AlertOverrides, tier: str) -> TierOverrides:
    return overrides.page if tier == "page" else overrides.ticket


def _expr(sli: Sli, active: ActiveWindow) -> str:
    threshold = promql.number(active.threshold)
    window = active.window
    return (
        f"{sli.recorded(window.long_s)} > {threshold}\n"
        f"and\n"
        f"{sli.recorded(window.short_s)} > {threshold}"
    )


def _labels(
    sli: Sli, active: ActiveWindow, spec_labels: dict[str, str], overrides: AlertOverrides,
    tier: TierOverrides,
) -> dict[str, str]:
    window = active.window
    users = {**spec_labels, **overrides.labels, **tier.labels}
    tier_label = MOVED_TIER_LABEL if OWN_TIER_LABEL in users else OWN_TIER_LABEL
    labels = {
        **spec_labels,
        "severity": window.severity,
        tier_label: window.tier,
        "slo": sli.name,
        "service": sli.service,
        "long_window": window.long,
        "short_window": window.short,
        **{promql.label_name(k): v for k, v in {**overrides.labels, **tier.labels}.items()},
    }
    if tier.severity:
        labels["severity"] = tier.severity
    if OWN_TIER_LABEL in users:
        labels[OWN_TIER_LABEL] = users[OWN_TIER_LABEL]
    return labels


def _annotations(
    sli: Sli, burn: ObjectiveBurn, active: ActiveWindow, runbook_base: str
) -> dict[str, str]:
    window = active.window
    objective = sli.objective
    factor = promql.number(active.factor)
    speed = "fast" if window.tier == "page" else "steadily"
    where = f"to {objective.endpoint}" if objective.endpoint else "to every endpoint"
    allowed = burn.allowed_bad_ratio
    if isinstance(objective, LatencyObjective):
        what = (f"of successful requests {where} took longer than "
                f"{format_duration(objective.threshold_s)}")
        goal = (f"p{objective.percentile:g} <= {format_duration(objective.threshold_s)}, "
                f"so {format_ratio(allowed)} may be slower")
    else:
        what = f"of requests {where} failed"
        goal = f"at most {format_ratio(allowed)} failed requests"
    return {
        "summary": (f"{sli.service}: the {sli.name} SLO is burning its error budget {speed} "
                    f"({factor}x over {window.long})."),
        "description": (
            f"{VALUE_PERCENT} {what} over the last {window.long} (and more than "
            f"{format_ratio(active.threshold)} over the last {window.short}). "
            f"The {sli.name} objective allows {goal} over {format_duration(burn.period_s)}; "
            f"at this pace the error budget burns at least {factor} times as fast as the "
            f"period allows, {format_ratio(window.budget_fraction)} of it within "
            f"{window.long}."
        ),
        "runbook_url": runbook_url(runbook_base, alert_name(sli)),
    }
