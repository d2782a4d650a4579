"""The rules against the real promtool: they load, and generated unit tests pass."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from slogate.alerts import (
    ERROR_BUDGET_BURN,
    LATENCY_BUDGET_BURN,
    PROXY_SERVER_ERRORS,
    build_rule_tests,
    plan_alerts,
    render_rule_tests,
    render_rules,
)
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import parse_spec
from tests.conftest import REFERENCE_SPEC


def _run(promtool: str, *args: str) -> str:
    result = subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def _write(spec: Spec, folder: Path, contract: MetricContract = DEFAULT_CONTRACT) -> tuple[Path, Path]:
    """The rules, and their tests in a folder of their own (``rule_files`` is then relative)."""
    plan = plan_alerts(spec, contract)
    rules = folder / "slogate.rules.yaml"
    tests = folder / "tests" / "slogate.rules.test.yaml"
    tests.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(render_rules(plan), encoding="utf-8")
    tests.write_text(render_rule_tests(plan, rules, tests.parent), encoding="utf-8")
    return rules, tests


def test_promtool_checks_the_reference_rules(
    promtool: str, reference_spec: Spec, tmp_path: Path
) -> None:
    rules, _ = _write(reference_spec, tmp_path)
    output = _run(promtool, "check", "rules", str(rules))
    assert "SUCCESS" in output


def test_promtool_runs_the_generated_unit_tests(
    promtool: str, reference_spec: Spec, tmp_path: Path
) -> None:
    _, tests = _write(reference_spec, tmp_path)
    output = _run(promtool, "test", "rules", str(tests))
    assert "SUCCESS" in output


def test_generated_tests_expect_pages_at_50_percent_errors_and_silence_at_0(
    reference_spec: Spec,
) -> None:
    document = build_rule_tests(plan_alerts(reference_spec), "rules.yaml")
    cases = {case["name"].split(":")[0]: case for case in document["tests"]}

    def expected(case: str, alert: str) -> list[dict[str, dict[str, str]]]:
        (check,) = [t for t in cases[case]["alert_rule_test"] if t["alertname"] == alert]
        result: list[dict[str, dict[str, str]]] = check["exp_alerts"]
        return result

    half = expected("half-failing", ERROR_BUDGET_BURN)
    pages = {(a["exp_labels"]["slo"], a["exp_labels"]["long_window"]) for a in half
             if a["exp_labels"]["severity"] == "critical"}
    assert pages == {("availability", "1h"), ("availability", "6h"),
                     ("error-ratio", "1h"), ("error-ratio", "6h")}
    assert all(a["exp_annotations"]["description"].startswith("50% of requests") for a in half)
    assert expected("half-failing", LATENCY_BUDGET_BURN) == []
    assert len(expected("half-failing", PROXY_SERVER_ERRORS)) == 1
    for alert in (ERROR_BUDGET_BURN, LATENCY_BUDGET_BURN, PROXY_SERVER_ERRORS):
        assert expected("healthy", alert) == []
    slow = expected("all-slow", LATENCY_BUDGET_BURN)
    assert {a["exp_labels"]["slo"] for a in slow} == {"messages-p95", "content-p99", "overall-p50"}
    assert expected("all-slow", ERROR_BUDGET_BURN) == []
    # Buckets are written the way Python's prometheus_client writes them.
    series = [s["series"] for s in cases["half-failing"]["input_series"]]
    assert any('le="0.25"' in s for s in series) and any('le="0.1"' in s for s in series)


def test_promtool_with_another_contract(promtool: str, reference_spec: Spec, tmp_path: Path) -> None:
    contract = DEFAULT_CONTRACT.with_overrides({
        "request_duration": "rq_seconds",
        "route_label": "route",
        "status_label": "code",
        "error_status_matcher": '=~"5..|429"',
        "selector": 'job="edge", env="prod"',
    })
    rules, tests = _write(reference_spec, tmp_path, contract)
    _run(promtool, "check", "rules", str(rules))
    _run(promtool, "test", "rules", str(tests))
    document = yaml.safe_load(tests.read_text(encoding="utf-8"))
    assert document["rule_files"] == ["../slogate.rules.yaml"]
    first = document["tests"][0]["input_series"][0]["series"]
    assert first.startswith('rq_seconds_count{job="edge", env="prod", route=')


def test_promtool_catches_a_wrong_expectation(
    promtool: str, reference_spec: Spec, tmp_path: Path
) -> None:
    """The generated tests are not vacuous: one missing expected alert fails them."""
    rules, _ = _write(reference_spec, tmp_path)
    document = build_rule_tests(plan_alerts(reference_spec), rules.name)
    check = document["tests"][0]["alert_rule_test"][0]
    assert check["alertname"] == ERROR_BUDGET_BURN and check["exp_alerts"]
    check["exp_alerts"] = check["exp_alerts"][1:]
    broken = tmp_path / "broken.test.yaml"
    broken.write_text(yaml.safe_dump(document), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", str(broken)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert ERROR_BUDGET_BURN in result.stdout + result.stderr


@pytest.mark.parametrize("period", ["7d", "28d"])
def test_promtool_with_other_periods(promtool: str, tmp_path: Path, period: str) -> None:
    text = REFERENCE_SPEC.read_text(encoding="utf-8")
    assert "period: 30d" in text
    spec = parse_spec(text.replace("period: 30d", f"period: {period}"), str(REFERENCE_SPEC))
    rules, tests = _write(spec, tmp_path)
    _run(promtool, "check", "rules", str(rules))
    _run(promtool, "test", "rules", str(tests))
