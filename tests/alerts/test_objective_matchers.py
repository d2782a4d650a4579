"""An objective's own label matchers and contract in the rules: the recording rules read the
contract's metrics with the objective's matchers (regex and negative too), the generated promtool
tests synthesise series for them, and a behaviour test fires when that series burns and stays
quiet when another handler burns."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from slogate.alerts import ERROR_BUDGET_BURN, build_rule_tests, plan_alerts, write_alert_files
from slogate.slo.contract import contracts_from_mapping
from slogate.slo.specfile.load import parse_spec

CADDY_SPEC = """\
service: shop
contract: caddy
objectives:
  - name: api-availability
    kind: availability
    endpoint: GET /api/items
    target: 99%
    matchers: {handler: reverse_proxy, server: srv0}
"""

REGEX_SPEC = """\
service: shop
objectives:
  - name: api-latency
    kind: latency
    endpoint: GET /api/items
    percentile: p99
    threshold: 250ms
    matchers: ['server=~"srv0|srv1"', 'handler!="file_server"']
  - name: all-errors
    kind: error_ratio
    max: 1%
  - name: own-proxy
    kind: error_ratio
    max: 1%
    contract: {preset: nginx-ingress}
    matchers: ['path=~"/api(/.*)?"', 'ingress="shop"']
"""

COUNT = "caddy_http_request_duration_seconds_count"


def _promtool(promtool: str, *args: str) -> None:
    result = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _exprs(path: Path, slo: str) -> list[str]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [rule["expr"] for group in document["groups"] for rule in group["rules"]
            if "record" in rule and rule.get("labels", {}).get("slo") == slo]


def test_the_rules_read_the_objectives_matchers_with_its_contracts_names(tmp_path: Path) -> None:
    write_alert_files(parse_spec(CADDY_SPEC), tmp_path / "shop.rules.yaml")
    exprs = _exprs(tmp_path / "shop.rules.yaml", "api-availability")
    assert exprs
    # Caddy's names; the matchers pick the handler, so the spec's route is not a handler value.
    for expr in exprs:
        assert f'{COUNT}{{handler="reverse_proxy", server="srv0", method="GET", code=~"5.."}}' in expr
        assert f'{COUNT}{{handler="reverse_proxy", server="srv0", method="GET"}}' in expr
        assert "/api/items" not in expr and "http_server_request_duration" not in expr


def test_regex_negative_and_per_objective_contracts_get_rules_whose_tests_pass(
    promtool: str, tmp_path: Path,
) -> None:
    rules = tmp_path / "shop.rules.yaml"
    written = write_alert_files(parse_spec(REGEX_SPEC), rules)
    [latency] = {e for e in _exprs(rules, "api-latency") if "[5m]" in e}
    assert ('http_server_request_duration_seconds_bucket{server=~"srv0|srv1", handler!="file_server", '
            'http_route="/api/items", http_request_method="GET"') in latency
    [own] = {e for e in _exprs(rules, "own-proxy") if "[5m]" in e}
    assert 'nginx_ingress_controller_requests{path=~"/api(/.*)?", ingress="shop", status=~"5.."}' in own
    [plain] = {e for e in _exprs(rules, "all-errors") if "[5m]" in e}
    assert "srv0" not in plain and "nginx" not in plain
    _promtool(promtool, "check", "rules", str(rules))
    _promtool(promtool, "test", "rules", str(written[1]))


def test_the_alert_fires_when_its_series_burns_and_not_when_another_handler_burns(
    promtool: str, tmp_path: Path,
) -> None:
    spec = parse_spec(CADDY_SPEC)
    rules = tmp_path / "shop.rules.yaml"
    write_alert_files(spec, rules)
    plan = plan_alerts(spec)
    [half_failing] = [t for t in build_rule_tests(plan, rules.name)["tests"]
                      if t["name"].startswith("half-failing")]
    [burning] = [t["exp_alerts"] for t in half_failing["alert_rule_test"]
                 if t["alertname"] == ERROR_BUDGET_BURN]
    assert burning  # half of its requests failing pages

    def series(labels: str, per_minute: int) -> dict[str, str]:
        return {"series": f"{COUNT}{{{labels}}}", "values": f"0+{per_minute}x80"}

    ours = 'handler="reverse_proxy", server="srv0", method="GET"'
    scenarios: list[dict[str, Any]] = [
        {"name": "its own series burns", "interval": "1m", "input_series": [
            series(f'{ours}, code="200"', 15), series(f'{ours}, code="503"', 15),
            series('handler="file_server", server="srv0", method="GET", code="200"', 30)],
         "alert_rule_test": [{"eval_time": "1h10m", "alertname": ERROR_BUDGET_BURN,
                              "exp_alerts": burning}]},
        {"name": "another handler and another server burn", "interval": "1m", "input_series": [
            series(f'{ours}, code="200"', 30),
            series('handler="file_server", server="srv0", method="GET", code="500"', 30),
            series('handler="reverse_proxy", server="srv1", method="GET", code="500"', 30)],
         "promql_expr_test": [{
             "expr": 'slogate:sli_error_ratio:rate5m{slo="api-availability"}', "eval_time": "1h10m",
             "exp_samples": [{"labels": 'slogate:sli_error_ratio:rate5m{slo="api-availability", '
                                        'service="shop"}', "value": 0}]}],
         "alert_rule_test": [{"eval_time": "1h10m", "alertname": ERROR_BUDGET_BURN, "exp_alerts": []}]},
    ]
    test_file = tmp_path / "behaviour.test.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [rules.name], "evaluation_interval": "5m",
                                         "tests": scenarios}), encoding="utf-8")
    _promtool(promtool, "test", "rules", str(test_file))


def test_the_health_alerts_follow_the_contract_the_spec_names() -> None:
    plan = plan_alerts(parse_spec(CADDY_SPEC))
    caddy, _ = contracts_from_mapping({"preset": "caddy"})
    assert plan.contract == caddy
    assert {rule.alert for rule in plan.health}.isdisjoint({"ProxyCircuitBreakerOpen", "ProxyUpstreamErrors"})
