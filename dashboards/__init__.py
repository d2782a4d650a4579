"""Grafana dashboards as code: authored with grafanalib from an SLO spec and the metric
contracts, written as Grafana JSON models valid against Grafana's dashboard schema.

    from slogate.dashboards import write_dashboards
    write_dashboards(spec, Path("out/dashboards"))
    # -> <service>-proxy-overview.json, <service>-slos.json, <service>-loadtest.json

The definitions are ``proxy_overview.py``, ``slos.py`` and ``loadtest.py``; the
``*.dashboard.py`` files expose them to grafanalib's ``generate-dashboard(s)`` commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slogate.dashboards.loadtest import loadtest_dashboard
from slogate.dashboards.model import SCHEMA_VERSION, GrafanaJson, to_grafana_json
from slogate.dashboards.panels import stable_uid
from slogate.dashboards.proxy_overview import proxy_overview_dashboard
from slogate.dashboards.slos import slos_dashboard
from slogate.slo.bundle import file_stem, write_atomic
from slogate.slo.contract import (
    DEFAULT_CONTRACT,
    DEFAULT_LOADTEST_CONTRACT,
    LoadTestContract,
    MetricContract,
)
from slogate.slo.spec import Spec, spec_contract

__all__ = [
    "DASHBOARD_NAMES",
    "SCHEMA_VERSION",
    "GrafanaJson",
    "build_dashboard",
    "build_dashboards",
    "dashboard_json",
    "loadtest_dashboard",
    "proxy_overview_dashboard",
    "slos_dashboard",
    "stable_uid",
    "write_dashboards",
]

DASHBOARD_NAMES = ("proxy-overview", "slos", "loadtest")


def build_dashboard(
    name: str,
    spec: Spec,
    contract: MetricContract = DEFAULT_CONTRACT,
    loadtest: LoadTestContract = DEFAULT_LOADTEST_CONTRACT,
) -> dict[str, Any]:
    """One dashboard (one of ``DASHBOARD_NAMES``) of ``spec`` as a Grafana JSON model."""
    if name == "proxy-overview":
        return to_grafana_json(proxy_overview_dashboard(spec, spec_contract(spec, contract)))
    if name == "slos":
        return to_grafana_json(slos_dashboard(spec, contract))
    if name == "loadtest":
        return to_grafana_json(loadtest_dashboard(spec, loadtest))
    raise ValueError(f"unknown dashboard {name!r}; expected one of: {', '.join(DASHBOARD_NAMES)}")


def build_dashboards(
    spec: Spec,
    contract: MetricContract = DEFAULT_CONTRACT,
    loadtest: LoadTestContract = DEFAULT_LOADTEST_CONTRACT,
) -> dict[str, dict[str, Any]]:
    """Every dashboard of ``spec`` by name."""
    return {name: build_dashboard(name, spec, contract, loadtest) for name in DASHBOARD_NAMES}


def dashboard_json(model: dict[str, Any]) -> str:
    """Stable text for a model: sorted keys, two-space indent, final newline."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_dashboards(
    spec: Spec,
    out_dir: Path,
    contract: MetricContract = DEFAULT_CONTRACT,
    loadtest: LoadTestContract = DEFAULT_LOADTEST_CONTRACT,
) -> list[Path]:
    """Write every dashboard of ``spec`` into ``out_dir`` (atomically); returns their paths."""
    models = build_dashboards(spec, contract, loadtest)  # all built before any is written
    paths = []
    for name, model in models.items():
        path = out_dir / f"{file_stem(spec.service)}-{name}.json"
        write_atomic(path, dashboard_json(model))
        paths.append(path)
    return paths
