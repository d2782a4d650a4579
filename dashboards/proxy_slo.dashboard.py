"""grafanalib entry point: ``generate-dashboard -o proxy-slo.json dashboards/proxy_slo.dashboard.py``.

Builds the proxy SLO dashboard for the shipped reference spec (or the spec file named by the
SLOGATE_SPEC environment variable) with the default metric contract. ``dashboard`` is the finished
Grafana JSON model (schema-valid, like ``slogate dashboards`` writes), wrapped so grafanalib's
generator can write it; the grafanalib object itself is in ``dashboards.proxy_slo``.
"""

from __future__ import annotations

import os
from pathlib import Path

from dashboards import GrafanaJson, build_dashboard
from slo.loader import load_spec

_REFERENCE_SPEC = Path(__file__).resolve().parents[1] / "slogate" / "specs" / "reference.yaml"

dashboard = GrafanaJson(build_dashboard(load_spec(os.environ.get("SLOGATE_SPEC", _REFERENCE_SPEC))))
