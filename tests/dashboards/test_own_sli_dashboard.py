"""The SLO dashboard of SLIs the user wrote in their own PromQL shows those queries (their metric
names and matchers, Sloth's window as Grafana's rate interval), never the metric contract's."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from slogate.dashboards import build_dashboard
from slogate.slo.specfile.load import parse_spec
from tests.alerts.test_own_sli_alerts import OPENSLO, PYRRA, SLOTH
from tests.dashboards.test_dashboard_model import exprs

CONTRACT_HISTOGRAM = "http_server_request_duration_seconds"


def _sli_exprs(text: str, source: str) -> tuple[dict[str, Any], list[str]]:
    model = build_dashboard("slos", parse_spec(text, source))
    return model, [e for _, e in exprs(model) if "slogate:" not in e and not e.startswith("vector(")]


def test_sloth_sli_panel_reads_the_users_queries() -> None:
    _, queries = _sli_exprs(SLOTH, "sloth.yaml")
    assert queries and all(CONTRACT_HISTOGRAM not in q for q in queries)
    assert any('http_requests_total{job="api", verb!="WATCH", code=~"(5..|429)"}[$__rate_interval]' in q
               for q in queries)


def test_pyrra_latency_panel_is_the_users_histogram() -> None:
    _, queries = _sli_exprs(PYRRA, "pyrra.yaml")
    assert ('histogram_quantile(0.99, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket'
            '{handler=~"/api/v1/query(_range)?"}[$__rate_interval])))') in queries
    assert all(CONTRACT_HISTOGRAM not in q for q in queries)


def test_own_sli_dashboards_are_valid_and_parse(
    schema: dict[str, Any], promtool: str, tmp_path: Path,
) -> None:
    rules = []
    for index, (text, source) in enumerate(((SLOTH, "sloth.yaml"), (PYRRA, "pyrra.yaml"),
                                            (OPENSLO, "openslo.yaml"))):
        model, _ = _sli_exprs(text, source)
        assert not list(jsonschema.Draft7Validator(schema).iter_errors(model))
        rules.extend({"record": f"own:dashboard{index}:panel_{ref}",
                      "expr": expr.replace("$__rate_interval", "5m")} for ref, expr in exprs(model))
    path = tmp_path / "queries.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
