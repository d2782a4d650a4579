"""Sloth prometheus/v1 files and PrometheusServiceLevel resources load with the user's queries and
alert wishes; what Sloth runs as Go code (plugins) is refused with file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.slo.sli import ErrorRatioQuery, EventQueries
from slogate.slo.spec import AvailabilityObjective
from slogate.slo.specfile.load import SpecError, load_spec, parse_spec

CORPUS = Path(__file__).parent / "data" / "corpus" / "sloth"


@pytest.mark.parametrize("name", ["examples_getting-started.yml", "examples_k8s-getting-started.yml"])
def test_the_file_and_the_crd_load_the_same_objective(name: str) -> None:
    spec = load_spec(CORPUS / name)
    assert spec.service == "myservice" and spec.labels["tier"] == "2"
    [objective] = spec.objectives
    assert isinstance(objective, AvailabilityObjective) and objective.target == 0.999
    assert objective.period_s == 30 * 86400 and not objective.client_side
    assert objective.sli == EventQueries(
        bad='sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))',
        total='sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))')
    alerting = objective.alerting
    assert alerting is not None and alerting.name == "MyServiceHighErrorRate"
    assert alerting.labels == {"category": "availability"}
    assert alerting.annotations["summary"] == "High error rate on 'myservice' requests responses"
    assert alerting.page.labels == {"severity": "pageteam", "routing_key": "myteam"}
    assert alerting.ticket.severity == "slack" and not alerting.disabled


def test_a_raw_ratio_and_disabled_alerts() -> None:
    [objective] = load_spec(CORPUS / "examples_raw-home-wifi.yml").objectives
    assert isinstance(objective.sli, ErrorRatioQuery) and "{{.window}}" in objective.sli.ratio
    [quiet] = load_spec(CORPUS / "examples_no-alerts.yml").objectives
    assert quiet.alerting is not None and quiet.alerting.disabled


SPEC = """\
version: prometheus/v1
service: svc
slos:
  - name: availability
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(errors_total[{{.window}}]))
        total_query: sum(rate(requests_total[{{.window}}]))
"""


@pytest.mark.parametrize("change, expected", [
    (("prometheus/v1", "prometheus/v2"), "slo.yaml:1: document[0].version: unsupported Sloth version"),
    (("objective: 99.5", "objective: 100"), "slo.yaml:5: slos[0].objective: expected a percentage"),
    (("[{{.window}}]))\n        total", "[5m]))\n        total"),
     "slo.yaml:8: slos[0].sli.events.error_query: expected the range placeholder {{.window}}"),
    (("    sli:\n", "    plugins: {chain: [{id: x}]}\n    sli:\n"),
     "slo.yaml:6: slos[0].plugins: Sloth SLO plugins"),
    (("      events:", "      plugin: {id: my_plugin}\n      other:"), "slos[0].sli.other: unknown field"),
])
def test_what_cannot_be_read_is_named(change: tuple[str, str], expected: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(SPEC.replace(*change), "slo.yaml")
    assert any(expected in str(p) for p in info.value.problems), info.value.problems
