"""The dashboard JSON: valid against Grafana's schema, complete panels, PromQL that parses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import alerts
from dashboards import SCHEMA_VERSION, build_dashboard, stable_uid, write_dashboards
from slo.contract import DEFAULT_CONTRACT
from slo.loader import parse_spec
from slo.spec import Spec

REPO = Path(__file__).resolve().parents[2]
SCHEMA_ENV = "SLOGATE_GRAFANA_SCHEMA"
DEFAULT_SCHEMA = Path(__file__).parents[2].parent / "shared" / "grafana" / "dashboard.schema.json"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_VARIABLE = re.compile(r"\$\{?(route|datasource)\}?")


@pytest.fixture(scope="session")
def schema() -> dict[str, Any]:
    path = Path(os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA)
    if not path.is_file():
        pytest.fail(
            f"Grafana's dashboard JSON schema is missing at {path}: put dashboard.schema.json "
            f"there (shared/grafana/ beside the repository) or name it with {SCHEMA_ENV}"
        )
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="session")
def dashboard(reference_spec: Spec) -> dict[str, Any]:
    return build_dashboard(reference_spec)


def _panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every non-row panel, including those inside collapsed rows."""
    for panel in model["panels"]:
        if panel["type"] == "row":
            yield from panel["panels"]
        else:
            yield panel


def _exprs(model: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f"{p['id']}{t['refId']}", t["expr"]) for p in _panels(model) for t in p["targets"]]


def test_valid_against_grafana_schema(schema: dict[str, Any], dashboard: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(dashboard), key=str)
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20]
    )
    assert dashboard["schemaVersion"] == SCHEMA_VERSION >= 39


def test_every_panel_is_complete(dashboard: dict[str, Any]) -> None:
    panels = list(_panels(dashboard))
    assert len(panels) == 6 + 2 * 5  # six RED panels; SLI and burn rate per objective
    for panel in panels:
        assert panel["title"].strip(), panel
        assert panel["description"].strip(), panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_rows(dashboard: dict[str, Any]) -> None:
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Proxy RED", "SLOs"]


def test_every_range_is_the_rate_interval(dashboard: dict[str, Any]) -> None:
    rates = 0
    for ref, expr in _exprs(dashboard):
        code = _STRING.sub('""', expr)  # regexes such as "[45].." are no range selectors
        for window in re.findall(r"\[([^\]]*)\]", code):
            assert window == "$__rate_interval", (ref, expr)
        rates += len(re.findall(r"\brate\(", code))
        assert "irate(" not in code and "increase(" not in code, (ref, expr)
    assert rates >= 10


def test_variables(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    route = variables["route"]
    assert route["type"] == "query"
    assert route["query"] == "label_values(http_server_request_duration_seconds_count, http_route)"
    assert route["includeAll"] and route["multi"] and route["allValue"] == ".*"
    by_route = {"Request rate by route", "Error ratio by status class",
                "Latency p50 / p95 / p99 by route"}
    filtered = [p for p in _panels(dashboard) if p["title"] in by_route]
    assert len(filtered) == 3
    assert all('http_route=~"$route"' in t["expr"] for p in filtered for t in p["targets"])


def test_uids_are_stable(reference_spec: Spec, dashboard: dict[str, Any]) -> None:
    again = build_dashboard(reference_spec)
    assert again == dashboard
    assert dashboard["uid"] == stable_uid("reference-proxy", "proxy-slo")
    assert 8 <= len(dashboard["uid"]) <= 40
    other = parse_spec("service: other\nobjectives:\n  - {name: a, kind: availability, target: 99%}\n")
    assert build_dashboard(other)["uid"] != dashboard["uid"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)


def test_grid_layout(dashboard: dict[str, Any]) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


def test_burn_panels_read_rules_that_alerts_record(
    reference_spec: Spec, dashboard: dict[str, Any]
) -> None:
    recorded = {
        (rule["record"], rule["labels"]["slo"])
        for group in alerts.build_rules(reference_spec)["groups"]
        for rule in group["rules"] if "record" in rule
    }
    burns = [t["expr"] for p in _panels(dashboard) if "burn rate" in p["title"]
             for t in p["targets"]]
    assert len(burns) == len(reference_spec.objectives)
    for expr in burns:
        match = re.match(r'(slogate:[a-z_]+:rate1h)\{slo="([^"]+)", service="reference-proxy"\}', expr)
        assert match, expr
        assert (match.group(1), match.group(2)) in recorded


def test_exact_constants(dashboard: dict[str, Any]) -> None:
    text = json.dumps(dashboard)
    assert "vector(0.99)" in text and "vector(0.25)" in text and "/\\n0.01" in text
    assert not re.search(r"\d\.\d*(0000000|9999999)", text)


def test_names_come_from_the_contract(reference_spec: Spec) -> None:
    contract = DEFAULT_CONTRACT.with_overrides({
        "request_duration": "rq_seconds", "route_label": "route", "method_label": "method",
        "status_label": "code", "active_requests": "inflight", "cache_requests": "cache_total",
        "cache_result_label": "outcome", "upstream_errors": "up_errors_total",
        "selector": 'job="edge"',
    })
    text = json.dumps(build_dashboard(reference_spec, contract))
    for default in ("http_server", "http_route", "http_request_method", "http_response_status",
                    "proxy_cache", "proxy_upstream", '"result'):
        assert default not in text
    assert 'rq_seconds_count{job=\\"edge\\", route=~\\"$route\\"}' in text
    assert 'cache_total{job=\\"edge\\", outcome=\\"hit\\"}' in text


def test_promql_parses(promtool: str, dashboard: dict[str, Any], tmp_path: Path) -> None:
    """Each panel query, with Grafana's variables filled in, as a recording rule for promtool."""
    rules = []
    for ref, expr in _exprs(dashboard):
        concrete = _VARIABLE.sub(".*", expr.replace("$__rate_interval", "5m"))
        assert "$__" not in concrete, expr
        rules.append({"record": f"slogate_dashboard:panel_{ref}", "expr": concrete})
    path = tmp_path / "dashboard-queries.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}),
                    encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_write_dashboards(reference_spec: Spec, tmp_path: Path) -> None:
    paths = write_dashboards(reference_spec, tmp_path / "dashboards")
    assert paths == [tmp_path / "dashboards" / "reference-proxy-proxy-slo.json"]
    assert json.loads(paths[0].read_text(encoding="utf-8")) == build_dashboard(reference_spec)
    assert sorted(p.name for p in paths[0].parent.iterdir()) == [paths[0].name]


def test_grafanalib_generate_dashboard_cli(
    reference_spec: Spec, schema: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "generated.json"
    script = ("import sys; from grafanalib._gen import generate_dashboard; "
              "sys.exit(generate_dashboard(sys.argv[1:]))")
    result = subprocess.run(
        [sys.executable, "-c", script, "-o", str(out),
         str(REPO / "dashboards" / "proxy_slo.dashboard.py")],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    generated = json.loads(out.read_text(encoding="utf-8"))
    assert generated == build_dashboard(reference_spec)
    jsonschema.validate(generated, schema, cls=jsonschema.Draft7Validator)


def test_zero_budget_objective_has_no_burn_panel(schema: dict[str, Any]) -> None:
    spec = parse_spec("service: s\nobjectives:\n  - {name: none, kind: error_ratio, max: 0%}\n")
    model = build_dashboard(spec)
    slo_panels = [p for p in _panels(model) if p["title"].startswith("none:")]
    assert [p["gridPos"]["w"] for p in slo_panels] == [24]
    jsonschema.validate(model, schema, cls=jsonschema.Draft7Validator)
