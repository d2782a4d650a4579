"""Dashboards of objectives that name their contract and label matchers: each SLI panel queries its
objective's contract's metrics with its matchers; the proxy overview is the spec's contract's."""

from __future__ import annotations

from typing import Any

import jsonschema

from slogate.dashboards import build_dashboard
from slogate.slo.contract import DEFAULT_CONTRACT
from slogate.slo.specfile.load import parse_spec
from tests.alerts.test_objective_matchers import CADDY_SPEC, REGEX_SPEC
from tests.dashboards.test_dashboard_model import exprs


def _queries(name: str, text: str) -> list[str]:
    return [e for _, e in exprs(build_dashboard(name, parse_spec(text)))]


def test_sli_panels_carry_each_objectives_matchers_and_contract() -> None:
    caddy = _queries("slos", CADDY_SPEC)
    assert any('caddy_http_request_duration_seconds_count{handler="reverse_proxy", server="srv0", '
               'method="GET", code=~"5.."}[$__rate_interval]' in q for q in caddy), caddy
    mixed = _queries("slos", REGEX_SPEC)
    assert any('{server=~"srv0|srv1", handler!="file_server", http_route="/api/items"' in q for q in mixed)
    assert any('nginx_ingress_controller_requests{path=~"/api(/.*)?", ingress="shop", status=~"5.."}' in q
               for q in mixed)


def test_the_proxy_overview_is_the_contract_the_spec_names(schema: dict[str, Any]) -> None:
    queries = _queries("proxy-overview", CADDY_SPEC)
    assert any("caddy_http_request_duration_seconds" in q for q in queries)
    assert not any(DEFAULT_CONTRACT.request_duration in q for q in queries)
    jsonschema.validate(build_dashboard("slos", parse_spec(REGEX_SPEC)), schema)
