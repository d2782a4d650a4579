"""The metric contract: what a proxy exposes on /metrics, and so what dashboards, alerts and the
Prometheus source query. Every name and selector is overridable (like a monitoring mixin's
``_config``) so the same specs fit a proxy that exports other names.

Defaults follow the OpenTelemetry HTTP semantic conventions as exported to Prometheus, plus the
proxy metrics below. The reference target exposes exactly these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)
"""Histogram buckets (seconds) of the reference target: every common SLO threshold is a boundary."""


@dataclass(frozen=True)
class MetricContract:
    # Server-side request latency histogram (OTel http.server.request.duration), and its labels.
    request_duration: str = "http_server_request_duration_seconds"
    route_label: str = "http_route"
    method_label: str = "http_request_method"
    status_label: str = "http_response_status_code"
    # In-flight requests (OTel http.server.active_requests).
    active_requests: str = "http_server_active_requests"
    # Proxy metrics.
    cache_requests: str = "proxy_cache_requests_total"  # label result: hit | miss | bypass
    cache_result_label: str = "result"
    upstream_duration: str = "proxy_upstream_request_duration_seconds"  # histogram, http_route
    upstream_errors: str = "proxy_upstream_errors_total"  # label reason
    rate_limited: str = "proxy_rate_limited_requests_total"  # label http_route
    circuit_breaker_state: str = "proxy_circuit_breaker_state"  # 0 closed, 1 half-open, 2 open
    llm_tokens: str = "proxy_llm_tokens_total"  # label token_type: input | output
    token_type_label: str = "token_type"
    # Which responses are errors for availability and error-ratio SLIs, as a label matcher.
    error_status_matcher: str = '=~"5.."'
    # Extra selector put in every query, e.g. 'job="my-proxy"'; empty for none.
    selector: str = ""

    def with_overrides(self, overrides: dict[str, Any]) -> MetricContract:
        """A copy with some names changed; unknown keys are a ValueError naming the known ones."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"unknown metric contract field(s) {', '.join(unknown)}; "
                f"expected some of: {', '.join(sorted(known))}"
            )
        return replace(self, **{k: str(v) for k, v in overrides.items()})

    def matchers(self, *extra: str) -> str:
        """A label-matcher body joining the contract's selector with ``extra`` ones."""
        parts = [p for p in (self.selector, *extra) if p]
        return ", ".join(parts)


DEFAULT_CONTRACT = MetricContract()


@dataclass(frozen=True)
class LoadTestContract:
    """What a running load test exposes on its own Prometheus endpoint (127.0.0.1 by default).

    Labels: ``endpoint`` ('GET /content/{id}'), ``outcome`` ('ok' | 'failed'), ``kind`` (error
    kind, 'HTTP 503'), ``process`` ('master', 'local' or a worker id). The latency histogram holds
    the same requests the gate judges (its buckets are LATENCY_BUCKETS_S; the gate's own
    histograms are finer).
    """

    users: str = "slogate_loadtest_users"  # gauge: users running now
    target_users: str = "slogate_loadtest_target_users"  # gauge: users asked for (closed model)
    target_rate: str = "slogate_loadtest_target_rate"  # gauge: arrivals/s asked for (open model)
    request_duration: str = "slogate_loadtest_request_duration_seconds"  # histogram: endpoint, outcome
    failures: str = "slogate_loadtest_failures_total"  # counter: endpoint, kind
    dispatch_late: str = "slogate_loadtest_dispatch_late_total"  # counter (open model)
    dispatch_dropped: str = "slogate_loadtest_dispatch_dropped_total"  # counter (open model)
    generator_cpu: str = "slogate_loadtest_generator_cpu_percent"  # gauge: process
    endpoint_label: str = "endpoint"
    outcome_label: str = "outcome"
    kind_label: str = "kind"
    process_label: str = "process"


DEFAULT_LOADTEST_CONTRACT = LoadTestContract()


@dataclass(frozen=True)
class ObservabilityLabels:
    """Labels the dashboards and alerts read beyond the metric contract's own names."""

    upstream_error_reason_label: str = "reason"  # on MetricContract.upstream_errors
    circuit_breaker_upstream_label: str = "upstream"  # on MetricContract.circuit_breaker_state
    instance_label: str = "instance"  # Prometheus' target label


def contracts_from_mapping(
    data: dict[str, Any],
) -> tuple[MetricContract, LoadTestContract]:
    """The metric and load-test contracts with overrides from a mapping (a ``--contract`` file):
    top-level keys override ``MetricContract`` fields, a ``loadtest:`` mapping
    ``LoadTestContract`` fields. Unknown keys are a ValueError naming the known ones."""
    overrides = dict(data)
    loadtest = overrides.pop("loadtest", None) or {}
    if not isinstance(loadtest, dict):
        raise ValueError("'loadtest' must be a mapping of load-test metric names")
    contract = DEFAULT_CONTRACT.with_overrides(overrides)
    known = {f.name for f in fields(LoadTestContract)}
    unknown = sorted(set(loadtest) - known)
    if unknown:
        raise ValueError(
            f"unknown loadtest contract field(s) {', '.join(unknown)}; "
            f"expected some of: {', '.join(sorted(known))}"
        )
    return contract, replace(DEFAULT_LOADTEST_CONTRACT, **{k: str(v) for k, v in loadtest.items()})
