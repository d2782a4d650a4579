"""OpenSLO v1 files load into the spec model, judge runs, and name what they cannot express."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.cli import main
from slogate.slo.evaluator import evaluate
from slogate.slo.sli import CounterRatio, QuantileThreshold
from slogate.slo.spec import AvailabilityObjective, ErrorRatioObjective, LatencyObjective
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


RATIO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: api}
spec:
  service: s
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  indicator:
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(http_requests_total{job="api", code=~"5..|429"}[5m]))'}
        total:
          metricSource: {type: Prometheus, spec: {query: 'sum(rate(http_requests_total{job="api"}[5m]))'}}
  objectives:
    - target: 0.999
"""


def test_a_ratio_on_any_metric_keeps_its_matchers_as_written() -> None:
    [objective] = parse_spec(RATIO).objectives
    assert isinstance(objective, ErrorRatioObjective) and objective.max_ratio == pytest.approx(0.001)
    assert isinstance(objective.sli, CounterRatio) and objective.sli.counter
    assert str(objective.sli.bad) == 'http_requests_total{job="api", code=~"5..|429"}'
    assert str(objective.sli.total) == 'http_requests_total{job="api"}'
    assert not objective.client_side  # not the contract's histogram: judged server-side only


def test_the_contracts_histogram_is_measured_client_side_with_its_statuses() -> None:
    text = RATIO.replace("http_requests_total", "http_server_request_duration_seconds_count").replace(
        'job="api", code', 'http_route="/content/{id}", http_response_status_code').replace(
        '{job="api"}', '{http_route="/content/{id}"}')
    [objective] = parse_spec(text).objectives
    assert objective.client_side and objective.endpoint == "/content/{id}"
    assert isinstance(objective, ErrorRatioObjective) and objective.error_statuses == ("5xx", "429")


def test_counter_false_is_honoured_on_selectors_and_refused_on_a_rate() -> None:
    gauges = RATIO.replace("counter: true", "counter: false").replace("sum(rate(", "sum(").replace(
        "[5m]))", ")")
    [objective] = parse_spec(gauges).objectives
    assert isinstance(objective.sli, CounterRatio) and not objective.sli.counter
    found = _problems(RATIO.replace("counter: true", "counter: false"))
    assert any("ratioMetric.counter: counter: false says the series are gauges" in p for p in found), found


def test_timeslices_have_openslos_meaning() -> None:
    """timeSliceTarget judges each slice; target is the share of good slices."""
    text = RATIO.replace("Occurrences", "Timeslices").replace(
        "- target: 0.999", "- {target: 0.9, timeSliceTarget: 0.99, timeSliceWindow: 1m}")
    [objective] = parse_spec(text).objectives
    assert isinstance(objective, ErrorRatioObjective)
    assert objective.max_ratio == pytest.approx(0.01)  # each slice: at most 1% bad
    assert (objective.window_s, objective.window_target) == (60.0, pytest.approx(0.9))


def test_a_threshold_metrics_target_is_the_share_of_good_data_points() -> None:
    query = "histogram_quantile(0.9, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m])))"
    text = SLO.replace("histogram_quantile(0.9, x)", query)
    strict, lenient = (parse_spec(text.replace("target: 0.99", f"target: {t}")).objectives[0]
                       for t in (0.99, 0.5))
    assert (strict.window_s, strict.window_target) == (300.0, pytest.approx(0.99))
    assert lenient.window_target == pytest.approx(0.5)
    assert isinstance(strict.sli, QuantileThreshold) and strict.sli.query == query


@pytest.mark.parametrize("window, period, calendar", [
    ("{duration: 1M, isRolling: false}", 30 * 86400.0, "month"),
    ("{duration: 1w, calendar: {startTime: '2022-01-01 00:00:00', timeZone: UTC}}", 7 * 86400.0, "week"),
    ("{duration: 2w, isRolling: true}", 14 * 86400.0, None),
])
def test_calendar_and_rolling_windows(window: str, period: float, calendar: str | None) -> None:
    spec = parse_spec(RATIO.replace("{duration: 28d, isRolling: true}", window))
    objective = spec.objectives[0]
    assert isinstance(objective, ErrorRatioObjective)
    assert (objective.period_s, objective.calendar, spec.calendar) == (period, calendar, calendar)


@pytest.mark.parametrize("window, expected", [
    ("{duration: 1m, isRolling: true}", "under the 1h minimum: 'm' is minutes"),
    ("{duration: 1M, isRolling: true}", "unsupported duration '1M' for a rolling window"),
    ("{duration: 1Q, isRolling: false}", "unsupported calendar window '1Q': supported are 1d, 1w and 1M"),
])
def test_windows_that_cannot_be_honoured_are_refused(window: str, expected: str) -> None:
    found = _problems(RATIO.replace("{duration: 28d, isRolling: true}", window))
    assert any("slo.yaml:7: document[0].spec.timeWindow[0].duration" in p and expected in p
               for p in found), found


def test_inline_alert_policies_apply_to_the_slo() -> None:
    text = RATIO + """\
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: inline-burn}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: fast}
            spec:
              severity: page
              condition: {kind: burnrate, op: gte, threshold: 14.4, lookbackWindow: 1h}
"""
    [policy] = parse_spec(text).alert_policies
    assert policy.name == "inline-burn" and policy.objectives == ("api",)
    assert policy.conditions[0].factor == 14.4


def test_notification_targets_are_accepted() -> None:
    target = "---\napiVersion: openslo/v1\nkind: AlertNotificationTarget\nmetadata: {name: pager}\n" \
             "spec: {target: pagerduty}\n"
    assert len(parse_spec(RATIO + target).objectives) == 1
