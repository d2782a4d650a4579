"""Contracts where they belong: a spec names its contract (for the service or one objective), which
wins over the command's; an objective's label matchers join its contract's selectors; the OpenSLO
dialect reads its queries under the command's contract; ``gate --prometheus`` queries with both."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from slogate.slo.contract import DEFAULT_CONTRACT, contracts_from_mapping
from slogate.slo.prometheus_source import evaluate_prometheus
from slogate.slo.sli import Matcher
from slogate.slo.spec import contract_notes, objective_contract
from slogate.slo.specfile.load import load_spec, parse_spec
from slogate.slo.specfile.problems import SpecError

CADDY, _ = contracts_from_mapping({"preset": "caddy"})
ENVOY, _ = contracts_from_mapping({"preset": "envoy"})

SPEC = """\
service: shop
contract: caddy
objectives:
  - name: api
    kind: availability
    target: 99.9%
    endpoint: GET /api/items
    matchers: {handler: reverse_proxy, server: srv0}
  - name: edge
    kind: error_ratio
    max: 1%
    contract: envoy
    matchers: ['envoy_cluster_name=~"api|api-canary"', 'envoy_response_code_class!="4"']
  - name: all
    kind: error_ratio
    max: 1%
"""

OPENSLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-errors}
spec:
  service: shop
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  indicator:
    metadata: {name: api-errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: 'sum(rate(caddy_http_request_duration_seconds_count{handler="/api", code=~"5.."}[5m]))'
        total:
          metricSource:
            type: Prometheus
            spec: {query: 'sum(rate(caddy_http_request_duration_seconds_count{handler="/api"}[5m]))'}
  objectives:
    - target: 0.999
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "spec.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_spec_names_its_contract_and_an_objective_its_own() -> None:
    spec = parse_spec(SPEC)
    api, edge, every = spec.objectives
    assert spec.contract == CADDY and edge.contract == ENVOY and api.contract is None
    assert api.matchers == (Matcher("handler", "=", "reverse_proxy"), Matcher("server", "=", "srv0"))
    assert edge.matchers == (Matcher("envoy_cluster_name", "=~", "api|api-canary"),
                             Matcher("envoy_response_code_class", "!=", "4"))
    # Precedence: the objective's own, then the spec's, then the command's.
    assert objective_contract(spec, every, ENVOY) == CADDY
    assert objective_contract(spec, edge, DEFAULT_CONTRACT).request_count == ENVOY.request_count


def test_matchers_join_the_selector_and_replace_the_endpoints_route() -> None:
    spec = parse_spec(SPEC)
    api = objective_contract(spec, spec.objectives[0], DEFAULT_CONTRACT)
    assert api.selector == 'handler="reverse_proxy", server="srv0"'
    assert api.route_label == "" and api.method_label == "method"  # the handler label is the matchers'
    with_job = objective_contract(parse_spec(SPEC.replace("contract: caddy", "contract: {preset: caddy, "
                                                          "selector: 'job=\"caddy\"'}")),
                                  spec.objectives[0], DEFAULT_CONTRACT)
    assert with_job.selector == 'job="caddy", handler="reverse_proxy", server="srv0"'


def test_a_command_contract_the_spec_overrides_is_said() -> None:
    spec = parse_spec(SPEC)
    edge = "<memory>: objective 'edge' names the envoy contract; it is used instead of the caddy contract"
    assert contract_notes(spec, ENVOY) == [
        "<memory>: the spec names the caddy contract; it is used instead of --contract (the envoy "
        "contract) for its objectives and health alerts", edge]
    assert contract_notes(spec, CADDY) == [edge]


def test_a_contract_file_beside_the_spec(tmp_path: Path) -> None:
    (tmp_path / "proxy.yaml").write_text("preset: caddy\nselector: 'job=\"edge\"'\n", encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(SPEC.replace("contract: caddy", "contract: proxy.yaml"),
                                        encoding="utf-8")
    spec = load_spec(tmp_path / "spec.yaml")
    assert spec.contract is not None and spec.contract.selector == 'job="edge"'
    assert spec.contract.request_duration == CADDY.request_duration


@pytest.mark.parametrize(("edit", "expected"), [
    (("matchers: {handler: reverse_proxy, server: srv0}", "matchers: ['handler=reverse_proxy']"),
     "spec.yaml:8: objectives[0].matchers[0]: expected PromQL label matchers such as handler=\"api\""),
    (("matchers: {handler: reverse_proxy, server: srv0}", "matchers: {handler: [a, b]}"),
     "spec.yaml:8: objectives[0].matchers.handler: expected the label's value as text"),
    (("matchers: {handler: reverse_proxy, server: srv0}", "matchers: ['path=~\"(unclosed\"']"),
     "spec.yaml:8: objectives[0].matchers: path=~\"(unclosed\": not a valid regular expression"),
    (("matchers: {handler: reverse_proxy, server: srv0}", "matchers: {le: '0.25'}"),
     "spec.yaml:8: objectives[0].matchers: le=\"0.25\" picks the histogram's bucket bound"),
    (("matchers: {handler: reverse_proxy, server: srv0}", "matchers: {__name__: x}"),
     "spec.yaml:8: objectives[0].matchers: '__name__' is not a usable Prometheus label name"),
    (("matchers: {handler: reverse_proxy, server: srv0}", "matchers: 42"),
     "spec.yaml:8: objectives[0].matchers: expected a mapping of labels to values"),
    (("contract: envoy", "contract: envoi"),
     "spec.yaml:12: objectives[1].contract: no contract file envoi and no contract preset 'envoi'; presets:"),
    (("contract: caddy", "contract: {request_durations: x}"),
     "spec.yaml:2: contract: unknown metric contract field(s) request_durations"),
])
def test_a_bad_matcher_or_contract_names_file_line_and_field(edit: tuple[str, str], expected: str) -> None:
    found = _problems(SPEC.replace(*edit))
    assert any(p.startswith(expected) for p in found), found


def test_run_only_kinds_take_no_matchers() -> None:
    text = "service: s\nobjectives:\n  - {name: hits, kind: hit_ratio, target: 90%, matchers: {a: b}}\n"
    assert any("objectives[0].matchers: unknown field" in p for p in _problems(text))


def test_openslo_queries_are_read_under_the_given_contract() -> None:
    [default] = parse_spec(OPENSLO).objectives
    assert not default.client_side  # not the default contract's metric: server-side only
    [caddy] = parse_spec(OPENSLO, contract=CADDY).objectives
    assert caddy.client_side and caddy.endpoint == "/api" and caddy.error_statuses == ()


@dataclass
class Recorder:
    """A Prometheus that answers every query with 100 requests, 1 of them failed, and keeps the
    queries."""

    url: str = "http://prometheus.test:9090"
    queries: list[str] = field(default_factory=list)

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        self.queries.append(expr)
        return [{"metric": {"code": "200", "envoy_response_code_class": "2"}, "value": [at, "99"]},
                {"metric": {"code": "503", "envoy_response_code_class": "5"}, "value": [at, "1"]}]


def test_gate_prometheus_queries_each_objective_with_its_contract_and_matchers() -> None:
    prometheus = Recorder()
    evaluate_prometheus(parse_spec(SPEC), prometheus, 1000.0, 1600.0, contract=DEFAULT_CONTRACT, now=1600.0)
    api, edge, every = prometheus.queries
    assert f'{CADDY.request_count}{{handler="reverse_proxy", server="srv0", method="GET"}}' in api
    assert (f'{ENVOY.request_count}{{envoy_cluster_name=~"api|api-canary", envoy_response_code_class!="4"}}'
            in edge)
    assert "caddy_http_request_duration_seconds_count[" in every
