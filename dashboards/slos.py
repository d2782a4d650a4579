"""The SLO dashboard: a row per objective with its SLI against the target, the error budget
left over the SLO period, the burn rate over every alert window, and which burn-rate alerts
would fire now (the alert's own condition, from slogate's recording rules)."""

from __future__ import annotations

from grafanalib.core import Dashboard

from slogate.dashboards import queries as q
from slogate.dashboards.panels import Grid, dashboard, datasource_variable, stable_uid, stat, timeseries
from slogate.slo import burn, promql, query_sli
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.sli import HistogramLatency
from slogate.slo.spec import (
    DERIVED_LATENCY_KINDS,
    AvailabilityObjective,
    LatencyObjective,
    Objective,
    Spec,
    objective_contract,
    spec_contract,
)
from slogate.slo.units import format_duration, format_ratio

DASHBOARD = "slos"
FIRING_MAPPINGS = [{
    "type": "value",
    "options": {"0": {"text": "quiet", "color": "green", "index": 0},
                "1": {"text": "FIRING", "color": "red", "index": 1}},
}]


def objective_goal(objective: Objective) -> str:
    if isinstance(objective, LatencyObjective):
        return f"p{objective.percentile:g} <= {format_duration(objective.threshold_s)}"
    if isinstance(objective, AvailabilityObjective):
        return f"availability >= {format_ratio(objective.target)}"
    return f"error ratio <= {format_ratio(objective.max_ratio)}"


def _milliseconds(objective: LatencyObjective, c: MetricContract) -> bool:
    """Whether the objective's histogram (its own, else the contract's) counts milliseconds (its
    quantiles are then in ms)."""
    if objective.sli is None:
        return c.duration_unit == "ms"
    try:
        sli = query_sli.ratio_sli(objective.sli) if objective.sli is not None else None
    except query_sli.UnsupportedSli:
        return False
    return isinstance(sli, HistogramLatency) and sli.unit == "ms"


def _sli_panel(objective: Objective, c: MetricContract) -> object:
    where = objective.endpoint or ("the series of the SLO's own queries" if objective.sli is not None
                                   else "all endpoints")
    if isinstance(objective, LatencyObjective):
        label = f"p{objective.percentile:g}"
        what = (f"The {label} of the SLO's own latency histogram (its series as written)"
                if objective.sli is not None else f"The {label} latency of successful requests to "
                f"{where} (failures are judged by the ratio objectives)")
        unit, threshold = (("ms", objective.threshold_s * 1000.0) if _milliseconds(objective, c)
                           else ("s", objective.threshold_s))
        return timeseries(
            f"{objective.name}: SLI",
            f"{what}, against the objective's {format_duration(objective.threshold_s)}.",
            unit, [(q.objective_latency(objective, c), label), (q.constant(threshold), "objective")],
        )
    if isinstance(objective, AvailabilityObjective):
        return timeseries(
            f"{objective.name}: SLI",
            f"Share of requests to {where} that did not fail, against the objective's target.",
            "percentunit", [(q.objective_availability(objective, c), "availability"),
                            (q.constant(objective.target), "objective")],
        )
    return timeseries(
        f"{objective.name}: SLI",
        f"Share of requests to {where} that failed, against the objective's maximum.",
        "percentunit", [(q.objective_error_ratio(objective, c), "error ratio"),
                        (q.constant(objective.max_ratio), "objective")],
    )


def slos_dashboard(spec: Spec, given: MetricContract = DEFAULT_CONTRACT) -> Dashboard:
    """The SLO dashboard; each objective's queries are of its own contract (the objective's, the
    spec's, else ``given``), its matchers included."""
    grid = Grid()
    contracts = {o.name: objective_contract(spec, o, given) for o in spec.objectives}
    # Latency objectives a proxy without a latency histogram cannot measure have no SLI and no
    # rules here: they are judged client-side only (the description says which).
    unmeasured = [o.name for o in spec.objectives if isinstance(o, LatencyObjective) and o.sli is None
                  and (not contracts[o.name].has_latency or o.kind in DERIVED_LATENCY_KINDS)]
    for objective in spec.objectives:
        if objective.name in unmeasured:
            continue
        grid.row(f"{objective.name}: {objective_goal(objective)}")
        budget = burn.objective_burn(spec, objective)
        allowed, period, active = budget.allowed_bad_ratio, budget.period_s, budget.active
        if allowed <= 0.0:  # no budget: no burn rate or budget to show
            grid.add(24, _sli_panel(objective, contracts[objective.name]))
            continue
        grid.add(7 if active else 10, _sli_panel(objective, contracts[objective.name]))
        grid.add(4, stat(
            f"{objective.name}: error budget left",
            f"Share of the error budget ({format_ratio(allowed)} bad events) left over the "
            f"{format_duration(period)} SLO period, from the recorded bad-event ratio over the "
            "period; negative once overspent. Needs the rules of `slogate alerts` loaded.",
            "percentunit", [(promql.budget_remaining(objective, spec.service, period, allowed), "left")],
            thresholds=((None, "red"), (0.0, "orange"), (0.25, "green")),
        ))
        windows = sorted({s for a in active for s in (a.window.long_s, a.window.short_s)})
        page = [a for a in active if a.window.tier == "page"]
        lines: tuple[tuple[float | None, str], ...] = ((None, "green"), (1.0, "orange"))
        if page:
            lines = (*lines, (page[0].factor, "red"))
        grid.add(7 if active else 10, timeseries(
            f"{objective.name}: burn rate",
            "How many times faster than the period allows the error budget burns, over each "
            "alert window (1 spends it exactly in the period"
            + (f"; {promql.number(page[0].factor)} pages" if page else "") + "). From "
            "slogate's recording rules.",
            "suffix:×",
            [(promql.burn_rate(objective, spec.service, w, allowed), promql.duration(w))
             for w in (windows or [3600.0])],
            thresholds=lines, threshold_lines=True,
        ))
        if active:
            grid.add(6, stat(
                f"{objective.name}: burn-rate alerts",
                "Whether each burn-rate alert's condition holds now (both its long and short "
                "window over the threshold), as the generated alert rules compute it; "
                "Alertmanager sees it once the condition has held through the evaluation.",
                "none",
                [(promql.burn_condition(objective, spec.service, a.window.long_s,
                                        a.window.short_s, a.threshold),
                  f"{a.window.tier} {a.window.long}/{a.window.short} > "
                  f"{promql.number(a.factor)}×") for a in active],
                thresholds=((None, "green"), (1.0, "red")), mappings=FIRING_MAPPINGS,
            ))
    return dashboard(
        title=f"{spec.service}: SLOs",
        description=(spec.description or f"SLOs and error budgets of {spec.service} (slogate).")
        + (f" Judged client-side only (no histogram of theirs in "
           f"{spec_contract(spec, given).label}'s metrics): "
           f"{', '.join(unmeasured)}." if unmeasured else ""),
        uid=stable_uid(spec.service, DASHBOARD),
        tags=["slogate", spec.service, "slo"],
        variables=[datasource_variable()],
        grid=grid,
    )
