"""The proxy SLO dashboard, authored with grafanalib: a "Proxy RED" row and an "SLOs" row.

``proxy_slo_dashboard(spec, contract)`` returns a grafanalib ``Dashboard``; ``dashboards``
turns it into the Grafana JSON model. Every name and label comes from the metric contract.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grafanalib.core import (
    Annotations,
    Dashboard,
    GridPos,
    RowPanel,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

from dashboards import queries as q
from slo import promql
from slo.contract import DEFAULT_CONTRACT, MetricContract
from slo.spec import AvailabilityObjective, LatencyObjective, Objective, Spec
from slo.units import format_duration, format_ratio

GRID_COLUMNS = 24
PANEL_HEIGHT = 8
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": f"${{{q.DATASOURCE_VARIABLE}}}"}
PAGE_BUDGET_SHARE_1H = 0.02  # the workbook's fast-burn page: 2% of the budget within 1h

BUILT_IN_ANNOTATIONS: dict[str, Any] = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def stable_uid(service: str, dashboard: str) -> str:
    """A UID that is the same on every build for the same service and dashboard (<= 40 chars)."""
    digest = hashlib.sha256(f"{service}\x00{dashboard}".encode()).hexdigest()
    return f"slogate-{digest[:12]}"


@dataclass
class _Grid:
    """Lays panels out left to right on Grafana's 24-column grid, wrapping to new lines."""

    y: int = 0
    x: int = 0
    line_height: int = 0
    next_id: int = 1
    panels: list[Any] = field(default_factory=list)

    def _id(self) -> int:
        panel_id = self.next_id
        self.next_id += 1
        return panel_id

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(RowPanel(
            title=title, id=self._id(), gridPos=GridPos(h=1, w=GRID_COLUMNS, x=0, y=self.y)
        ))
        self.y += 1

    def add(self, width: int, panel: Any) -> None:
        if self.x + width > GRID_COLUMNS:
            self._newline()
        panel.id = self._id()
        panel.gridPos = GridPos(h=PANEL_HEIGHT, w=width, x=self.x, y=self.y)
        self.panels.append(panel)
        self.x += width
        self.line_height = max(self.line_height, PANEL_HEIGHT)

    def _newline(self) -> None:
        self.y += self.line_height
        self.x = 0
        self.line_height = 0


def _targets(*queries: tuple[str, str]) -> list[Target]:
    return [
        Target(expr=expr, legendFormat=legend, refId=chr(ord("A") + index), datasource=DATASOURCE)
        for index, (expr, legend) in enumerate(queries)
    ]


def _timeseries(
    title: str,
    description: str,
    unit: str,
    targets: Sequence[tuple[str, str]],
    thresholds: Sequence[tuple[float | None, str]] = ((None, "green"),),
    threshold_lines: bool = False,
) -> TimeSeries:
    return TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(*targets),
        unit=unit,
        thresholds=[{"color": color, "value": value} for value, color in thresholds],
        thresholdsStyleMode="dashed" if threshold_lines else "off",
        legendDisplayMode="list",
        tooltipMode="multi",
        maxDataPoints=None,
    )


def _red_panels(c: MetricContract) -> list[TimeSeries]:
    route = f"{{{{{c.route_label}}}}}"
    quantiles = [
        (q.latency_quantile_by_route(c, quantile), f"{route} p{quantile * 100:g}")
        for quantile in q.LATENCY_QUANTILES
    ]
    return [
        _timeseries(
            "Request rate by route",
            "Requests per second the proxy answered, per route (all statuses).",
            "reqps",
            [(q.request_rate_by_route(c), route)],
        ),
        _timeseries(
            "Error ratio by status class",
            "Share of all requests (of the selected routes) answered with a 4xx or a 5xx status, "
            "per status class. The SLOs count as failures only what the metric contract's "
            f"error matcher selects ({c.status_label}{c.error_status_matcher}).",
            "percentunit",
            [(q.error_ratio_by_status_class(c), f"{{{{{q.STATUS_CLASS_LABEL}}}}}")],
        ),
        _timeseries(
            "Latency p50 / p95 / p99 by route",
            "Server-side request latency percentiles per route, estimated from the histogram "
            "buckets (all statuses), so only as precise as the bucket boundaries.",
            "s",
            quantiles,
        ),
        _timeseries(
            "Active requests",
            "Requests in flight in the proxy (the active-requests gauge, summed over instances).",
            "short",
            [(q.active_requests(c), "in flight")],
        ),
        _timeseries(
            "Cache hit ratio",
            "Cache hits over cache lookups (hits and misses). Requests that bypass the cache, "
            "being uncacheable, are left out.",
            "percentunit",
            [(q.cache_hit_ratio(c), "hit ratio")],
        ),
        _timeseries(
            "Upstream errors",
            "Failed requests from the proxy to its upstreams (connection errors, timeouts, 5xx "
            "answers), per second.",
            "reqps",
            [(q.upstream_error_rate(c), "errors/s")],
        ),
    ]


def _objective_target(objective: Objective) -> str:
    if isinstance(objective, LatencyObjective):
        return f"p{objective.percentile:g} <= {format_duration(objective.threshold_s)}"
    if isinstance(objective, AvailabilityObjective):
        return f"availability >= {format_ratio(objective.target)}"
    return f"error ratio <= {format_ratio(objective.max_ratio)}"


def _where(objective: Objective) -> str:
    return objective.endpoint or "all endpoints"


def _sli_panel(objective: Objective, c: MetricContract) -> TimeSeries:
    where = _where(objective)
    goal = _objective_target(objective)
    if isinstance(objective, LatencyObjective):
        label = f"p{objective.percentile:g}"
        return _timeseries(
            f"{objective.name}: {goal}",
            f"The {label} latency of successful requests to {where} (failures are judged by the "
            f"ratio objectives), against the objective's {format_duration(objective.threshold_s)}.",
            "s",
            [(q.objective_latency(objective, c), label),
             (q.constant(objective.threshold_s), "objective")],
        )
    if isinstance(objective, AvailabilityObjective):
        return _timeseries(
            f"{objective.name}: {goal}",
            f"Share of requests to {where} that did not fail, against the objective's target.",
            "percentunit",
            [(q.objective_availability(objective, c), "availability"),
             (q.constant(objective.target), "objective")],
        )
    return _timeseries(
        f"{objective.name}: {goal}",
        f"Share of requests to {where} that failed, against the objective's maximum.",
        "percentunit",
        [(q.objective_error_ratio(objective, c), "error ratio"),
         (q.constant(objective.max_ratio), "objective")],
    )


def _burn_panel(objective: Objective, spec: Spec) -> TimeSeries:
    period = promql.period_s(objective, spec)
    page = float(promql.number(PAGE_BUDGET_SHARE_1H * period / 3600.0))
    return _timeseries(
        f"{objective.name}: burn rate (1h)",
        f"How many times faster than the {format_duration(period)} period allows the error "
        f"budget went over the last hour: 1 spends it exactly in the period, {promql.number(page)} "
        f"spends {format_ratio(PAGE_BUDGET_SHARE_1H)} of it within an hour (the page threshold). "
        "Read from slogate's recording rules: load the rules from `slogate alerts` into "
        "Prometheus.",
        "suffix:×",
        [(q.burn_rate_1h(objective, spec.service), "1h burn rate")],
        thresholds=((None, "green"), (1.0, "orange"), (page, "red")),
        threshold_lines=True,
    )


def proxy_slo_dashboard(spec: Spec, contract: MetricContract = DEFAULT_CONTRACT) -> Dashboard:
    """The grafanalib dashboard of a spec's proxy and its objectives."""
    grid = _Grid()
    grid.row("Proxy RED")
    for panel in _red_panels(contract):
        grid.add(8, panel)
    grid.row("SLOs")
    for objective in spec.objectives:
        burn = promql.allowed_bad_ratio(objective) > 0.0
        grid.add(12 if burn else GRID_COLUMNS, _sli_panel(objective, contract))
        if burn:
            grid.add(12, _burn_panel(objective, spec))

    count = f"{contract.request_duration}_count"
    variables = [
        Template(
            name=q.DATASOURCE_VARIABLE,
            label="Data source",
            type="datasource",
            query="prometheus",
        ),
        Template(
            name=q.ROUTE_VARIABLE,
            label="Route",
            type="query",
            dataSource=DATASOURCE,
            query=f"label_values({q.selector(count, contract)}, {contract.route_label})",
            includeAll=True,
            multi=True,
            allValue=".*",
            default="$__all",
            refresh=2,
        ),
    ]
    return Dashboard(
        title=f"{spec.service}: proxy and SLOs",
        description=spec.description or f"Proxy health and SLOs of {spec.service} (slogate).",
        uid=stable_uid(spec.service, "proxy-slo"),
        tags=["slogate", spec.service],
        timezone="browser",
        time=Time("now-1h", "now"),
        refresh="30s",
        graphTooltip=1,
        annotations=Annotations([BUILT_IN_ANNOTATIONS]),
        templating=Templating(variables),
        panels=grid.panels,
    )
