"""The proxy overview dashboard: RED per route, upstream, cache, rate limiting, circuit breaker,
LLM tokens and in-flight requests, every name from the metric contract."""

from __future__ import annotations

from grafanalib.core import Dashboard

from slogate.dashboards import queries as q
from slogate.dashboards.llm import llm_row
from slogate.dashboards.panels import (
    Grid,
    dashboard,
    datasource_variable,
    label_variable,
    stable_uid,
    timeseries,
)
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.spec import Spec

DASHBOARD = "proxy-overview"


def proxy_overview_dashboard(spec: Spec, c: MetricContract = DEFAULT_CONTRACT) -> Dashboard:
    """Every panel whose metrics the contract says the proxy has (a proxy without a cache gets no
    cache panel, one without a latency histogram no latency panel)."""
    route = f"{{{{{c.route_label}}}}}" if c.route_label else "all routes"
    unit = c.duration_unit
    grid = Grid()
    grid.row("Requests (rate, errors, duration)")
    grid.add(8, timeseries(
        "Request rate by route",
        "Requests per second the proxy answered, per route (all statuses).",
        "reqps", [(q.request_rate_by_route(c), route)],
    ))
    grid.add(8, timeseries(
        "Error ratio by status class",
        "Share of all requests (of the selected routes) answered with a 4xx or a 5xx status, per "
        "status class. The SLOs count as failures only what the metric contract's error matcher "
        f"selects ({c.status_label}{c.error_status_matcher}).",
        "percentunit", [(q.error_ratio_by_status_class(c), f"{{{{{q.STATUS_CLASS_LABEL}}}}}")],
    ))
    if c.has_latency:
        grid.add(8, timeseries(
            "Latency p50 / p95 / p99 by route",
            "Server-side request latency percentiles per route, estimated from the histogram "
            "buckets (all statuses), so only as precise as the bucket boundaries.",
            unit, [(q.latency_quantile_by_route(c, x), f"{route} p{x * 100:g}")
                   for x in q.LATENCY_QUANTILES],
        ))
    upstream: list[object] = []
    if c.upstream_duration:
        upstream.append(timeseries(
            "Upstream latency p50 / p95 / p99",
            "Duration of the proxy's requests to its upstreams, from the upstream histogram: the "
            "share of the request latency the proxy does not control.",
            unit, [(q.upstream_latency_quantile(c, x), f"p{x * 100:g}") for x in q.LATENCY_QUANTILES],
        ))
    if c.upstream_errors:
        upstream.append(timeseries(
            "Upstream errors by reason",
            "Failed requests from the proxy to its upstreams per second, by reason (connection "
            "errors, timeouts, 5xx answers).",
            "reqps", [(q.upstream_error_rate_by_reason(c),
                       f"{{{{{q.LABELS.upstream_error_reason_label}}}}}")],
        ))
    if c.circuit_breaker_state:
        upstream.append(timeseries(
            "Circuit breaker state",
            "Circuit breaker state per upstream: 0 closed (normal), 1 half-open (probing), 2 open "
            "(requests fail fast without reaching the upstream).",
            "none", [(q.circuit_breaker_state(c), f"{{{{{q.LABELS.circuit_breaker_upstream_label}}}}}")],
            thresholds=((None, "green"), (1.0, "orange"), (2.0, "red")), threshold_lines=True,
        ))
    if upstream:
        grid.row("Upstream")
        for panel in upstream:
            grid.add(24 // len(upstream), panel)
    others: list[object] = []
    if c.cache_requests:
        others.append(timeseries(
            "Cache hit ratio",
            "Cache hits over cache lookups (hits and misses). Requests that bypass the cache, being "
            "uncacheable, are left out.",
            "percentunit", [(q.cache_hit_ratio(c), "hit ratio")],
        ))
    if c.rate_limited:
        others.append(timeseries(
            "Rate-limited requests by route",
            "Requests the proxy's rate limiter refused per second, per route.",
            "reqps", [(q.rate_limited_by_route(c), route)],
        ))
    if c.llm_tokens:
        others.append(timeseries(
            "LLM tokens by type",
            "Tokens per second in the upstream's LLM message responses, input and output.",
            "suffix: tokens/s", [(q.llm_tokens_by_type(c), f"{{{{{c.token_type_label}}}}}")],
        ))
    if c.active_requests:
        others.append(timeseries(
            "In-flight requests",
            "Requests in flight in the proxy (the active-requests gauge, summed over instances).",
            "short", [(q.active_requests(c), "in flight")],
        ))
    if others:
        grid.row("Cache, rate limiting, LLM tokens, concurrency")
        for panel in others:
            grid.add(24 // len(others), panel)
    llm_row(grid, spec, c)
    count = q.selector(c.request_count, c)
    variables = [
        datasource_variable(),
        label_variable(q.INSTANCE_VARIABLE, "Instance", count, q.LABELS.instance_label),
    ]
    if c.route_label:
        variables.append(label_variable(q.ROUTE_VARIABLE, "Route", count, c.route_label))
    if c.method_label:
        variables.append(label_variable(q.METHOD_VARIABLE, "Method", count, c.method_label))
    return dashboard(
        title=f"{spec.service}: proxy overview",
        description=f"Requests, upstreams, cache, rate limiting and circuit breakers of "
                    f"{spec.service}'s proxy (slogate).",
        uid=stable_uid(spec.service, DASHBOARD),
        tags=["slogate", spec.service, "proxy"],
        variables=variables,
        grid=grid,
    )
