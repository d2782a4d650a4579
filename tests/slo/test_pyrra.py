"""Pyrra ServiceLevelObjective resources load with the user's metrics, matchers and grouping."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.slo.sli import CounterRatio, EventQueries, HistogramLatency
from slogate.slo.spec import AvailabilityObjective, LatencyObjective
from slogate.slo.specfile.load import SpecError, load_spec, parse_spec

CORPUS = Path(__file__).parent / "data" / "corpus" / "pyrra"


def test_a_ratio_keeps_its_regex_matchers_and_grouping() -> None:
    spec = load_spec(CORPUS / "prometheus-http.yaml")
    [objective] = spec.objectives
    assert isinstance(objective, AvailabilityObjective) and objective.target == 0.99
    assert objective.period_s == spec.period_s == 7 * 86400 and not objective.client_side
    assert isinstance(objective.sli, CounterRatio) and objective.sli.grouping == ("handler",)
    assert str(objective.sli.bad) == 'prometheus_http_requests_total{handler=~"/api.*", code=~"5.."}'


def test_a_latency_on_any_histogram_with_negative_matchers() -> None:
    [objective] = load_spec(CORPUS / "caddy-response-latency.yaml").objectives
    assert isinstance(objective, LatencyObjective) and objective.form == "budget"
    assert (objective.percentile, objective.threshold_s) == (90.0, 0.05)
    assert isinstance(objective.sli, HistogramLatency) and objective.sli.le == "0.05"
    assert str(objective.sli.total) == \
        'caddy_http_response_duration_seconds_count{job="caddy", handler="subroute", code!~"5.."}'


def test_a_bool_gauge_counts_good_samples_per_group() -> None:
    [objective] = load_spec(CORPUS / "prometheus-probe-success.yaml").objectives
    assert objective.sli == EventQueries(
        good="sum by (target)(sum_over_time(probe_success[{{.window}}]))",
        total="sum by (target)(count_over_time(probe_success[{{.window}}]))")


SLO = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: api, labels: {pyrra.dev/team: storage}}
spec:
  target: '99.9'
  window: 4w
  indicator:
    latency:
      success: {metric: 'http_request_duration_milliseconds_bucket{le="250"}'}
      total: {metric: 'http_request_duration_milliseconds_count'}
  alerting:
    name: ApiSlow
    severities: {fastBurn: page, mediumBurn: page, slowBurn: ticket}
"""


def test_milliseconds_buckets_and_alerting() -> None:
    [objective] = parse_spec(SLO).objectives
    assert isinstance(objective, LatencyObjective) and objective.threshold_s == 0.25
    assert isinstance(objective.sli, HistogramLatency) and objective.sli.unit == "ms"
    alerting = objective.alerting
    assert alerting is not None and alerting.name == "ApiSlow" and alerting.labels == {"team": "storage"}
    assert (alerting.page.severity, alerting.ticket.severity) == ("page", "ticket")


@pytest.mark.parametrize("change, expected", [
    (("window: 4w", "window: 30m"), "slo.yaml:6: document[0].spec.window: an SLO period of 1800 s is under"),
    (("target: '99.9'", "target: high"), "slo.yaml:5: document[0].spec.target: expected a percentage"),
    (("mediumBurn: page", "mediumBurn: warn"), "fastBurn and mediumBurn are one alert tier"),
    (('le="250"', 'le="+Inf"'), "success.metric: expected a histogram bucket with a finite bound"),
])
def test_what_cannot_be_honoured_is_named(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(SLO.replace(*change), "slo.yaml")
    assert any(expected in str(p) for p in info.value.problems), info.value.problems
