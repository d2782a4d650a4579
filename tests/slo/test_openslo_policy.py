"""OpenSLO AlertPolicy / AlertCondition documents into the spec's alert policies, and the errors
(file, line, field) for what cannot become a burn-rate alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.slo.spec import BurnRateCondition
from slogate.slo.specfile.load import SpecError, load_spec, parse_spec

POLICY_SPEC = Path(__file__).parents[1] / "alerts" / "data" / "openslo-alert-policy.yaml"


def test_policy_and_referenced_condition_load() -> None:
    spec = load_spec(POLICY_SPEC)
    [policy] = spec.alert_policies
    assert policy.name == "shop-burn" and policy.objectives == ("availability",)
    assert policy.conditions == (
        BurnRateCondition("fast", 10.0, 7200.0, "page", "critical", 120.0),
        BurnRateCondition("slow", 2.0, 43200.0, "ticket", "warning", 7200.0),
    )
    assert spec.alert_policies_of("latency") == ()


@pytest.mark.parametrize("change, expected", [
    (("kind: burnrate\n          op: gte", "kind: threshold\n          op: gte"),
     "policy.yaml:72: AlertPolicy 'shop-burn'.spec.conditions[0].spec.condition.kind: unsupported"),
    (("op: gt\n", "op: lt\n"), "policy.yaml:90: AlertCondition 'slow'.spec.condition.op: expected gt"),
    (("severity: page", "severity: sev1"), "policy.yaml:70: AlertPolicy 'shop-burn'.spec.conditions[0]"
                                           ".spec.severity: expected one of page"),
    (("threshold: 2\n", "threshold: -2\n"), "AlertCondition 'slow'.spec.condition.threshold: expected"),
    (("lookbackWindow: 2h", "lookbackWindow: soon"), "condition.lookbackWindow: expected"),
    (("conditionRef: slow", "conditionRef: missing"),
     "policy.yaml:77: AlertPolicy 'shop-burn'.spec.conditions[1].conditionRef: no AlertCondition"),
])
def test_unusable_conditions_are_named_with_file_and_line(change: tuple[str, str], expected: str) -> None:
    text = POLICY_SPEC.read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(SpecError) as caught:
        parse_spec(text.replace(*change, 1), "policy.yaml")
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems
