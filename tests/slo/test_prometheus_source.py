"""Prometheus as an SLI source, against an in-memory Prometheus: the queries asked, the answers
read as counts, and the verdicts those counts get (the live server is in tests/integration)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from slogate.slo.contract import DEFAULT_CONTRACT, LATENCY_BUCKETS_S
from slogate.slo.evaluator import evaluate
from slogate.slo.prometheus_source import (
    PrometheusApi,
    PrometheusError,
    PrometheusQueryError,
    evaluate_prometheus,
)
from slogate.slo.run import EndpointWindow
from slogate.slo.specfile.load import parse_spec
from tests.builders import CONTENT, START, make_run

END = START + 600.0


@dataclass
class FakePrometheus:
    """Answers the source's three kinds of query (requests by status, latency buckets, and
    ``histogram_quantile``) with fixed increases, and keeps every query it was asked."""

    statuses: Mapping[str, float] = field(default_factory=dict)
    buckets: Mapping[str, float] = field(default_factory=dict)
    """Cumulative counts by ``le`` label ('0.025', '+Inf')."""
    quantile: float | None = None
    url: str = "http://prometheus.test:9090"
    queries: list[tuple[str, float]] = field(default_factory=list)

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        self.queries.append((expr, at))
        if expr.startswith("histogram_quantile("):
            return [] if self.quantile is None else [{"metric": {}, "value": [at, repr(self.quantile)]}]
        if "_bucket" in expr:
            return [{"metric": {"le": le}, "value": [at, repr(v)]} for le, v in self.buckets.items()]
        label = DEFAULT_CONTRACT.status_label
        return [{"metric": {label: s}, "value": [at, repr(v)]} for s, v in self.statuses.items()]


def judge(objectives: str, prometheus: PrometheusApi, start: float = END - 600.0) -> dict[str, Any]:
    spec = parse_spec(f"service: s\nobjectives:\n{objectives}")
    return evaluate_prometheus(spec, prometheus, start, END, now=END).to_dict()


def test_ratios_and_throughput_count_whole_requests_by_status() -> None:
    # increase() extrapolates: 9,876.6 successes are 9,877 requests, 0.4 of a 500 is none.
    prometheus = FakePrometheus(statuses={"200": 9876.6, "503": 12.2, "404": 40.0, "500": 0.4})
    evaluation = judge("  - {name: errors, kind: error_ratio, max: 1%}\n"
                       "  - {name: client, kind: availability, target: 99%, error_statuses: [4xx]}\n"
                       "  - {name: rate, kind: throughput, min: 10/s}\n", prometheus)
    errors, client, rate = evaluation["objectives"]
    # The contract's error matcher (5xx) decides what failed, unless the objective names statuses.
    assert (errors["samples"], errors["bad_events"]) == (9929, 12)
    assert errors["reason"].startswith("error ratio 0.1209% <= 1% (12 of 9929 failed;")
    assert (client["samples"], client["bad_events"], client["verdict"]) == (9929, 40, "pass")
    assert rate["measured"] == pytest.approx(9929 / 600.0) and rate["verdict"] == "pass"
    assert evaluation["verdict"] == "pass"
    assert evaluation["run_id"] == f"prometheus http://prometheus.test:9090 {END - 600:.0f}..{END:.0f}"
    # Every query at the window's end, over the window's length.
    assert {at for _, at in prometheus.queries} == {END}
    assert all("[10m]" in expr for expr, _ in prometheus.queries)
    assert prometheus.queries[0][0] == ("sum by (http_response_status_code) "
                                        "(increase(http_server_request_duration_seconds_count[10m]))")


def _buckets(counts: Mapping[float, float]) -> dict[str, float]:
    """Cumulative bucket counts from per-bucket ones, ``le`` spelt as Python's client does."""
    total = 0.0
    cumulative: dict[str, float] = {}
    for bound in [*LATENCY_BUCKETS_S, math.inf]:
        total += counts.get(bound, 0.0)
        cumulative["+Inf" if bound == math.inf else repr(bound)] = total
    return cumulative


def test_a_percentile_is_decided_by_the_share_under_its_bucket_bound() -> None:
    # 990 of 1,000 successful requests at or under 50 ms, 10 slower.
    prometheus = FakePrometheus(buckets=_buckets({0.025: 900.0, 0.05: 90.0, 0.1: 10.0}), quantile=0.031)
    evaluation = judge("  - {name: p95, kind: latency, percentile: p95, threshold: 50ms, endpoint: "
                       "'GET /content/{id}'}\n"
                       "  - {name: share, kind: latency, target: 99.9%, threshold: 50ms}\n", prometheus)
    p95, share = evaluation["objectives"]
    assert (p95["verdict"], p95["unit"], p95["measured"]) == ("pass", "s", 0.031)
    assert (p95["samples"], p95["bad_events"], p95["ci_low"]) == (1000, 10, None)
    assert p95["reason"].startswith("p95 ≈ 31ms (histogram_quantile); share of successful requests "
                                    "under 50ms 99% >= 95%")
    assert "p95 <= 50ms iff the share of requests under 50ms >= 95%" in p95["formula"]
    assert (share["verdict"], share["unit"], share["measured"]) == ("fail", "ratio", 0.99)
    # Latency reads successful requests of the objective's route and method.
    expr = prometheus.queries[0][0]
    assert 'http_route="/content/{id}"' in expr and 'http_request_method="GET"' in expr
    assert 'http_response_status_code!~"5.."' in expr


def test_a_threshold_between_bucket_bounds_cannot_be_judged() -> None:
    prometheus = FakePrometheus(buckets=_buckets({0.025: 100.0}))
    with pytest.raises(PrometheusQueryError, match=r"threshold 30ms is not a bucket bound .*0\.025"):
        judge("  - {name: p95, kind: latency, percentile: p95, threshold: 30ms}\n", prometheus)


def test_ttfb_and_windowed_objectives_say_why_they_are_not_judged_here() -> None:
    prometheus = FakePrometheus(statuses={"200": 5000.0})
    evaluation = judge("  - {name: ttfb, kind: ttfb, percentile: p99, threshold: 10ms}\n"
                       "  - {name: per-minute, kind: error_ratio, max: 1%, window: 1m}\n", prometheus)
    ttfb, windowed = evaluation["objectives"]
    assert ttfb["verdict"] == "inconclusive" and "no time-to-first-byte histogram" in ttfb["reason"]
    assert windowed["verdict"] == "inconclusive"
    assert windowed["reason"].startswith("windowed objectives are judged from a run's slices")
    assert evaluation["verdict"] == "inconclusive"


def test_no_samples_and_a_bad_window_are_errors_never_a_pass() -> None:
    with pytest.raises(PrometheusError, match="no http_server_request_duration_seconds samples"):
        judge("  - {name: e, kind: error_ratio, max: 1%}\n", FakePrometheus(statuses={"200": 0.3}))
    with pytest.raises(PrometheusQueryError, match="must end after it starts"):
        judge("  - {name: e, kind: error_ratio, max: 1%}\n", FakePrometheus(), start=END)


def test_an_unreadable_error_matcher_is_bad_input() -> None:
    spec = parse_spec("service: s\nobjectives:\n  - {name: e, kind: error_ratio, max: 1%}\n")
    broken = DEFAULT_CONTRACT.with_overrides({"error_status_matcher": "5xx"})
    with pytest.raises(PrometheusQueryError, match="cannot read the error matcher '5xx'"):
        evaluate_prometheus(spec, FakePrometheus(statuses={"200": 10.0}), START, END, contract=broken)


def test_the_same_counts_get_the_same_verdicts_from_a_run_and_from_prometheus() -> None:
    run = make_run({CONTENT: ([20.0] * 982 + [40.0] * 10, {"503": 8})}, slices=10)
    spec = parse_spec("service: s\nobjectives:\n"
                      "  - {name: errors, kind: error_ratio, max: 1%}\n"
                      "  - {name: server, kind: availability, target: 98.5%, error_statuses: [5xx]}\n"
                      "  - {name: rate, kind: throughput, min: 900/s}\n"
                      "  - {name: share, kind: latency, target: 98%, threshold: 25ms}\n"
                      "  - {name: p99, kind: latency, percentile: p99, threshold: 50ms}\n")
    window = EndpointWindow.merged(w for s in run.slices for w in s.endpoints.values())
    per_bucket: dict[float, float] = {}
    below = 0
    for bound in LATENCY_BUCKETS_S:
        at_or_below = window.ok.count_at_or_below(bound * 1e6)
        per_bucket[bound] = float(at_or_below - below)
        below = at_or_below
    prometheus = FakePrometheus(statuses={s: float(n) for s, n in window.statuses.items()},
                                buckets=_buckets(per_bucket), quantile=0.0201)
    from_run = evaluate(spec, run, now=END)
    from_prometheus = evaluate_prometheus(spec, prometheus, run.started_at, run.ended_at, now=END)
    for client, server in zip(from_run.objectives, from_prometheus.objectives, strict=True):
        if client.name == "p99":  # shown with Prometheus's interpolated percentile, decided alike
            assert (client.verdict, client.bad_events) == (server.verdict, server.bad_events)
            continue
        # What a run covered between its slices, Prometheus's counts cannot say.
        covered = {"slices_judged", "effective_samples", "between_slice_variation", "regime_change",
                   "coverage"}
        assert {k: v for k, v in client.to_dict().items() if k not in covered} == {
            **{k: v for k, v in server.to_dict().items() if k not in covered}, "matched_endpoints": [CONTENT]}
    assert from_run.verdict == from_prometheus.verdict == "pass", from_run.reasons


@dataclass
class QueryAnswers:
    """An in-memory Prometheus answering each query by the first fragment it contains."""

    answers: Mapping[str, float]
    url: str = "http://prometheus.test:9090"
    queries: list[str] = field(default_factory=list)

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        self.queries.append(expr)
        value = next((v for fragment, v in self.answers.items() if fragment in expr), None)
        return [] if value is None else [{"metric": {}, "value": [at, repr(value)]}]


def _own(text: str, source: str, prometheus: QueryAnswers) -> dict[str, Any]:
    from slogate.slo.specfile.load import parse_spec as parse

    return evaluate_prometheus(parse(text, source), prometheus, END - 600.0, END, now=END).to_dict()


def test_sloth_objective_is_judged_from_its_own_event_queries() -> None:
    from tests.alerts.test_own_sli_alerts import SLOTH

    # Rates per second over the 10-minute window: 100/s in all, 0.05/s bad: 60,000 and 30.
    prometheus = QueryAnswers({'code=~"(5..|429)"': 0.05, "http_requests_total": 100.0})
    evaluation = _own(SLOTH, "sloth.yaml", prometheus)
    (objective,) = evaluation["objectives"]
    assert (objective["samples"], objective["bad_events"]) == (60000, 30)
    assert objective["verdict"] == "pass"
    assert all("[10m]" in q and "{{.window}}" not in q for q in prometheus.queries)
    assert not any("http_server_request_duration_seconds" in q for q in prometheus.queries)


def test_pyrra_latency_and_ratio_are_counted_by_increase_of_their_own_series() -> None:
    from tests.alerts.test_own_sli_alerts import PYRRA

    prometheus = QueryAnswers({'le="0.5"': 9800.0, "_count": 10000.0, 'code!~"2..|3.."': 400.0,
                               "prometheus_http_requests_total": 10000.0})
    latency, errors = _own(PYRRA, "pyrra.yaml", prometheus)["objectives"]
    assert (latency["samples"], latency["bad_events"], latency["verdict"]) == (10000, 200, "fail")
    assert (errors["samples"], errors["bad_events"], errors["verdict"]) == (10000, 400, "fail")
    assert 'sum(increase(prometheus_http_request_duration_seconds_bucket{handler=~"/api/v1/query' \
        '(_range)?", le="0.5"}[10m]))' in prometheus.queries


def test_a_precomputed_ratio_query_is_inconclusive_and_says_why() -> None:
    raw = ("version: prometheus/v1\nservice: s\nslos:\n  - name: raw\n    objective: 99\n"
           "    sli:\n      raw:\n        error_ratio_query: max(errors_ratio[{{.window}}])\n")
    with pytest.raises(PrometheusError, match="samples of the SLOs' own queries"):
        _own(raw, "raw.yaml", QueryAnswers({}))
    events = ("  - name: events\n    objective: 99\n    sli:\n      events:\n"
              "        error_query: sum(increase(bad_total[{{.window}}]))\n"
              "        total_query: sum(increase(all_total[{{.window}}]))\n")
    evaluation = _own(raw + events, "raw.yaml", QueryAnswers({"bad_total": 1.0, "all_total": 5000.0}))
    judged_raw, judged_events = evaluation["objectives"]
    assert judged_raw["verdict"] == "inconclusive"
    assert "precomputed ratio (max(errors_ratio[{{.window}}]))" in judged_raw["reason"]
    assert "not supported by gate --prometheus yet" in judged_raw["reason"]
    # increase() already counts events: not multiplied by the window.
    assert (judged_events["samples"], judged_events["bad_events"]) == (5000, 1)
