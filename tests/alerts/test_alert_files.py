"""Golden files of the generated YAML, tier configuration, inhibit rules, the mixin lint and the
bucket check against a live exporter's /metrics."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from slogate.alerts import (
    ERROR_BUDGET_BURN,
    PROXY_TARGET_DOWN,
    RuleOptions,
    buckets_from_exposition,
    build_rules,
    configure_tiers,
    inhibit_rules,
    lint_rules,
    plan_alerts,
    render_inhibit_rules,
    render_rule_tests,
    render_rules,
    write_alert_files,
)
from slogate.slo.contract import DEFAULT_CONTRACT, LATENCY_BUCKETS_S
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import parse_spec
from slogate.target import ReferenceTarget
from tests.conftest import REFERENCE_SPEC

GOLDEN = Path(__file__).parent / "golden"
UPDATE_ENV = "SLOGATE_UPDATE_GOLDEN"  # set to 1 to rewrite the golden files after a wanted change
SOURCE = "slogate/specs/reference.yaml"


def _reference() -> Spec:
    return parse_spec(REFERENCE_SPEC.read_text(encoding="utf-8"), SOURCE)


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path}: run with {UPDATE_ENV}=1 to create it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; if the change is wanted, run with {UPDATE_ENV}=1"
    )


def test_golden_rules() -> None:
    _check_golden("reference.rules.yaml", render_rules(plan_alerts(_reference())))


def test_golden_rule_tests() -> None:
    text = render_rule_tests(plan_alerts(_reference()), GOLDEN / "reference.rules.yaml", GOLDEN)
    _check_golden("reference.rules.test.yaml", text)


def test_golden_inhibit_rules() -> None:
    _check_golden("reference.inhibit.yaml", render_inhibit_rules())


def test_golden_rules_pass_promtool(promtool: str) -> None:
    for args in (["check", "rules", "reference.rules.yaml"],
                 ["test", "rules", "reference.rules.test.yaml"]):
        result = subprocess.run([promtool, *args], cwd=GOLDEN, capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_tiers_switch_off_and_severity_is_settable(promtool: str, tmp_path: Path) -> None:
    windows = configure_tiers(["page"], severity={"page": "info"})
    rules = build_rules(plan_alerts(_reference(), options=RuleOptions(windows=windows)))
    burns = [r for g in rules["groups"] for r in g["rules"] if r.get("alert", "").endswith("Burn")]
    assert burns and {r["labels"]["tier"] for r in burns} == {"page"}
    assert {r["labels"]["severity"] for r in burns} == {"info"}
    # Without tickets there is nothing for a page to silence.
    assert all(ERROR_BUDGET_BURN not in str(r) for r in inhibit_rules(windows))
    paths = write_alert_files(_reference(), tmp_path / "x.rules.yaml", options=RuleOptions(windows=windows))
    result = subprocess.run([promtool, "test", "rules", str(paths[1])], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_inhibit_rules_page_silences_ticket_and_target_down_the_rest() -> None:
    rules = inhibit_rules()
    assert rules[0]["source_matchers"][1] == 'tier="page"'
    assert rules[0]["target_matchers"][1] == 'tier="ticket"'
    assert rules[0]["equal"] == ["alertname", "slo", "service"]
    assert rules[1]["source_matchers"] == [f'alertname="{PROXY_TARGET_DOWN}"']


def test_alert_files_are_written_beside_each_other(tmp_path: Path) -> None:
    paths = write_alert_files(_reference(), tmp_path / "shop.rules.yaml")
    assert [p.name for p in paths] == ["shop.rules.yaml", "shop.rules.test.yaml", "shop.inhibit.yaml"]
    assert yaml.safe_load(paths[1].read_text(encoding="utf-8"))["rule_files"] == ["shop.rules.yaml"]


def test_lint_accepts_the_generated_rules() -> None:
    assert lint_rules(build_rules(plan_alerts(_reference()))) == []


def test_lint_rejects_broken_conventions() -> None:
    rules = build_rules(plan_alerts(_reference()))
    alert = rules["groups"][1]["rules"][0]
    alert["alert"] = "errorBudget"
    alert["labels"]["severity"] = "page"
    alert["annotations"]["summary"] = "burning {{ $value }}"
    del alert["annotations"]["description"]
    alert["annotations"]["runbook_url"] = "docs/runbooks.md"
    rules["groups"][0]["rules"][0]["record"] = "no_colons"
    problems = "\n".join(lint_rules(rules))
    for expected in ("not CamelCase with the 'Slogate' prefix", "severity label 'page'",
                     "the summary is templated", "no description", "not a URL with an anchor",
                     "not level:metric:operations"):
        assert expected in problems


def test_buckets_of_a_live_target_and_an_off_bucket_threshold() -> None:
    with ReferenceTarget() as target:
        before = requests.get(f"{target.proxy_url}/metrics", timeout=5).text
        requests.get(f"{target.proxy_url}/content/1", timeout=5)
        text = requests.get(f"{target.proxy_url}/metrics", timeout=5).text
    with pytest.raises(ValueError, match="has not served a request yet"):
        buckets_from_exposition(before, DEFAULT_CONTRACT)
    buckets = buckets_from_exposition(text, DEFAULT_CONTRACT)
    assert buckets == list(LATENCY_BUCKETS_S)
    spec = parse_spec("service: s\nobjectives:\n"
                      "  - {name: slow, kind: latency, percentile: p99, threshold: 300ms}\n")
    with pytest.raises(ValueError, match=r"nearest buckets: 250ms \(le=0.25\) and 500ms \(le=0.5\)"):
        build_rules(plan_alerts(spec, options=RuleOptions(buckets=buckets)))
    with pytest.raises(ValueError, match="no other_seconds_bucket series"):
        buckets_from_exposition(text, DEFAULT_CONTRACT.with_overrides({"request_duration": "other_seconds"}))


def test_every_alert_links_a_runbook_section_that_exists() -> None:
    runbooks = (REFERENCE_SPEC.parents[2] / "docs" / "runbooks.md").read_text(encoding="utf-8")
    anchors = {line[3:].strip().lower() for line in runbooks.splitlines() if line.startswith("## ")}
    groups = build_rules(plan_alerts(_reference()))["groups"]
    names = {r["alert"] for g in groups for r in g["rules"] if "alert" in r}
    assert len(names) == 9
    for name in names:
        assert name.lower() in anchors, f"docs/runbooks.md has no section for {name}"
        for part in ("**What it means.**", "**How to check.**", "**What to do.**"):
            section = runbooks.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
            assert part in section, f"{name}: no {part}"
