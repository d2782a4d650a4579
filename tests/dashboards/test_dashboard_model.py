"""The three dashboards' JSON: valid against Grafana's schema, complete panels, variables,
layout, stable UIDs, names from the contracts, PromQL that parses (promtool)."""

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

from slogate import alerts
from slogate.dashboards import (
    DASHBOARD_NAMES,
    SCHEMA_VERSION,
    build_dashboard,
    build_dashboards,
    stable_uid,
    write_dashboards,
)
from slogate.slo.contract import DEFAULT_LOADTEST_CONTRACT, contracts_from_mapping
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import parse_spec

REPO = Path(__file__).resolve().parents[2]
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_VARIABLE = re.compile(r"\$\{?(route|method|instance|endpoint|datasource)\}?")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@pytest.fixture(scope="session")
def models(reference_spec: Spec) -> dict[str, dict[str, Any]]:
    return build_dashboards(reference_spec)


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every non-row panel, including those inside collapsed rows."""
    for panel in model["panels"]:
        if panel["type"] == "row":
            yield from panel["panels"]
        else:
            yield panel


def exprs(model: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f"{p['id']}{t['refId']}", t["expr"]) for p in panels(model) for t in p["targets"]]


def test_three_dashboards(models: dict[str, dict[str, Any]]) -> None:
    assert tuple(models) == DASHBOARD_NAMES == ("proxy-overview", "slos", "loadtest")


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_valid_against_grafana_schema(
    schema: dict[str, Any], models: dict[str, dict[str, Any]], name: str
) -> None:
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(models[name]), key=str)
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20]
    )
    assert models[name]["schemaVersion"] == SCHEMA_VERSION >= 39
    for legacy in ("rows", "style", "__inputs"):
        assert legacy not in models[name]


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_every_panel_is_complete(models: dict[str, dict[str, Any]], name: str) -> None:
    for panel in panels(models[name]):
        assert panel["title"].strip(), panel
        assert panel["description"].strip(), panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"] == DATASOURCE
        assert panel["datasource"] == DATASOURCE


def test_proxy_overview_panels(models: dict[str, dict[str, Any]]) -> None:
    model = models["proxy-overview"]
    titles = [p["title"] for p in panels(model)]
    assert titles == [
        "Request rate by route", "Error ratio by status class", "Latency p50 / p95 / p99 by route",
        "Upstream latency p50 / p95 / p99", "Upstream errors by reason", "Circuit breaker state",
        "Cache hit ratio", "Rate-limited requests by route", "LLM tokens by type",
        "In-flight requests", "Time to first token p50 / p95 / p99",
        "Time per output token p50 / p95 / p99", "Output tokens per second",
        "Streams within the TTFT / TPOT limits",
    ]
    rows = [p["title"] for p in model["panels"] if p["type"] == "row"]
    assert len(rows) == 4


def test_slo_panels_per_objective(reference_spec: Spec, models: dict[str, dict[str, Any]]) -> None:
    model = models["slos"]
    rows = [p["title"] for p in model["panels"] if p["type"] == "row"]
    assert rows[0] == "messages-p95: p95 <= 250ms" and len(rows) == len(reference_spec.objectives)
    titles = {p["title"] for p in panels(model)}
    for objective in reference_spec.objectives:
        for part in ("SLI", "error budget left", "burn rate"):
            assert f"{objective.name}: {part}" in titles
    availability = {p["title"]: p for p in panels(model)}["availability: burn-rate alerts"]
    legends = [t["legendFormat"] for t in availability["targets"]]
    assert legends == ["page 1h/5m > 14.4×", "page 6h/30m > 6×", "ticket 1d/2h > 3×",
                       "ticket 3d/6h > 1×"]
    assert "> bool 0.144" in availability["targets"][0]["expr"]
    burn = {p["title"]: p for p in panels(model)}["availability: burn rate"]
    assert [t["legendFormat"] for t in burn["targets"]] == [
        "5m", "30m", "1h", "2h", "6h", "1d", "3d"
    ]


def test_loadtest_panels_read_the_loadtest_contract(models: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(models["loadtest"])
    lt = DEFAULT_LOADTEST_CONTRACT
    for metric in (lt.users, lt.target_users, lt.target_rate, lt.request_duration, lt.failures,
                   lt.dispatch_late, lt.dispatch_dropped, lt.generator_cpu):
        assert metric in text


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_every_range_is_the_rate_interval(models: dict[str, dict[str, Any]], name: str) -> None:
    for ref, expr in exprs(models[name]):
        code = _STRING.sub('""', expr)  # regexes such as "[45].." are no range selectors
        for window in re.findall(r"\[([^\]]*)\]", code):
            assert window == "$__rate_interval", (ref, expr)
        assert "irate(" not in code and "increase(" not in code, (ref, expr)


def test_variables(models: dict[str, dict[str, Any]]) -> None:
    for name, model in models.items():
        variables = {v["name"]: v for v in model["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource", name
        assert variables["datasource"]["query"] == "prometheus", name
        for variable in variables.values():
            if variable["type"] == "query":
                assert variable["includeAll"] and variable["multi"] and variable["allValue"] == ".*"
    proxy = {v["name"]: v for v in models["proxy-overview"]["templating"]["list"]}
    assert proxy["route"]["query"] == (
        "label_values(http_server_request_duration_seconds_count, http_route)"
    )
    assert set(proxy) == {"datasource", "instance", "route", "method"}
    rate = next(p for p in panels(models["proxy-overview"]) if p["title"] == "Request rate by route")
    assert 'http_route=~"$route", http_request_method=~"$method", instance=~"$instance"' in (
        rate["targets"][0]["expr"]
    )
    loadtest = {v["name"] for v in models["loadtest"]["templating"]["list"]}
    assert loadtest == {"datasource", "endpoint"}


def test_uids_are_stable(reference_spec: Spec, models: dict[str, dict[str, Any]]) -> None:
    assert build_dashboards(reference_spec) == models
    for name, model in models.items():
        assert model["uid"] == stable_uid("reference-proxy", name)
        assert 8 <= len(model["uid"]) <= 40
        ids = [p["id"] for p in model["panels"]]
        assert len(set(ids)) == len(ids)
    assert len({m["uid"] for m in models.values()}) == 3
    other = parse_spec("service: other\nobjectives:\n  - {name: a, kind: availability, target: 99%}\n")
    assert build_dashboard("slos", other)["uid"] != models["slos"]["uid"]


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_grid_layout(models: dict[str, dict[str, Any]], name: str) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in models[name]["panels"]:
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


def test_slo_panels_read_rules_that_alerts_record(
    reference_spec: Spec, models: dict[str, dict[str, Any]]
) -> None:
    recorded = {
        (rule["record"], rule["labels"]["slo"])
        for group in alerts.build_rules(alerts.plan_alerts(reference_spec))["groups"]
        for rule in group["rules"] if "record" in rule
    }
    read = set()
    for _, expr in exprs(models["slos"]):
        pattern = r'(slogate:[a-z_]+:rate\w+)\{slo="([^"]+)", service="reference-proxy"\}'
        read.update(re.findall(pattern, expr))
    assert read and read <= recorded, read - recorded


def test_exact_constants(models: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(models)
    assert "vector(0.99)" in text and "vector(0.25)" in text and "/ 0.01" in text
    assert not re.search(r"\d\.\d*(0000000|9999999)", text)


def test_names_come_from_the_contract(reference_spec: Spec) -> None:
    contract, loadtest = contracts_from_mapping({
        "request_duration": "rq_seconds", "route_label": "route", "method_label": "method",
        "status_label": "code", "active_requests": "inflight", "cache_requests": "cache_total",
        "cache_result_label": "outcome", "upstream_errors": "up_errors_total",
        "upstream_duration": "up_seconds", "rate_limited": "limited_total",
        "circuit_breaker_state": "breaker", "llm_tokens": "tokens_total",
        "token_type_label": "kind", "selector": 'job="edge"',
        "loadtest": {"users": "lt_users", "request_duration": "lt_seconds"},
    })
    text = json.dumps(build_dashboards(reference_spec, contract, loadtest))
    for default in ("http_server", "http_route", "http_request_method", "http_response_status",
                    "proxy_", '"result', "slogate_loadtest_users", "slogate_loadtest_request"):
        assert default not in text
    assert 'rq_seconds_count{job=\\"edge\\", route=~\\"$route\\"' in text
    assert 'cache_total{job=\\"edge\\", outcome=\\"hit\\"' in text
    assert "lt_users" in text and "lt_seconds_bucket" in text
    with pytest.raises(ValueError, match="unknown loadtest contract field"):
        contracts_from_mapping({"loadtest": {"userz": "x"}})


def test_promql_parses(promtool: str, models: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """Each panel and variable query, with Grafana's variables filled in, as a recording rule
    that promtool must parse."""
    rules = []
    for name, model in models.items():
        for ref, expr in exprs(model):
            concrete = _VARIABLE.sub(".*", expr.replace("$__rate_interval", "5m"))
            assert "$" not in concrete.replace("${1}", ""), expr
            rules.append({"record": f"slogate_dashboard:{name.replace('-', '_')}:panel_{ref}",
                          "expr": concrete})
    path = tmp_path / "dashboard-queries.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}),
                    encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_write_dashboards(reference_spec: Spec, tmp_path: Path) -> None:
    paths = write_dashboards(reference_spec, tmp_path / "dashboards")
    assert [p.name for p in paths] == [
        "reference-proxy-proxy-overview.json", "reference-proxy-slos.json",
        "reference-proxy-loadtest.json",
    ]
    for path, name in zip(paths, DASHBOARD_NAMES, strict=True):
        assert json.loads(path.read_text(encoding="utf-8")) == build_dashboard(name, reference_spec)


def test_grafanalib_generate_dashboards_cli(
    models: dict[str, dict[str, Any]], schema: dict[str, Any], tmp_path: Path
) -> None:
    """grafanalib's own ``generate-dashboards`` writes the same JSON from the ``*.dashboard.py``
    (copied to a temporary folder: it writes each JSON beside its definition)."""
    sources = sorted((REPO / "dashboards").glob("*.dashboard.py"))
    assert [s.name for s in sources] == [
        "loadtest.dashboard.py", "proxy_overview.dashboard.py", "slos.dashboard.py"
    ]
    copies = []
    for source in sources:
        copy = tmp_path / source.name
        copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
        copies.append(copy)
    script = ("import sys; from grafanalib._gen import generate_dashboards; "
              "sys.exit(generate_dashboards(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "SLOGATE_SPEC": str(REPO / "slogate" / "specs" / "reference.yaml")}
    result = subprocess.run([sys.executable, "-c", script, *map(str, copies)], capture_output=True,
                            text=True, timeout=60, check=False, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    for copy, name in zip(copies, ("loadtest", "proxy-overview", "slos"), strict=True):
        generated = json.loads(copy.with_name(copy.name.replace(".dashboard.py", ".json"))
                               .read_text(encoding="utf-8"))
        assert generated == models[name]
        jsonschema.validate(generated, schema, cls=jsonschema.Draft7Validator)


def test_zero_budget_objective_has_only_its_sli(schema: dict[str, Any]) -> None:
    spec = parse_spec("service: s\nobjectives:\n  - {name: none, kind: error_ratio, max: 0%}\n")
    model = build_dashboard("slos", spec)
    assert [(p["title"], p["gridPos"]["w"]) for p in panels(model)] == [("none: SLI", 24)]
    jsonschema.validate(model, schema, cls=jsonschema.Draft7Validator)


def test_slo_dashboard_follows_an_objectives_alert_policy() -> None:
    import json as _json

    from slogate.dashboards import build_dashboard
    from slogate.slo.specfile.load import load_spec
    from tests.conftest import REPO

    spec = load_spec(REPO / "tests" / "alerts" / "data" / "openslo-alert-policy.yaml")
    text = _json.dumps(build_dashboard("slos", spec))
    # The availability objective's policy looks back 2h and 12h: 12h is no workbook window, so it
    # is shown only because the dashboard follows the policy (the latency objective has none).
    assert "rate2h" in text and "rate12h" in text
