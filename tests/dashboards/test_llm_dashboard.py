"""The proxy overview's LLM row: its panels present exactly when the contract names the GenAI
histograms, the spec's TTFT and TPOT limits read at bucket bounds, valid Grafana JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from slogate.dashboards import build_dashboard
from slogate.dashboards.llm import ROW_TITLE, bound_under
from slogate.slo.contract import (
    DEFAULT_CONTRACT,
    GENAI_TTFT_BUCKETS_S,
    MetricContract,
    contracts_from_mapping,
)
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import load_spec, parse_spec
from slogate.target.metrics import (
    GENAI_TIME_PER_OUTPUT_TOKEN,
    GENAI_TIME_TO_FIRST_TOKEN,
    GENAI_TOKEN_TYPE_LABEL,
    GENAI_TOKEN_USAGE,
)

REPO = Path(__file__).resolve().parents[2]
LLM_PRESET = REPO / "slo" / "presets" / "llm-api-proxy.yaml"
LLM_TITLES = [
    "Time to first token p50 / p95 / p99", "Time per output token p50 / p95 / p99",
    "Output tokens per second", "Streams within the TTFT / TPOT limits",
]


def overview(spec: Spec, contract: MetricContract = DEFAULT_CONTRACT) -> dict[str, Any]:
    return build_dashboard("proxy-overview", spec, contract)


def llm_panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The panels under the LLM row (it is the last row)."""
    titles = [p["title"] for p in model["panels"]]
    if ROW_TITLE not in titles:
        return []
    return model["panels"][titles.index(ROW_TITLE) + 1:]


def test_the_default_contract_names_what_the_reference_target_exports() -> None:
    c = DEFAULT_CONTRACT
    assert (c.genai_time_to_first_token, c.genai_time_per_output_token, c.genai_token_usage,
            c.genai_token_type_label) == (GENAI_TIME_TO_FIRST_TOKEN, GENAI_TIME_PER_OUTPUT_TOKEN,
                                          GENAI_TOKEN_USAGE, GENAI_TOKEN_TYPE_LABEL)


def test_llm_row_from_the_genai_histograms(schema: dict[str, Any]) -> None:
    model = overview(load_spec(LLM_PRESET))
    assert not list(jsonschema.Draft7Validator(schema).iter_errors(model))
    found = llm_panels(model)
    assert [p["title"] for p in found] == LLM_TITLES
    assert [p["gridPos"]["w"] for p in found] == [6, 6, 6, 6]
    ttft, tpot, tokens, shares = (p["targets"] for p in found)
    assert [t["legendFormat"] for t in ttft] == ["p50", "p95", "p99"]
    assert ttft[2]["expr"] == (
        "histogram_quantile(0.99, sum by (le) (rate(gen_ai_server_time_to_first_token_seconds_bucket"
        '{instance=~"$instance"}[$__rate_interval])))')
    assert "gen_ai_server_time_per_output_token_seconds_bucket" in tpot[0]["expr"]
    assert tokens[0]["expr"] == ('sum(rate(gen_ai_client_token_usage_sum{gen_ai_token_type="output", '
                                 'instance=~"$instance"}[$__rate_interval]))')
    # The preset's TTFT 1 s and TPOT 100 ms (of its ttft, tpot and goodput objectives), once each.
    assert [t["legendFormat"] for t in shares] == ["TTFT ≤ 1s", "TPOT ≤ 100ms"]
    assert 'gen_ai_server_time_to_first_token_seconds_bucket{le=~"1(\\\\.0*)?"' in shares[0]["expr"]
    assert "/\nsum(rate(gen_ai_server_time_to_first_token_seconds_count" in shares[0]["expr"]
    assert 'le=~"0\\\\.10*"' in shares[1]["expr"]
    # The goodput objective's 95% is the dashed line.
    defaults = found[3]["fieldConfig"]["defaults"]
    assert defaults["thresholds"]["steps"] == [{"color": "red", "value": None},
                                               {"color": "green", "value": 0.95}]
    assert defaults["custom"]["thresholdsStyle"]["mode"] == "dashed"


def test_limits_off_the_buckets_are_read_at_the_bound_under_them() -> None:
    spec = parse_spec("""
service: chat
objectives:
  - {name: ttft, kind: ttft, endpoint: POST /v1/messages, percentile: p90, threshold: 300ms}
  - {name: ttft-tail, kind: ttft, endpoint: POST /v1/messages, percentile: p99, threshold: 250ms}
""")
    shares = llm_panels(overview(spec))[3]["targets"]
    # No TPOT limit in the spec: the preset's 100 ms.
    assert [t["legendFormat"] for t in shares] == [
        "TTFT ≤ 250ms", "TTFT ≤ 300ms (read at the bucket ≤ 250ms)", "TPOT ≤ 100ms"]
    assert bound_under(0.0005, GENAI_TTFT_BUCKETS_S) is None
    assert bound_under(10.0, GENAI_TTFT_BUCKETS_S) == 10.0


def test_reference_spec_gets_the_presets_limits(reference_spec: Spec) -> None:
    found = llm_panels(overview(reference_spec))
    assert [p["title"] for p in found] == LLM_TITLES
    assert [t["legendFormat"] for t in found[3]["targets"]] == ["TTFT ≤ 1s", "TPOT ≤ 100ms"]
    assert found[3]["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "off"


@pytest.mark.parametrize("preset", ["caddy", "litellm", "otel-http", "envoy"])
def test_no_llm_row_without_the_genai_histograms(reference_spec: Spec, preset: str) -> None:
    contract, _ = contracts_from_mapping({"preset": preset})
    model = overview(reference_spec, contract)
    assert not llm_panels(model)
    assert "gen_ai" not in str(model)


def test_each_panel_needs_its_own_histogram(reference_spec: Spec) -> None:
    contract, _ = contracts_from_mapping({"genai_time_per_output_token": None,
                                          "genai_token_usage": None, "selector": 'job="llm"'})
    found = llm_panels(overview(reference_spec, contract))
    assert [p["title"] for p in found] == [LLM_TITLES[0], LLM_TITLES[3]]
    assert [p["gridPos"]["w"] for p in found] == [12, 12]
    shares = found[1]["targets"]
    assert [t["legendFormat"] for t in shares] == ["TTFT ≤ 1s"]  # no TPOT histogram: no TPOT share
    assert all('job="llm"' in t["expr"] for p in found for t in p["targets"])
