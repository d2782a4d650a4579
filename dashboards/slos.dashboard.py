"""grafanalib entry point:
``generate-dashboard -o slos.json dashboards/slos.dashboard.py``.

Builds the slos dashboard for the shipped reference spec (or the spec file named by the
SLOGATE_SPEC environment variable) with the default metric contracts. ``dashboard`` is the
finished Grafana JSON model (schema-valid, as ``slogate dashboards`` writes it), wrapped so
grafanalib's generators can write it.
"""

from __future__ import annotations

import os
from pathlib import Path

from slogate.dashboards import GrafanaJson, build_dashboard
from slogate.slo.specfile.load import load_spec

_REFERENCE_SPEC = Path(__file__).resolve().parents[1] / "slogate" / "specs" / "reference.yaml"

dashboard = GrafanaJson(
    build_dashboard("slos", load_spec(os.environ.get("SLOGATE_SPEC", _REFERENCE_SPEC)))
)
