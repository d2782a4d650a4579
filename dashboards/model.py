"""grafanalib dashboard -> Grafana JSON model of today's Grafana.

grafanalib (0.7) encodes a dashboard the Grafana 5-7 way: schemaVersion 12, ``rows``, ``style``,
panel ``span`` and ``height``, nulls for unset fields, graph-era target keys. Grafana migrates
that on import, but the dashboard JSON schema rejects it. So the JSON from grafanalib's own
encoder (``DashboardEncoder``) is post-processed here: a modern ``schemaVersion``, legacy keys
dropped, nulls dropped (except a threshold step's ``value``, where null means -Infinity).
"""

from __future__ import annotations

import json
from typing import Any

from grafanalib._gen import DashboardEncoder

SCHEMA_VERSION = 39
"""Grafana 10.4 / 11.0; newer Grafana migrates it up on load."""

_DASHBOARD_LEGACY = frozenset({"__inputs", "rows", "style", "sharedCrosshair", "hideControls"})
_PANEL_LEGACY = frozenset({"editable", "error", "height", "minSpan", "span"})
_ROW_KEEP = frozenset({"type", "collapsed", "title", "datasource", "gridPos", "id", "panels",
                       "repeat"})
_TARGET_LEGACY = frozenset({"query", "target", "metric", "step", "intervalFactor"})
_VARIABLE_LEGACY = frozenset({"useTags", "tagsQuery", "tagValuesQuery"})
_TIMEPICKER_LEGACY = frozenset({"time_options"})


def encode(grafanalib_object: Any) -> Any:
    """Plain JSON data from any grafanalib object, through grafanalib's encoder."""
    return json.loads(json.dumps(grafanalib_object, cls=DashboardEncoder))


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        threshold_step = "color" in value and "value" in value
        return {
            key: _drop_nulls(item)
            for key, item in value.items()
            if item is not None or (threshold_step and key == "value")
        }
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


def _panel(panel: dict[str, Any]) -> dict[str, Any]:
    if panel.get("type") == "row":
        row = {k: v for k, v in panel.items() if k in _ROW_KEEP}
        row["panels"] = [_panel(p) for p in row.get("panels", [])]
        return row
    cleaned = {k: v for k, v in panel.items() if k not in _PANEL_LEGACY}
    if not cleaned.get("repeat"):
        for key in ("repeat", "repeatDirection", "maxPerRow"):
            cleaned.pop(key, None)
    if cleaned.get("interval") == "":
        cleaned.pop("interval")
    cleaned["targets"] = [_target(t) for t in cleaned.get("targets", [])]
    return cleaned


def _target(target: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in target.items() if k not in _TARGET_LEGACY}
    if cleaned.get("interval") == "":
        cleaned.pop("interval")
    return cleaned


def _variable(variable: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in variable.items() if k not in _VARIABLE_LEGACY}
    if cleaned.get("type") != "interval":
        for key in ("auto", "auto_min", "auto_count"):
            cleaned.pop(key, None)
    current = cleaned.get("current")
    if isinstance(current, dict):
        current = {k: v for k, v in current.items() if k != "tags"}
        if "text" not in current or "value" not in current:
            cleaned.pop("current")
        else:
            if current["value"] == "$__all":
                current["text"] = "All"
            cleaned["current"] = current
    return cleaned


def modernize(model: dict[str, Any]) -> dict[str, Any]:
    """grafanalib's JSON as a schema-valid model of current Grafana (see module doc)."""
    data = _drop_nulls(model)
    dashboard = {k: v for k, v in data.items() if k not in _DASHBOARD_LEGACY}
    dashboard["schemaVersion"] = SCHEMA_VERSION
    dashboard["panels"] = [_panel(p) for p in dashboard.get("panels", [])]
    templating = dashboard.get("templating", {})
    templating["list"] = [_variable(v) for v in templating.get("list", [])]
    dashboard["templating"] = templating
    if "timepicker" in dashboard:
        dashboard["timepicker"] = {
            k: v for k, v in dashboard["timepicker"].items() if k not in _TIMEPICKER_LEGACY
        }
    return dashboard


def to_grafana_json(dashboard: Any) -> dict[str, Any]:
    """A grafanalib ``Dashboard`` as the Grafana JSON model (a dict)."""
    encoded = encode(dashboard)
    if not isinstance(encoded, dict):
        raise TypeError(f"expected a grafanalib Dashboard, got {type(dashboard).__name__}")
    return modernize(encoded)


class GrafanaJson:
    """Holds a finished model; ``to_json_data`` is all grafanalib's ``generate-dashboard`` needs,
    so its CLI writes the same modern JSON as ``dashboards.write_dashboards``."""

    def __init__(self, model: dict[str, Any]) -> None:
        self.model = model

    def to_json_data(self) -> dict[str, Any]:
        return self.model
