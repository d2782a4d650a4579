"""The metric contract model: presets by name, metrics a proxy lacks, its own buckets and units,
and what alerts, dashboards and the command line make of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from slogate.alerts import (
    PROXY_CIRCUIT_BREAKER_OPEN,
    PROXY_LATENCY_HIGH,
    PROXY_SERVER_ERRORS,
    PROXY_TARGET_DOWN,
    plan_alerts,
    render_rules,
)
from slogate.cli import main
from slogate.dashboards import build_dashboards
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract, contracts_from_mapping, preset_path
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import parse_spec

SPEC = """service: shop
objectives:
  - {name: availability, kind: availability, target: 0.99}
  - {name: errors, kind: error_ratio, max: 1%}
  - {name: fast, kind: latency, percentile: 99, threshold: 250ms}
"""


def spec(text: str = SPEC) -> Spec:
    return parse_spec(text)


def contract(name: str, **overrides: object) -> MetricContract:
    return contracts_from_mapping({"preset": name, **overrides})[0]


def queries(models: dict[str, dict[str, object]]) -> list[str]:
    return [t["expr"] for m in models.values() for p in m["panels"]  # type: ignore[attr-defined]
            for t in p.get("targets", [])]


def test_the_default_contract_is_the_reference_target_and_has_every_metric() -> None:
    assert DEFAULT_CONTRACT.request_count == "http_server_request_duration_seconds_count"
    assert DEFAULT_CONTRACT.has_latency and DEFAULT_CONTRACT.circuit_breaker_state


def test_a_preset_file_can_be_the_base_of_a_users_overrides() -> None:
    caddy = contracts_from_mapping({"preset": "caddy", "selector": 'job="edge"'})[0]
    assert caddy.request_duration == "caddy_http_request_duration_seconds"
    assert caddy.selector == 'job="edge"' and caddy.name == "caddy"
    with pytest.raises(ValueError, match="no contract preset named 'kaddy'; presets: caddy, envoy"):
        contracts_from_mapping({"preset": "kaddy"})
    with pytest.raises(ValueError, match="'buckets' must be a list of numbers"):
        contracts_from_mapping({"buckets": "0.1,0.2"})
    with pytest.raises(ValueError, match="duration_unit must be 's' or 'ms'"):
        contracts_from_mapping({"duration_unit": "us"})


def test_a_caddy_contract_gets_no_alert_for_metrics_caddy_lacks() -> None:
    plan = plan_alerts(spec(), contract("caddy"))
    names = {rule.alert for rule in plan.health}
    assert names == {PROXY_SERVER_ERRORS, PROXY_LATENCY_HIGH, PROXY_TARGET_DOWN}
    assert PROXY_CIRCUIT_BREAKER_OPEN not in render_rules(plan)
    assert 'caddy_http_request_duration_seconds_bucket{code!~"5..", le=~"0\\\\.250*"}' in render_rules(plan)


def test_a_threshold_that_is_no_bucket_of_that_proxy_is_an_error_naming_its_buckets() -> None:
    traefik = contract("traefik")  # buckets 0.1, 0.3, 1.2, 5
    with pytest.raises(ValueError, match=r"250ms is not a bucket boundary.*nearest buckets: "
                                         r"100ms \(le=0.1\) and 300ms \(le=0.3\)"):
        plan_alerts(spec(), traefik)
    plan = plan_alerts(spec(SPEC.replace("250ms", "300ms")), traefik)
    # 1 s is no Traefik bucket: slow requests are counted from the next one up, 1.2 s.
    assert plan.slow_request_bound == 1.2


def test_millisecond_histograms_are_matched_at_their_own_le() -> None:
    plan = plan_alerts(spec(SPEC.replace("250ms", "200ms")), contract("kong"))
    rules = render_rules(plan)
    assert 'kong_request_latency_ms_bucket{route!="", le=~"200(\\\\.0*)?"}' not in rules  # no selector
    assert 'kong_request_latency_ms_bucket{le=~"200(\\\\.0*)?"}' in rules  # no status label to match
    assert "kong_http_requests_total{code=~\"5..\"}" in rules


def test_a_proxy_without_latency_histogram_gets_ratio_rules_and_says_why_not_latency() -> None:
    plan = plan_alerts(spec(), contract("haproxy"))
    assert [p.sli.name for p in plan.slis] == ["availability", "errors"]
    (why,) = plan.unmeasured
    assert why.startswith("fast: the haproxy contract has no latency histogram")
    rules = render_rules(plan)
    assert 'haproxy_backend_http_responses_total{code="5xx"}' in rules
    assert PROXY_LATENCY_HIGH not in rules and "_bucket" not in rules


def test_dashboards_have_panels_only_for_the_metrics_the_proxy_has() -> None:
    caddy = build_dashboards(spec(), contract("caddy"))
    titles = [p["title"] for p in caddy["proxy-overview"]["panels"]]  # type: ignore[index]
    assert "In-flight requests" in titles and "Circuit breaker state" not in titles
    assert "Cache hit ratio" not in titles and "Upstream" not in titles
    assert not any("proxy_" in q for q in queries(caddy))
    haproxy = build_dashboards(spec(), contract("haproxy"))
    proxy_side = {name: haproxy[name] for name in ("proxy-overview", "slos")}
    assert not any("_bucket" in q for q in queries(proxy_side))
    assert "fast" in haproxy["slos"]["description"]  # type: ignore[operator]


def test_the_command_line_takes_a_preset_name_or_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file = tmp_path / "shop.yaml"
    spec_file.write_text(SPEC)
    assert main(["validate", "--contract", "caddy", str(spec_file)]) == 0
    assert main(["validate", "--contract", "traefik", str(spec_file)]) == 2
    assert "nearest buckets: 100ms (le=0.1) and 300ms (le=0.3)" in capsys.readouterr().err
    own = tmp_path / "edge.yaml"
    own.write_text(yaml.safe_dump({"preset": "haproxy", "selector": 'job="edge"'}))
    assert main(["alerts", "--spec", str(spec_file), "--contract", str(own), "--out", f"{tmp_path}/"]) == 0
    assert "no rules for fast: the haproxy contract" in capsys.readouterr().err
    assert 'job="edge"' in (tmp_path / "shop.rules.yaml").read_text()
    assert main(["dashboards", "--spec", str(spec_file), "--contract", "kong", "--out", str(tmp_path)]) == 0
    overview = json.loads((tmp_path / "shop-proxy-overview.json").read_text())
    assert any(p.get("fieldConfig", {}).get("defaults", {}).get("unit") == "ms" for p in overview["panels"])
    assert main(["validate", "--contract", "kaddy", str(spec_file)]) == 2
    assert "no contract preset 'kaddy'; presets: caddy" in capsys.readouterr().err
    assert preset_path("caddy").is_file()

