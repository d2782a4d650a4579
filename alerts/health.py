"""Proxy health alerts, read straight from the metric contract (no SLO involved): server errors,
slow requests, upstream errors, an open circuit breaker, a rate-limiting spike, a target Prometheus
cannot scrape. Only those whose metrics the contract says the proxy has are generated (a Caddy
contract gets no circuit-breaker alert that could never fire)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slogate.alerts.buckets import bucket_of, nearest_buckets
from slogate.alerts.conventions import (
    PROXY_CIRCUIT_BREAKER_OPEN,
    PROXY_LATENCY_HIGH,
    PROXY_RATE_LIMITING_SPIKE,
    PROXY_SERVER_ERRORS,
    PROXY_TARGET_DOWN,
    PROXY_UPSTREAM_ERRORS,
    VALUE,
    VALUE_PERCENT,
    alerting_rule,
    service_labels,
)
from slogate.alerts.rulefmt import AlertingRule
from slogate.slo import promql
from slogate.slo.contract import MetricContract
from slogate.slo.spec import Spec
from slogate.slo.units import format_duration, format_ratio


@dataclass(frozen=True)
class HealthThresholds:
    """When the proxy health alerts fire; each holds for ``for_s`` over a ``window_s`` rate."""

    server_error_ratio: float = 0.05
    upstream_error_ratio: float = 0.05
    breaker_open_state: float = 2.0  # the contract's gauge: 0 closed, 1 half-open, 2 open
    window_s: float = 300.0
    for_s: float = 300.0
    breaker_for_s: float = 60.0
    slow_request_s: float = 1.0  # a bucket boundary: requests slower than this are "slow"
    slow_request_ratio: float = 0.05  # alert when more successful requests than this are slow
    rate_limited_ratio: float = 0.1  # alert when the rate limiter refuses more than this share
    target_down_for_s: float = 60.0
    absent_for_s: float = 600.0


DEFAULT_HEALTH = HealthThresholds()


def slow_request_bound(health: HealthThresholds, buckets: Sequence[float]) -> float | None:
    """The bucket boundary slow requests are counted by: ``health.slow_request_s`` itself, else
    the next bucket above it (a proxy's own layout, Traefik's 0.1/0.3/1.2/5 s, may not have it);
    None when the proxy has no latency histogram. A ValueError when no bucket is at or above it."""
    if not buckets:
        return None
    bound = bucket_of(health.slow_request_s, buckets)
    if bound is not None:
        return bound
    above = [b for b in sorted(buckets) if b > health.slow_request_s]
    if above:
        return above[0]
    raise ValueError(
        f"the slow-request threshold {format_duration(health.slow_request_s)} of the proxy "
        f"latency alert is over every bucket boundary of the latency histogram; nearest buckets: "
        f"{nearest_buckets(health.slow_request_s, buckets)}"
    )


def health_rules(
    spec: Spec,
    contract: MetricContract,
    health: HealthThresholds,
    slow_bound: float | None,
    runbook_base: str,
) -> tuple[AlertingRule, ...]:
    """The proxy health alerts the contract's metrics allow; ``slow_bound`` is the bucket slow
    requests are counted by (None: the proxy has no latency histogram, so no latency alert)."""
    w = promql.duration(health.window_s)
    requests = contract.request_count
    failed = promql.failed_matcher(contract)
    labels = service_labels(spec)

    def alert(name: str, expr: str, for_s: float, summary: str, description: str,
              severity: str = "warning") -> AlertingRule:
        return alerting_rule(name, expr, for_s, severity, labels, summary, description, runbook_base)

    def ratio(numerator: str, denominator: str, threshold: float) -> str:
        return (f"{promql.sum_rate(numerator, w)}\n/\n{promql.sum_rate(denominator, w)}\n"
                f"> {promql.number(threshold)}")

    all_requests = promql.selector(requests, contract.matchers())
    rules = [alert(
        PROXY_SERVER_ERRORS,
        ratio(promql.selector(requests, contract.matchers(failed)), all_requests,
              health.server_error_ratio),
        health.for_s,
        f"{spec.service}: the proxy answers too many requests with server errors.",
        f"{VALUE_PERCENT} of requests failed with a server error over the last {w} "
        f"(alert above {format_ratio(health.server_error_ratio)}).",
    )]
    if slow_bound is not None and contract.has_latency:
        succeeded = [promql.succeeded_matcher(contract)] if contract.latency_status else []
        ok_requests = promql.selector(f"{contract.request_duration}_count", contract.matchers(*succeeded))
        ok_fast = promql.selector(contract.request_bucket, contract.matchers(
            *succeeded, promql.le_matcher(contract.le(slow_bound))))
        rules.append(alert(
            PROXY_LATENCY_HIGH,
            f"1 - (\n  {promql.sum_rate(ok_fast, w)}\n/\n  {promql.sum_rate(ok_requests, w)}\n)\n"
            f"> {promql.number(health.slow_request_ratio)}",
            health.for_s,
            f"{spec.service}: the proxy answers too many requests slowly.",
            f"{VALUE_PERCENT} of {'successful ' if contract.latency_status else ''}requests took "
            f"longer than {format_duration(slow_bound)} over the last {w} "
            f"(alert above {format_ratio(health.slow_request_ratio)}).",
        ))
    if contract.upstream_errors and contract.upstream_duration:
        rules.append(alert(
            PROXY_UPSTREAM_ERRORS,
            ratio(promql.selector(contract.upstream_errors, contract.matchers()),
                  promql.selector(f"{contract.upstream_duration}_count", contract.matchers()),
                  health.upstream_error_ratio),
            health.for_s,
            f"{spec.service}: calls from the proxy to its upstreams fail too often.",
            f"There were {VALUE_PERCENT} as many upstream errors as upstream requests over the "
            f"last {w} (alert above {format_ratio(health.upstream_error_ratio)}).",
        ))
    if contract.circuit_breaker_state:
        rules.append(alert(
            PROXY_CIRCUIT_BREAKER_OPEN,
            f"{promql.selector(contract.circuit_breaker_state, contract.matchers())} "
            f">= {promql.number(health.breaker_open_state)}",
            health.breaker_for_s,
            f"{spec.service}: a circuit breaker of the proxy is open.",
            f"The circuit breaker state is {VALUE} (0 closed, 1 half-open, 2 open) and has been "
            f"open for {promql.duration(health.breaker_for_s)}: requests to its upstream fail "
            f"fast without being tried.",
        ))
    if contract.rate_limited:
        rules.append(alert(
            PROXY_RATE_LIMITING_SPIKE,
            ratio(promql.selector(contract.rate_limited, contract.matchers()), all_requests,
                  health.rate_limited_ratio),
            health.for_s,
            f"{spec.service}: the proxy's rate limiter refuses many requests.",
            f"The rate limiter refused {VALUE_PERCENT} as many requests as the proxy answered "
            f"over the last {w} (alert above {format_ratio(health.rate_limited_ratio)}).",
        ))
    rules.append(alert(
        PROXY_TARGET_DOWN,
        f"{promql.selector('up', contract.matchers())} == 0",
        health.target_down_for_s,
        f"{spec.service}: Prometheus cannot scrape the proxy.",
        "Prometheus has failed to scrape {{ $labels.instance }} of job {{ $labels.job }} for "
        f"{promql.duration(health.target_down_for_s)}: the proxy is down or its metrics "
        "endpoint is unreachable, and every other alert on it is blind.",
        severity="critical",
    ))
    return tuple(rules)
