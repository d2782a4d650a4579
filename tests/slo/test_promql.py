"""The PromQL building blocks that the alert rules and the dashboards share (``slo.promql``)."""

from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from slogate.slo import promql
from slogate.slo.contract import DEFAULT_CONTRACT, LATENCY_BUCKETS_S, MetricContract
from slogate.slo.specfile.load import parse_spec


def test_numbers_are_exact() -> None:
    assert promql.number(1 - 0.999) == "0.001"
    assert promql.number(14.4 * 0.001) == "0.0144"
    assert promql.number(0.02 * 30 * 86400 / 3600) == "14.4"
    assert promql.number(0.0) == "0"
    assert promql.number(6.0) == "6"


def test_durations() -> None:
    assert [promql.duration(s) for s in (300, 1800, 3600, 86400, 259200, 1.5)] == [
        "5m", "30m", "1h", "1d", "3d", "1500ms"
    ]
    with pytest.raises(ValueError, match="positive duration"):
        promql.duration(0)


def test_label_names_and_matchers() -> None:
    assert promql.equals("slo", 'a "b"\\c') == 'slo="a \\"b\\"\\\\c"'
    assert promql.matchers_of({"slo": "x", "service": "y"}) == 'slo="x", service="y"'
    for bad in ("team-name", "1st", "__name__"):
        with pytest.raises(ValueError, match="label name"):
            promql.label_name(bad)
    assert promql.negate('=~"5.."') == '!~"5.."'
    assert promql.negate(' != "200" ') == '="200"'
    with pytest.raises(ValueError, match="label matcher"):
        promql.negate("500")
    assert promql.selector("up", "") == "up"
    assert promql.selector("up", 'job="a"') == 'up{job="a"}'


def test_endpoint_matchers() -> None:
    assert promql.endpoint_matchers(None, DEFAULT_CONTRACT) == []
    assert promql.endpoint_matchers("/v1/messages", DEFAULT_CONTRACT) == ['http_route="/v1/messages"']
    assert promql.endpoint_matchers("POST /v1/messages", DEFAULT_CONTRACT) == [
        'http_route="/v1/messages"', 'http_request_method="POST"'
    ]
    with pytest.raises(ValueError, match="cannot read the endpoint"):
        promql.endpoint_matchers("POST /a /b", DEFAULT_CONTRACT)


def test_status_matchers_come_from_the_contract() -> None:
    assert promql.failed_matcher(DEFAULT_CONTRACT) == 'http_response_status_code=~"5.."'
    assert promql.succeeded_matcher(DEFAULT_CONTRACT) == 'http_response_status_code!~"5.."'
    with pytest.raises(ValueError, match="label matcher"):
        promql.failed_matcher(MetricContract(error_status_matcher="500"))


def test_le_pattern_matches_what_exporters_write() -> None:
    registry = CollectorRegistry()
    histogram = Histogram("t_seconds", "t", buckets=LATENCY_BUCKETS_S, registry=registry)
    histogram.observe(0.3)
    exposition = generate_latest(registry).decode()
    written = re.findall(r'le="([^"]+)"', exposition)
    assert "0.25" in written and "1.0" in written and "10.0" in written  # prometheus_client style
    written = [le for le in written if le != "+Inf"]
    assert len(written) == len(LATENCY_BUCKETS_S)
    for bound, le in zip(LATENCY_BUCKETS_S, written, strict=True):
        pattern = re.compile(promql.le_pattern(bound))
        # RE2 label matchers are fully anchored, like fullmatch.
        assert [w for w in written if pattern.fullmatch(w)] == [le], (bound, pattern.pattern)
        go_style = promql.number(bound)  # Go's client and Prometheus 3 write 1, 10, 0.25
        assert pattern.fullmatch(go_style), (bound, go_style)
    assert promql.le_pattern(0.25) == r"0\.250*"
    assert promql.le_pattern(1.0) == r"1(\.0*)?"
    assert re.fullmatch(promql.le_pattern(1e-05), "1e-05")
    assert promql.le_matcher(0.25) == 'le=~"0\\\\.250*"'


def test_sli_names_budgets_and_ratio() -> None:
    spec = parse_spec(
        "service: shop\nperiod: 7d\nobjectives:\n"
        "  - {name: avail, kind: availability, endpoint: GET /a, target: 99.9%, period: 30d}\n"
        "  - {name: p99, kind: latency, percentile: p99, threshold: 250ms}\n"
    )
    avail, p99 = spec.objectives
    assert promql.record_name(avail, 300) == "slogate:sli_error_ratio:rate5m"
    assert promql.record_name(p99, 3600) == "slogate:sli_slow_ratio:rate1h"
    assert promql.recorded_sli(avail, "shop", 3600) == (
        'slogate:sli_error_ratio:rate1h{slo="avail", service="shop"}'
    )
    bad, total = promql.error_selectors(avail, DEFAULT_CONTRACT)
    where = 'http_route="/a", http_request_method="GET"'
    assert bad == f'http_server_request_duration_seconds_count{{{where}, http_response_status_code=~"5.."}}'
    assert total == f"http_server_request_duration_seconds_count{{{where}}}"
    assert promql.error_ratio("bad", "total", "5m") == (
        "(\n  sum(rate(bad[5m]))\n  or vector(0)\n)\n/\nsum(rate(total[5m]))"
    )
    assert promql.latency_matchers(p99, DEFAULT_CONTRACT) == ['http_response_status_code!~"5.."']


def test_burn_rates_read_the_recorded_slis() -> None:
    spec = parse_spec("service: shop\nobjectives:\n  - {name: avail, kind: availability, target: 99.9%}\n")
    (avail,) = spec.objectives
    recorded = 'slogate:sli_error_ratio:rate{}{{slo="avail", service="shop"}}'
    assert promql.burn_rate(avail, "shop", 3600, 0.001) == f"{recorded.format('1h')} / 0.001"
    assert promql.budget_remaining(avail, "shop", 30 * 86400, 0.001) == (
        f"1 - {recorded.format('30d')} / 0.001"
    )
    assert promql.burn_condition(avail, "shop", 3600, 300, 14.4 * 0.001) == (
        f"({recorded.format('1h')} > bool 0.0144)\n* ({recorded.format('5m')} > bool 0.0144)"
    )
