"""Grafana dashboards as code: authored with grafanalib from an SLO spec and the metric contract,
written as Grafana JSON models valid against Grafana's dashboard schema.

    from dashboards import write_dashboards
    write_dashboards(spec, Path("out/dashboards"))   # -> [out/dashboards/<service>-proxy-slo.json]

The definition is ``dashboards/proxy_slo.py``; ``dashboards/proxy_slo.dashboard.py`` exposes it
to grafanalib's ``generate-dashboard`` command for the shipped reference spec.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dashboards.model import SCHEMA_VERSION, GrafanaJson, to_grafana_json
from dashboards.proxy_slo import proxy_slo_dashboard, stable_uid
from slo.bundle import write_atomic
from slo.contract import DEFAULT_CONTRACT, MetricContract
from slo.spec import Spec

__all__ = [
    "SCHEMA_VERSION",
    "GrafanaJson",
    "build_dashboard",
    "dashboard_json",
    "proxy_slo_dashboard",
    "stable_uid",
    "write_dashboards",
]


def build_dashboard(spec: Spec, contract: MetricContract = DEFAULT_CONTRACT) -> dict[str, Any]:
    """The proxy SLO dashboard of ``spec`` as a Grafana JSON model."""
    return to_grafana_json(proxy_slo_dashboard(spec, contract))


def dashboard_json(model: dict[str, Any]) -> str:
    """Stable text for a model: sorted keys, two-space indent, final newline."""
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _file_stem(service: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", service).strip("-.")
    return stem or "service"


def write_dashboards(
    spec: Spec, out_dir: Path, contract: MetricContract = DEFAULT_CONTRACT
) -> list[Path]:
    """Write every dashboard of ``spec`` into ``out_dir`` (atomically); returns their paths."""
    path = out_dir / f"{_file_stem(spec.service)}-proxy-slo.json"
    write_atomic(path, dashboard_json(build_dashboard(spec, contract)))
    return [path]
