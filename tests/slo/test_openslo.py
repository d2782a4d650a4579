"""OpenSLO v1 files load into the spec model, judge runs, and name what they cannot express."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.cli import main
from slogate.slo.evaluator import evaluate
from slogate.slo.spec import AvailabilityObjective, LatencyObjective
from slogate.slo.specfile.load import SpecError, load_spec, parse_spec
from tests.builders import CONTENT, make_run

OPENSLO = Path(__file__).parent / "data" / "openslo.yaml"


def test_openslo_file_loads_into_the_model() -> None:
    spec = load_spec(OPENSLO)
    assert spec.service == "checkout" and spec.labels["alert_policies"] == "fast-burn"
    availability, p99, share = spec.objectives
    assert isinstance(availability, AvailabilityObjective)
    assert availability.target == pytest.approx(0.99) and availability.endpoint == "/content/{id}"
    assert availability.period_s == 28 * 86400
    assert isinstance(p99, LatencyObjective) and p99.form == "percentile"
    assert (p99.percentile, p99.threshold_s, p99.endpoint) == (pytest.approx(99.0), 0.1, CONTENT)
    assert (p99.window_s, p99.window_target) == (2.0, pytest.approx(0.9))
    assert isinstance(share, LatencyObjective) and share.form == "budget"
    assert (share.percentile, share.threshold_s, share.endpoint) == (pytest.approx(95.0), 0.05, None)


def test_openslo_spec_judges_a_run() -> None:
    run = make_run([{CONTENT: ([10.0] * 1000, {"503": 1})}] * 10)
    evaluation = evaluate(load_spec(OPENSLO), run)
    assert [o.verdict for o in evaluation.objectives] == ["pass", "pass", "pass"], evaluation.reasons
    assert evaluation.objectives[1].windows_total == 5


def _problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "slo.yaml")
    return [str(p) for p in info.value.problems]


SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
  budgetingMethod: Occurrences
  indicator:
    spec:
      thresholdMetric:
        metricSource: {type: Prometheus, spec: {query: "histogram_quantile(0.9, x)"}}
  objectives:
    - {op: lte, value: 0.2, target: 0.99}
"""


def test_a_minimal_slo_loads() -> None:
    [objective] = parse_spec(SLO).objectives
    assert isinstance(objective, LatencyObjective) and objective.percentile == pytest.approx(90.0)


@pytest.mark.parametrize("change, expected", [
    (("kind: SLO", "kind: ServiceLevelObjective"),
     "slo.yaml:2: document[0].kind: unsupported OpenSLO kind"),
    (("openslo/v1", "openslo/v2alpha"), "slo.yaml:1: document[0].apiVersion: unsupported 'openslo/v2alpha'"),
    (("Occurrences", "RatioTimeslices"), "slo.yaml:6: document[0].spec.budgetingMethod: unsupported"),
    (("histogram_quantile(0.9, x)", "avg(x)"), "indicator.thresholdMetric: expected a Prometheus query"),
    (("op: lte", "op: gte"), "slo.yaml:12: document[0].spec.objectives[0].op: expected op lte"),
    (("budgetingMethod: Occurrences", "budgetingMethod: Occurrences\n  timeWindow: [{duration: 1M}]"),
     "timeWindow[0].duration: unsupported duration '1M'"),
])
def test_unsupported_parts_are_named_with_file_and_line(change: tuple[str, str], expected: str) -> None:
    found = _problems(SLO.replace(*change))
    assert any(expected in p for p in found), found


def test_validate_accepts_openslo_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(OPENSLO)]) == 0
    assert "ok (checkout, 3 objectives)" in capsys.readouterr().out


def _as_list(documents: str) -> str:
    """The '---' documents of an OpenSLO file as one top-level YAML list (the SDK's and oslo's form)."""
    return "".join("- " + doc.strip("\n").replace("\n", "\n  ") + "\n"
                   for doc in documents.split("---\n") if doc.strip())


def test_a_top_level_list_is_read_as_openslo_objects() -> None:
    text = OPENSLO.read_text(encoding="utf-8")
    listed = parse_spec(_as_list(text), str(OPENSLO))
    assert listed == load_spec(OPENSLO)


def test_a_top_level_list_gets_the_openslo_messages() -> None:
    found = _problems(_as_list(SLO.replace("openslo/v1", "openslo/v2alpha")))
    assert found == ["slo.yaml:1: document[0].apiVersion: unsupported 'openslo/v2alpha'; expected openslo/v1"]
    found = _problems(_as_list(SLO.replace("op: lte", "op: gte")))
    assert any("slo.yaml:12: document[0].spec.objectives[0].op: expected op lte" in p for p in found), found
