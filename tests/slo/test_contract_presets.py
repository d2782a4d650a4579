"""Every contract preset against a /metrics sample written from its project's documented format
(tests/data/metrics/<name>.txt): each metric and label the contract names is there and parses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from slogate.alerts import buckets_from_exposition
from slogate.slo.contract import PRESETS_DIR, MetricContract, contract_presets, contracts_from_mapping

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "metrics"
PRESETS = ("caddy", "haproxy", "envoy", "traefik", "nginx-ingress", "kong", "otel-http", "litellm")


def preset(name: str) -> MetricContract:
    return contracts_from_mapping({"preset": name})[0]


def samples(name: str) -> list[tuple[str, dict[str, str]]]:
    """Every sample's name as exported and labels. The whole text must parse; each line is read
    alone too (untyped), since the parser renames a counter without ``_total`` (nginx-ingress's
    ``nginx_ingress_controller_requests``, Envoy's ``envoy_cluster_upstream_rq``) while
    Prometheus keeps its name."""
    text = (SAMPLES / f"{name}.txt").read_text(encoding="utf-8")
    assert list(text_string_to_metric_families(text))
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return [(s.name, dict(s.labels)) for line in lines
            for family in text_string_to_metric_families(line + "\n") for s in family.samples]


def labels_of(found: list[tuple[str, dict[str, str]]], metric: str) -> list[dict[str, str]]:
    series = [labels for name, labels in found if name == metric]
    assert series, f"no {metric} series"
    return series


def test_every_preset_the_issue_names_is_packaged() -> None:
    assert sorted(PRESETS) == contract_presets()


@pytest.mark.parametrize("name", PRESETS)
def test_the_preset_says_where_it_was_taken_from(name: str) -> None:
    header = (PRESETS_DIR / f"{name}.yaml").read_text(encoding="utf-8").split("\n\n")[0]
    assert re.search(r"https://\S+", header), "the header comment names the documentation"
    first = (SAMPLES / f"{name}.txt").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# written from the documented format of https://")
    assert first.endswith(", not scraped")
    assert preset(name).name == name


@pytest.mark.parametrize("name", PRESETS)
def test_requests_are_counted_by_route_and_status_in_the_preset_form(name: str) -> None:
    contract, found = preset(name), samples(name)
    for labels in labels_of(found, contract.request_count):
        assert contract.status_label in labels
        assert contract.route_label in labels
        if contract.method_label:
            assert contract.method_label in labels
        form = r"[1-5]xx|other" if contract.status_form == "class" else r"[1-5][0-9][0-9]"
        assert re.fullmatch(form, labels[contract.status_label])


@pytest.mark.parametrize("name", [n for n in PRESETS if preset(n).has_latency])
def test_the_latency_histogram_has_the_declared_buckets_and_labels(name: str) -> None:
    contract = preset(name)
    text = (SAMPLES / f"{name}.txt").read_text(encoding="utf-8")
    assert buckets_from_exposition(text, contract) == list(contract.buckets)
    for labels in labels_of(samples(name), contract.request_bucket):
        assert contract.route_label in labels
        assert (contract.status_label in labels) == contract.latency_status


@pytest.mark.parametrize("name", PRESETS)
def test_every_other_metric_the_preset_names_is_exported(name: str) -> None:
    contract, found = preset(name), samples(name)
    named = {
        contract.active_requests: None,
        contract.cache_requests: contract.cache_result_label,
        f"{contract.upstream_duration}_bucket" if contract.upstream_duration else "": "le",
        contract.upstream_errors: None,
        contract.rate_limited: None,
        contract.circuit_breaker_state: None,
        contract.llm_tokens: contract.token_type_label,
    }
    for metric, label in named.items():
        if metric:
            for labels in labels_of(found, metric):
                assert label is None or label in labels


def test_haproxy_has_no_latency_histogram_and_counts_status_classes() -> None:
    contract = preset("haproxy")
    assert not contract.has_latency and contract.status_form == "class"
    assert contract.request_count == "haproxy_backend_http_responses_total"


def test_millisecond_histograms_give_bounds_in_seconds() -> None:
    envoy, kong = preset("envoy"), preset("kong")
    assert envoy.duration_unit == kong.duration_unit == "ms"
    assert 0.25 in envoy.buckets_s and envoy.le(0.25) == 250
    assert kong.seconds(200.0) == pytest.approx(0.2)
