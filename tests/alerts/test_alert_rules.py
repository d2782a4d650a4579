"""The rule file's structure, its PromQL and its constants, without Prometheus."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from slogate.alerts import (
    DEFAULT_RUNBOOK_BASE,
    ERROR_BUDGET_BURN,
    LATENCY_BUDGET_BURN,
    PROXY_CIRCUIT_BREAKER_OPEN,
    PROXY_LATENCY_HIGH,
    PROXY_RATE_LIMITING_SPIKE,
    PROXY_SERVER_ERRORS,
    PROXY_TARGET_DOWN,
    PROXY_UPSTREAM_ERRORS,
    RuleOptions,
    build_rules,
    plan_alerts,
    render_rules,
    write_alert_files,
)
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import parse_spec

WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]  # the tiers' windows and the period


def _spec(objectives: str, period: str = "30d", extra: str = "") -> Spec:
    return parse_spec(f"service: shop\nperiod: {period}\n{extra}objectives:\n{objectives}")


def _group(rules: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    (group,) = [g for g in rules["groups"] if g["name"].endswith(suffix)]
    rule_list: list[dict[str, Any]] = group["rules"]
    return rule_list


def _alerts(rules: dict[str, Any], slo: str) -> list[dict[str, Any]]:
    return [r for r in _group(rules, "-slo-burn") if r["labels"]["slo"] == slo]


def test_groups_and_recording_rules(reference_spec: Spec) -> None:
    rules = build_rules(plan_alerts(reference_spec))
    assert [g["name"] for g in rules["groups"]] == [
        "slogate-reference-proxy-sli",
        "slogate-reference-proxy-slo-burn",
        "slogate-reference-proxy-sli-absent",
        "slogate-reference-proxy-proxy-health",
    ]
    recorded = _group(rules, "-sli")
    assert len(recorded) == len(reference_spec.objectives) * len(WINDOWS)
    for objective in reference_spec.objectives:
        mine = [r for r in recorded if r["labels"]["slo"] == objective.name]
        base = "slogate:sli_slow_ratio" if objective.kind == "latency" else "slogate:sli_error_ratio"
        assert [r["record"] for r in mine] == [f"{base}:rate{w}" for w in WINDOWS]
        for rule in mine:
            assert rule["labels"] == {"slo": objective.name, "service": "reference-proxy"}
            window = rule["record"].rsplit("rate", 1)[1]
            assert f"[{window}]" in rule["expr"]


def test_ratio_sli_is_traffic_weighted(reference_spec: Spec) -> None:
    (rule,) = [
        r for r in _group(build_rules(plan_alerts(reference_spec)), "-sli")
        if r["record"] == "slogate:sli_error_ratio:rate5m" and r["labels"]["slo"] == "availability"
    ]
    assert rule["expr"] == (
        "(\n"
        '  sum(rate(http_server_request_duration_seconds_count{http_response_status_code=~"5.."}[5m]))\n'
        "  or vector(0)\n"
        ")\n"
        "/\n"
        "sum(rate(http_server_request_duration_seconds_count[5m]))"
    )


def test_latency_sli_counts_successful_requests_under_the_bucket(reference_spec: Spec) -> None:
    (rule,) = [
        r for r in _group(build_rules(plan_alerts(reference_spec)), "-sli")
        if r["record"] == "slogate:sli_slow_ratio:rate1h" and r["labels"]["slo"] == "messages-p95"
    ]
    where = ('http_route="/v1/messages", http_request_method="POST", '
             'http_response_status_code!~"5.."')
    assert rule["expr"] == (
        "1 - (\n"
        f'  sum(rate(http_server_request_duration_seconds_bucket{{{where}, le=~"0\\\\.250*"}}[1h]))\n'
        "/\n"
        f"  sum(rate(http_server_request_duration_seconds_count{{{where}}}[1h]))\n"
        ")"
    )


def test_route_only_endpoint_selects_the_route_under_every_method() -> None:
    spec = _spec("  - {name: all-methods, kind: availability, endpoint: /v1/messages, target: 99%}\n"
                 "  - {name: posts, kind: error_ratio, endpoint: POST /v1/messages, max: 1%}\n")
    rules = build_rules(plan_alerts(spec))
    recorded = {(r["labels"]["slo"], r["record"]): r["expr"] for r in _group(rules, "-sli")}
    route_only = recorded[("all-methods", "slogate:sli_error_ratio:rate5m")]
    assert 'http_route="/v1/messages"' in route_only
    assert "http_request_method" not in route_only
    with_method = recorded[("posts", "slogate:sli_error_ratio:rate5m")]
    assert 'http_route="/v1/messages", http_request_method="POST"' in with_method


def test_threshold_off_the_buckets_names_the_nearest() -> None:
    spec = _spec("  - {name: slow, kind: latency, percentile: p99, threshold: 300ms}\n")
    with pytest.raises(ValueError) as raised:
        build_rules(plan_alerts(spec))
    message = str(raised.value)
    assert "'slow'" in message and "300ms" in message
    assert "250ms (le=0.25) and 500ms (le=0.5)" in message


def test_burn_alerts_of_a_ratio_objective(reference_spec: Spec) -> None:
    alerts = _alerts(build_rules(plan_alerts(reference_spec)), "availability")
    assert [a["alert"] for a in alerts] == [ERROR_BUDGET_BURN] * 4
    assert [(a["labels"]["severity"], a["labels"]["tier"], a["labels"]["long_window"],
             a["labels"]["short_window"]) for a in alerts] == [
        ("critical", "page", "1h", "5m"),
        ("critical", "page", "6h", "30m"),
        ("warning", "ticket", "1d", "2h"),
        ("warning", "ticket", "3d", "6h"),
    ]
    match = 'slo="availability", service="reference-proxy"'
    assert alerts[0]["expr"] == (
        f"slogate:sli_error_ratio:rate1h{{{match}}} > 0.144\n"
        f"and\n"
        f"slogate:sli_error_ratio:rate5m{{{match}}} > 0.144"
    )
    assert [a["expr"].split("> ")[1].split("\n")[0] for a in alerts] == [
        "0.144", "0.06", "0.03", "0.01"
    ]
    for alert in alerts:
        assert alert["labels"]["slo"] == "availability"
        assert alert["labels"]["service"] == "reference-proxy"


def test_latency_alerts_leave_out_tiers_that_cannot_fire(reference_spec: Spec) -> None:
    rules = build_rules(plan_alerts(reference_spec))
    p95 = _alerts(rules, "messages-p95")
    assert {a["alert"] for a in p95} == {LATENCY_BUDGET_BURN}
    assert len(p95) == 4  # 5% allowed: 14.4 x 5% = 72% < 100%
    p50 = _alerts(rules, "overall-p50")
    # 50% may be slow: only the 1x tier (3d, 6h) stays under 100% of requests.
    assert [(a["labels"]["long_window"], a["expr"].split("> ")[1].split("\n")[0]) for a in p50] \
        == [("3d", "0.5")]


def test_numbers_are_exact() -> None:
    spec = _spec("  - {name: three-nines, kind: availability, target: 99.9%}\n"
                 "  - {name: p99-9, kind: latency, percentile: 99.9, threshold: 250ms}\n")
    text = render_rules(plan_alerts(spec))
    assert "> 0.0144\n" in text and "> 0.006\n" in text and "> 0.003\n" in text
    assert "> 0.001\n" in text
    assert not re.search(r"\d\.\d*(0000000|9999999)", text), "float noise in the rules"


def test_annotations(reference_spec: Spec) -> None:
    rules = build_rules(plan_alerts(reference_spec))
    every_alert = _group(rules, "-slo-burn") + _group(rules, "-proxy-health")
    for alert in every_alert:
        assert re.fullmatch(r"Slogate[A-Z][A-Za-z]+", alert["alert"])
        annotations = alert["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}
        assert "{{" not in annotations["summary"]
        assert "{{ $" in annotations["description"]
        assert annotations["runbook_url"] == f"{DEFAULT_RUNBOOK_BASE}#{alert['alert'].lower()}"
        assert alert["labels"]["severity"] in {"critical", "warning"}
        assert alert["labels"]["service"] == "reference-proxy"
    custom = build_rules(plan_alerts(reference_spec, options=RuleOptions(runbook_base="https://runbooks.example/slo.md")))
    assert _group(custom, "-slo-burn")[0]["annotations"]["runbook_url"] == (
        "https://runbooks.example/slo.md#slogatelatencybudgetburn"
    )


def test_proxy_health_alerts(reference_spec: Spec) -> None:
    health = _group(build_rules(plan_alerts(reference_spec)), "-proxy-health")
    assert [a["alert"] for a in health] == [
        PROXY_SERVER_ERRORS, PROXY_LATENCY_HIGH, PROXY_UPSTREAM_ERRORS, PROXY_CIRCUIT_BREAKER_OPEN,
        PROXY_RATE_LIMITING_SPIKE, PROXY_TARGET_DOWN,
    ]
    by_name = {a["alert"]: a for a in health}
    assert by_name[PROXY_CIRCUIT_BREAKER_OPEN]["expr"] == "proxy_circuit_breaker_state >= 2"
    assert by_name[PROXY_TARGET_DOWN]["expr"] == "up == 0"
    assert by_name[PROXY_TARGET_DOWN]["labels"]["severity"] == "critical"
    assert r'le=~"1(\\.0*)?"' in by_name[PROXY_LATENCY_HIGH]["expr"]
    assert "proxy_rate_limited_requests_total[5m]" in by_name[PROXY_RATE_LIMITING_SPIKE]["expr"]
    assert all("for" in a for a in health)


def test_every_name_comes_from_the_contract(reference_spec: Spec) -> None:
    contract = DEFAULT_CONTRACT.with_overrides({
        "request_duration": "rq_seconds",
        "route_label": "route",
        "method_label": "method",
        "status_label": "code",
        "upstream_duration": "up_seconds",
        "upstream_errors": "up_errors_total",
        "circuit_breaker_state": "breaker",
        "error_status_matcher": '=~"5..|429"',
        "selector": 'job="edge"',
    })
    text = render_rules(plan_alerts(reference_spec, contract))
    for default in ("http_server", "http_route", "http_request_method", "http_response_status",
                    "proxy_upstream", "proxy_circuit"):
        assert default not in text
    assert 'rq_seconds_count{job="edge", code=~"5..|429"}' in text
    assert ('rq_seconds_bucket{job="edge", route="/v1/messages", method="POST", code!~"5..|429", '
            'le=~') in text
    assert 'breaker{job="edge"} >= 2' in text


def test_spec_labels_reach_the_alerts() -> None:
    spec = _spec("  - {name: avail, kind: availability, target: 99%}\n",
                 extra="labels: {team: edge}\n")
    rules = build_rules(plan_alerts(spec))
    for alert in _group(rules, "-slo-burn") + _group(rules, "-proxy-health"):
        assert alert["labels"]["team"] == "edge"
    bad = _spec("  - {name: avail, kind: availability, target: 99%}\n",
                extra="labels: {team-name: edge}\n")
    with pytest.raises(ValueError, match="team-name"):
        build_rules(plan_alerts(bad))


def test_a_zero_budget_alerts_on_any_failure() -> None:
    spec = _spec("  - {name: none, kind: error_ratio, max: 0%}\n")
    alerts = _alerts(build_rules(plan_alerts(spec)), "none")
    assert [a["expr"].split("> ")[1].split("\n")[0] for a in alerts] == ["0"] * 4


def test_written_rules_round_trip(tmp_path: Path, reference_spec: Spec) -> None:
    path, *_ = write_alert_files(reference_spec, tmp_path / "rules" / "reference.rules.yaml")
    assert path == tmp_path / "rules" / "reference.rules.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Prometheus rules")
    assert yaml.safe_load(text) == build_rules(plan_alerts(reference_spec))
    assert sorted(p.name for p in path.parent.iterdir()) == [  # no temp file left
        "reference.inhibit.yaml", "reference.rules.test.yaml", "reference.rules.yaml"]


def test_other_contract_error_matchers() -> None:
    contract = MetricContract(error_status_matcher="500")
    spec = _spec("  - {name: avail, kind: availability, target: 99%}\n")
    with pytest.raises(ValueError, match="label matcher"):
        build_rules(plan_alerts(spec, contract))
