"""The alert plan: everything the rule file, its promtool tests and the Alertmanager inhibit rules
say about a spec, computed once (the SLIs, their burn-rate windows and alerts, the absent-metric
and proxy health alerts). Each of those files is a rendering of one plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from slogate.alerts.absent import absent_rule
from slogate.alerts.burn_alerts import MOVED_TIER_LABEL, BurnAlert, burn_alerts
from slogate.alerts.conventions import (
    DEFAULT_RUNBOOK_BASE,
    ERROR_BUDGET_BURN,
    LATENCY_BUDGET_BURN,
    service_labels,
    spec_labels,
)
from slogate.alerts.health import DEFAULT_HEALTH, HealthThresholds, health_rules, slow_request_bound
from slogate.alerts.rulefmt import AlertingRule
from slogate.alerts.sli import Sli, slis
from slogate.slo.burn import WORKBOOK_WINDOWS, BurnWindow, ObjectiveBurn, objective_burn, spec_windows
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.spec import DERIVED_LATENCY_KINDS, LatencyObjective, Spec, objective_contract, spec_contract


@dataclass(frozen=True)
class RuleOptions:
    """What shapes the rules besides the spec and the metric contract; the rule file, its promtool
    tests and the inhibit rules are made with the same options."""

    runbook_base: str = DEFAULT_RUNBOOK_BASE
    health: HealthThresholds = DEFAULT_HEALTH
    buckets: Sequence[float] | None = None
    """The latency histogram's bucket bounds in seconds (a latency threshold must be one of
    them); None: the contract's own ``buckets``."""
    windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS
    """The burn-rate tiers (see ``slo.burn.configure_tiers``)."""


DEFAULT_OPTIONS = RuleOptions()


@dataclass(frozen=True)
class SliPlan:
    """One objective's SLI, its burn-rate model, the burn alerts that can fire and its absent alert."""

    sli: Sli
    burn: ObjectiveBurn
    alerts: tuple[BurnAlert, ...]
    absent: AlertingRule


@dataclass(frozen=True)
class AlertPlan:
    """The alerts of one spec under one contract and one set of options."""

    spec: Spec
    contract: MetricContract
    """The proxy's contract (the spec's, else the command's): the health alerts'. Each SLI has
    its own (``Sli.contract``)."""
    options: RuleOptions
    slis: tuple[SliPlan, ...]
    health: tuple[AlertingRule, ...]
    slow_request_bound: float | None
    """The bucket boundary the proxy latency alert counts slow requests by (None: the proxy has
    no latency histogram)."""
    windows: tuple[BurnWindow, ...]
    """Every window pair some objective alerts on (what the inhibit rules pair up)."""
    unmeasured: tuple[str, ...] = ()
    """Objectives that get no rules from this contract, each with why (a latency objective for a
    proxy without a latency histogram): judged client-side only, said rather than dropped."""

    @property
    def burns(self) -> tuple[BurnAlert, ...]:
        """Every burn-rate alert, objective by objective."""
        return tuple(alert for planned in self.slis for alert in planned.alerts)

    @property
    def burn_names(self) -> tuple[str, ...]:
        """The burn-rate alerts' names: slogate's two, then the user's own in spec order."""
        names = dict.fromkeys((ERROR_BUDGET_BURN, LATENCY_BUDGET_BURN))
        names.update(dict.fromkeys(burn.rule.alert for burn in self.burns))
        return tuple(names)

    @property
    def tier_labels(self) -> tuple[str, ...]:
        """The labels the burn alerts' tier is in: ``tier``, and ``slogate_tier`` where a user's
        own ``tier`` label took its place."""
        moved = any(MOVED_TIER_LABEL in burn.rule.labels for burn in self.burns)
        return ("tier", MOVED_TIER_LABEL) if moved else ("tier",)


def plan_alerts(
    spec: Spec, contract: MetricContract = DEFAULT_CONTRACT, options: RuleOptions = DEFAULT_OPTIONS
) -> AlertPlan:
    """The alert plan of ``spec``.

    Raises ValueError when the spec cannot be expressed as rules: a latency threshold that is not a
    histogram bucket boundary (the message names the nearest buckets), a spec label that is no
    Prometheus label name, an alert policy condition that can never fire (a lookback longer than
    the SLO period, a factor the bad ratio can never reach). A default tier that cannot fire for an
    objective is left out instead.
    """
    unmeasured = unmeasured_objectives(spec, contract)
    measured = dataclasses.replace(spec, objectives=tuple(
        o for o in spec.objectives if o.name not in unmeasured))
    sli_list = slis(measured, contract, options.buckets)
    proxy = spec_contract(spec, contract)
    buckets = proxy.buckets_s if options.buckets is None else options.buckets
    own_labels = spec_labels(spec)
    planned: list[SliPlan] = []
    problems: list[str] = []
    for sli in sli_list:
        burn = objective_burn(spec, sli.objective, options.windows)
        problems.extend(burn.problems())
        planned.append(SliPlan(
            sli,
            burn,
            burn_alerts(sli, burn, own_labels, options.runbook_base),
            absent_rule(sli, service_labels(spec), options.health.absent_for_s, options.runbook_base),
        ))
    if problems:
        raise ValueError("\n".join(problems))
    slow_bound = slow_request_bound(options.health, buckets if proxy.has_latency else ())
    return AlertPlan(
        spec=spec,
        contract=proxy,
        options=options,
        slis=tuple(planned),
        health=health_rules(spec, proxy, options.health, slow_bound, options.runbook_base),
        slow_request_bound=slow_bound,
        windows=spec_windows(measured, options.windows),
        unmeasured=tuple(f"{name}: {why}" for name, why in unmeasured.items()),
    )


def unmeasured_objectives(spec: Spec, contract: MetricContract) -> dict[str, str]:
    """The objectives their contracts' metrics cannot measure server-side, by name, with why
    (``contract`` is the command's; an objective's own, or the spec's, wins)."""
    derived = {o.name: f"{o.kind} is measured from a load test's stream timings; the metric contract has "
               "no histogram of it, so no server-side SLI: it is judged client-side only"
               for o in spec.objectives if o.kind in DERIVED_LATENCY_KINDS and o.sli is None}
    return derived | {
        o.name: f"{own.label} has no latency histogram, so no server-side latency SLI: it is "
                "judged client-side only (by a load test's own measurements)"
        for o in spec.objectives if isinstance(o, LatencyObjective) and o.sli is None
        and not (own := objective_contract(spec, o, contract)).has_latency
    }
