"""Building blocks shared by the three dashboards: the grid, panels, variables, the dashboard.

Every panel gets a title, a description, a unit and the ``${datasource}`` data source; the grid
lays panels left to right on Grafana's 24 columns under rows.
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
    Stat,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

GRID_COLUMNS = 24
PANEL_HEIGHT = 8
DATASOURCE_VARIABLE = "datasource"
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}

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
class Grid:
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


def targets(*queries: tuple[str, str]) -> list[Target]:
    return [
        Target(expr=expr, legendFormat=legend, refId=chr(ord("A") + index), datasource=DATASOURCE)
        for index, (expr, legend) in enumerate(queries)
    ]


def timeseries(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[tuple[str, str]],
    thresholds: Sequence[tuple[float | None, str]] = ((None, "green"),),
    threshold_lines: bool = False,
) -> TimeSeries:
    return TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=targets(*queries),
        unit=unit,
        thresholds=[{"color": color, "value": value} for value, color in thresholds],
        thresholdsStyleMode="dashed" if threshold_lines else "off",
        legendDisplayMode="list",
        tooltipMode="multi",
        maxDataPoints=None,
    )


def stat(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[tuple[str, str]],
    thresholds: Sequence[tuple[float | None, str]],
    mappings: Sequence[dict[str, Any]] = (),
) -> Stat:
    return Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=targets(*queries),
        format=unit,
        reduceCalc="lastNotNull",
        graphMode="none",
        colorMode="background",
        thresholds=[{"color": color, "value": value} for value, color in thresholds],
        mappings=list(mappings),
        maxDataPoints=None,
    )


def datasource_variable() -> Template:
    return Template(name=DATASOURCE_VARIABLE, label="Data source", type="datasource",
                    query="prometheus")


def label_variable(name: str, label: str, metric_selector: str, label_name: str) -> Template:
    """A multi-value filter on ``label_name`` of ``metric_selector``, 'All' (``.*``) by default."""
    return Template(
        name=name,
        label=label,
        type="query",
        dataSource=DATASOURCE,
        query=f"label_values({metric_selector}, {label_name})",
        includeAll=True,
        multi=True,
        allValue=".*",
        default="$__all",
        refresh=2,
    )


def dashboard(
    *, title: str, description: str, uid: str, tags: Sequence[str], variables: Sequence[Template],
    grid: Grid,
) -> Dashboard:
    return Dashboard(
        title=title,
        description=description,
        uid=uid,
        tags=list(tags),
        timezone="browser",
        time=Time("now-1h", "now"),
        refresh="30s",
        graphTooltip=1,
        annotations=Annotations([BUILT_IN_ANNOTATIONS]),
        templating=Templating(list(variables)),
        panels=grid.panels,
    )
