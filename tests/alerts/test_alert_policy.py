"""An imported OpenSLO AlertPolicy replaces the default burn-rate tiers of the SLOs it covers,
checked by the real promtool (rules load, generated unit tests pass) and amtool (inhibit rules)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from slogate.alerts import (
    ERROR_BUDGET_BURN,
    LATENCY_BUDGET_BURN,
    build_rules,
    plan_alerts,
    write_alert_files,
)
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import load_spec, parse_spec
from tests.conftest import require_tool

POLICY_SPEC = Path(__file__).parent / "data" / "openslo-alert-policy.yaml"


def _burns(rules: dict[str, Any], slo: str) -> list[dict[str, Any]]:
    [group] = [g for g in rules["groups"] if g["name"].endswith("-slo-burn")]
    return [r for r in group["rules"] if r["labels"]["slo"] == slo]


def _run(*command: str) -> str:
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


@pytest.fixture(scope="module")
def policy_spec() -> Spec:
    return load_spec(POLICY_SPEC)


def test_policy_conditions_replace_the_default_tiers(policy_spec: Spec) -> None:
    availability = _burns(build_rules(plan_alerts(policy_spec)), "availability")
    summary = [(r["alert"], r["labels"]["tier"], r["labels"]["severity"], r["labels"]["long_window"],
                r["labels"]["short_window"], r.get("for")) for r in availability]
    assert summary == [
        (ERROR_BUDGET_BURN, "page", "critical", "2h", "10m", "2m"),
        (ERROR_BUDGET_BURN, "ticket", "warning", "12h", "1h", "2h"),
    ]
    # factor x allowed bad ratio, exactly: 10 x 0.001 and 2 x 0.001.
    assert [r["expr"].splitlines()[0].rsplit(" ", 1)[1] for r in availability] == ["0.01", "0.002"]
    assert "10x over 2h" in availability[0]["annotations"]["summary"]


def test_objectives_without_a_policy_keep_the_workbook_tiers(policy_spec: Spec) -> None:
    latency = _burns(build_rules(plan_alerts(policy_spec)), "latency")
    assert {r["alert"] for r in latency} == {LATENCY_BUDGET_BURN}
    assert [(r["labels"]["long_window"], r["labels"]["short_window"]) for r in latency] == [
        ("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h")]
    assert all("for" not in r for r in latency)


def test_recording_rules_cover_the_policy_windows(policy_spec: Spec) -> None:
    [group] = [g for g in build_rules(plan_alerts(policy_spec))["groups"] if g["name"].endswith("-sli")]
    records = [r["record"] for r in group["rules"] if r["labels"]["slo"] == "availability"]
    assert records == [f"slogate:sli_error_ratio:rate{w}" for w in ("10m", "1h", "2h", "12h", "30d")]


def test_a_condition_that_can_never_fire_is_an_error(policy_spec: Spec) -> None:
    text = POLICY_SPEC.read_text(encoding="utf-8").replace("threshold: 10", "threshold: 1500")
    with pytest.raises(ValueError, match=r"shop-burn/fast of SLO 'availability' can never fire.*1000x"):
        build_rules(plan_alerts(parse_spec(text, "policy.yaml")))
    text = POLICY_SPEC.read_text(encoding="utf-8").replace("lookbackWindow: 12h", "lookbackWindow: 31d")
    with pytest.raises(ValueError, match="lookback window 31d is longer than the SLO period 30d"):
        build_rules(plan_alerts(parse_spec(text, "policy.yaml")))


def test_promtool_checks_the_rules_and_runs_their_tests(
    promtool: str, policy_spec: Spec, tmp_path: Path
) -> None:
    rules, tests, _ = write_alert_files(policy_spec, tmp_path / "shop.rules.yaml")
    assert "SUCCESS" in _run(promtool, "check", "rules", str(rules))
    cases = yaml.safe_load(tests.read_text(encoding="utf-8"))["tests"]
    # The OpenSLO queries are the user's own SLIs: their scenarios feed the user's own series.
    [half] = [c for c in cases if c["name"].startswith("own-sli half-bad")]
    [burn] = [t for t in half["alert_rule_test"] if t["alertname"] == ERROR_BUDGET_BURN]
    # The page (for: 2m) has fired by the evaluation time; the ticket (for: 2h) is still pending.
    assert [a["exp_labels"]["tier"] for a in burn["exp_alerts"]] == ["page"]
    assert "SUCCESS" in _run(promtool, "test", "rules", str(tests))


def test_amtool_accepts_the_inhibit_rules_in_an_alertmanager_config(
    policy_spec: Spec, tmp_path: Path
) -> None:
    amtool = require_tool("amtool", "prometheus-alertmanager")
    *_, inhibit = write_alert_files(policy_spec, tmp_path / "shop.rules.yaml")
    inhibit_rules = yaml.safe_load(inhibit.read_text(encoding="utf-8"))["inhibit_rules"]
    assert any(r["source_matchers"][-1] == 'tier="page"' for r in inhibit_rules)
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump({
        "route": {"receiver": "null", "group_by": ["alertname", "service"]},
        "receivers": [{"name": "null"}],
        "inhibit_rules": inhibit_rules,
    }), encoding="utf-8")
    output = _run(amtool, "check-config", str(config))
    assert "SUCCESS" in output and "1 receivers" in output
