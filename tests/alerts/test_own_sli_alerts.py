"""Alerts from SLIs the user wrote in their own PromQL (Sloth, Pyrra, OpenSLO): the rules read the
user's metrics and matchers, never the metric contract, keep the user's alert names, labels and
severities, and promtool behaviour tests fed with the user's own series fire when that SLI burns."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from slogate.alerts import plan_alerts, render_inhibit_rules, write_alert_files
from slogate.alerts.synthetic import labels_for, value_for
from slogate.slo.sli import Matcher, parse_selector
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import load_spec, parse_spec
from slogate.slo.specfile.problems import SpecError

CORPUS = Path(__file__).parents[1] / "slo" / "data" / "corpus"

SLOTH = """\
version: prometheus/v1
service: api
labels: {owner: team-a, tier: "2"}
slos:
  - name: requests-availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="api", verb!="WATCH", code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="api", verb!="WATCH"}[{{.window}}]))
    alerting:
      name: ApiHighErrorRate
      labels: {category: availability}
      annotations: {summary: High error rate on api responses}
      page_alert:
        labels: {severity: pageteam, routing_key: team-a}
      ticket_alert:
        labels: {severity: slack}
"""

PYRRA = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: query-latency, namespace: monitoring}
spec:
  target: "99"
  window: 28d
  indicator:
    latency:
      success:
        metric: prometheus_http_request_duration_seconds_bucket{handler=~"/api/v1/query(_range)?", le="0.5"}
      total:
        metric: prometheus_http_request_duration_seconds_count{handler=~"/api/v1/query(_range)?"}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: query-errors, namespace: monitoring}
spec:
  target: "99.5"
  window: 28d
  alerting: {name: QueryErrorBudgetBurn, severities: {fastBurn: page, mediumBurn: page}}
  indicator:
    ratio:
      grouping: [handler]
      errors:
        metric: prometheus_http_requests_total{handler=~"/api/v1/query.*", code!~"2..|3.."}
      total:
        metric: prometheus_http_requests_total{handler=~"/api/v1/query.*"}
"""

OPENSLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: edge-errors}
spec:
  service: edge
  indicator:
    metadata: {name: edge-errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: >-
                sum(rate(nginx_ingress_controller_requests{ingress=~"shop|cart", status=~"5..|429"}[5m]))
        total:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(nginx_ingress_controller_requests{ingress=~"shop|cart"}[5m]))'}
  timeWindow: [{duration: 1w, isRolling: false}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""


def _files(spec: Spec, folder: Path) -> tuple[dict[str, Any], dict[str, Any], Path]:
    rules, tests, _ = write_alert_files(spec, folder / "own.rules.yaml")
    return (yaml.safe_load(rules.read_text(encoding="utf-8")),
            yaml.safe_load(tests.read_text(encoding="utf-8")), tests)


def _promtool(promtool: str, *args: str) -> None:
    result = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _rules(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [rule for group in document["groups"] for rule in group["rules"] if kind in rule]


def _fired(tests: dict[str, Any], scenario: str) -> dict[str, list[dict[str, Any]]]:
    (case,) = [c for c in tests["tests"] if c["name"].startswith(scenario)]
    return {t["alertname"]: t["exp_alerts"] for t in case["alert_rule_test"]}


def test_sloth_rules_read_the_users_queries_and_keep_their_alerting(promtool: str, tmp_path: Path) -> None:
    rules, tests, path = _files(parse_spec(SLOTH, "sloth.yaml"), tmp_path)
    recorded = {r["record"]: r["expr"] for r in _rules(rules, "record")}
    one_hour = recorded["slogate:sli_error_ratio:rate1h"]
    assert 'http_requests_total{job="api", verb!="WATCH", code=~"(5..|429)"}[1h]' in one_hour
    assert "http_server_request_duration_seconds" not in "".join(recorded.values())
    assert "{{.window}}" not in "".join(recorded.values())
    burns = [r for r in _rules(rules, "alert") if r["alert"] == "ApiHighErrorRate"]
    pages = [r for r in burns if r["labels"]["slogate_tier"] == "page"]
    assert pages and all(r["labels"]["severity"] == "pageteam" and r["labels"]["routing_key"] == "team-a"
                         and r["labels"]["tier"] == "2" and r["labels"]["category"] == "availability"
                         and r["annotations"]["summary"] == "High error rate on api responses"
                         for r in pages)
    assert {r["labels"]["severity"] for r in burns} == {"pageteam", "slack"}
    # Fed with the user's own series, half of them bad: the user's alert fires, pages and tickets.
    fired = _fired(tests, "own-sli half-bad")["ApiHighErrorRate"]
    assert {a["exp_labels"]["slogate_tier"] for a in fired} == {"page", "ticket"}
    assert _fired(tests, "own-sli healthy")["ApiHighErrorRate"] == []
    series = [s["series"] for c in tests["tests"] if c["name"].startswith("own-sli")
              for s in c["input_series"]]
    assert any('code="500"' in s and 'verb="' in s and "WATCH" not in s for s in series)
    _promtool(promtool, "check", "rules", str(tmp_path / "own.rules.yaml"))
    _promtool(promtool, "test", "rules", str(path))


def test_sloth_inhibit_rules_pair_pages_and_tickets_by_the_moved_tier_label() -> None:
    plan = plan_alerts(parse_spec(SLOTH, "sloth.yaml"))
    inhibit = yaml.safe_load(render_inhibit_rules(plan.windows, plan.burn_names, plan.tier_labels))
    sources = [r["source_matchers"] for r in inhibit["inhibit_rules"]]
    assert any('slogate_tier="page"' in m for m in sources)
    assert any("ApiHighErrorRate" in m[0] for m in sources)


def test_pyrra_latency_and_grouped_ratio_fire_on_their_own_series(promtool: str, tmp_path: Path) -> None:
    rules, tests, path = _files(parse_spec(PYRRA, "pyrra.yaml"), tmp_path)
    recorded = "".join(r["expr"] for r in _rules(rules, "record"))
    assert 'prometheus_http_request_duration_seconds_bucket{handler=~"/api/v1/query(_range)?", le="0.5"}' \
        in recorded
    assert 'sum by (handler) (rate(prometheus_http_requests_total{handler=~"/api/v1/query.*", ' \
        'code!~"2..|3.."}[1h]))' in recorded
    slow = _fired(tests, "own-sli all-slow")["SlogateLatencyBudgetBurn"]
    assert slow and {a["exp_labels"]["slo"] for a in slow} == {"query-latency"}
    errors = _fired(tests, "own-sli half-bad")["QueryErrorBudgetBurn"]
    pages = [a for a in errors if a["exp_labels"]["tier"] == "page"]
    assert pages and all(a["exp_labels"]["severity"] == "page" and a["exp_labels"]["handler"] for a in pages)
    _promtool(promtool, "test", "rules", str(path))


def test_openslo_ratio_with_regex_on_a_calendar_week(promtool: str, tmp_path: Path) -> None:
    spec = parse_spec(OPENSLO, "openslo.yaml")
    rules, tests, path = _files(spec, tmp_path)
    recorded = {r["record"] for r in _rules(rules, "record")}
    # Alerts as for the period's length: a week is recorded, the month is not.
    assert "slogate:sli_error_ratio:rate7d" in recorded and "slogate:sli_error_ratio:rate30d" not in recorded
    fired = _fired(tests, "own-sli half-bad")["SlogateErrorBudgetBurn"]
    assert fired and all(a["exp_labels"]["slo"] == "edge-errors" for a in fired)
    (case,) = [c for c in tests["tests"] if c["name"].startswith("own-sli half-bad")]
    series = [s["series"] for s in case["input_series"]]
    assert any('ingress="shop"' in s and 'status="500"' in s for s in series)
    _promtool(promtool, "test", "rules", str(path))


@pytest.mark.slow  # promtool: every file's rules checked, each dialect's SLI shapes tested
def test_every_importable_corpus_file_gets_rules_whose_tests_pass(promtool: str, tmp_path: Path) -> None:
    written: list[list[Path]] = []
    tested: list[Path] = []
    shapes: set[tuple[str, tuple[str, ...]]] = set()
    for index, source in enumerate(sorted(CORPUS.rglob("*.y*ml"))):
        try:
            spec = load_spec(source)
        except SpecError:
            continue
        paths = write_alert_files(spec, tmp_path / str(index) / "corpus.rules.yaml")
        written.append(paths)
        # The scenarios of one origin's files of the same SLI shapes test the same rendering: one each.
        shape = (source.parent.name, tuple(sorted({type(o.sli).__name__ for o in spec.all_objectives})))
        if shape not in shapes:
            shapes.add(shape)
            tested.append(paths[1])
    assert len(written) >= 40 and len(tested) >= 5
    _promtool(promtool, "check", "rules", *(str(paths[0]) for paths in written))
    _promtool(promtool, "test", "rules", *(str(path) for path in tested))


@pytest.mark.parametrize(("matchers", "expected"), [
    ('x{code=~"5..|429"}', {"code": "500"}),
    ('x{code=~"[45]..", code!~"404|429|400"}', {"code": "500"}),
    ('x{code=~"2..|3..", code!~"2.."}', {"code": "300"}),
    ('x{path=~"/api/v1/query(_range)?"}', {"path": "/api/v1/query"}),
    ('x{verb!="WATCH", env=""}', {"verb": "synthetic"}),
])
def test_label_values_satisfy_every_matcher(matchers: str, expected: dict[str, str]) -> None:
    assert labels_for(parse_selector(matchers).matchers) == expected


def test_an_unsatisfiable_regex_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cannot synthesise a value of label 'a'"):
        value_for("a", (Matcher("a", "=~", "b"), Matcher("a", "!=", "b")))
