"""The proxy's Prometheus metrics, named by the metric contract, in a registry passed in.

Known label sets are created at start so their series exist at 0 (a ``rate()`` over them is
defined from the first scrape): cache results, token types, upstream error reasons, the
circuit breaker and the rate-limited counters of the API routes.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from slogate.slo.contract import DEFAULT_CONTRACT, LATENCY_BUCKETS_S, MetricContract

CACHE_RESULTS = ("hit", "miss", "bypass")
TOKEN_TYPES = ("input", "output")
UPSTREAM_ERROR_REASONS = ("connect", "timeout", "status_5xx")
REASON_LABEL = "reason"
UPSTREAM_LABEL = "upstream"
OTHER_ROUTE = "other"
OTHER_METHOD = "_OTHER"
KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)


class ProxyMetrics:
    """Every metric of the contract, registered in ``registry`` (never the global one)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        contract: MetricContract = DEFAULT_CONTRACT,
        upstream_name: str = "upstream",
        api_routes: tuple[str, ...] = (),
    ) -> None:
        c = contract
        self.contract = contract
        self.request_duration = Histogram(
            c.request_duration,
            "Duration of HTTP server requests.",
            [c.route_label, c.method_label, c.status_label],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.active_requests = Gauge(
            c.active_requests, "Number of active HTTP server requests.", registry=registry
        )
        self.cache_requests = Counter(
            c.cache_requests,
            "Proxied requests by cache result (hit, miss, bypass).",
            [c.cache_result_label],
            registry=registry,
        )
        self.upstream_duration = Histogram(
            c.upstream_duration,
            "Duration of requests from the proxy to the upstream.",
            [c.route_label],
            buckets=LATENCY_BUCKETS_S,
            registry=registry,
        )
        self.upstream_errors = Counter(
            c.upstream_errors,
            "Failed upstream requests by reason (connect, timeout, status_5xx).",
            [REASON_LABEL],
            registry=registry,
        )
        self.rate_limited = Counter(
            c.rate_limited,
            "Requests refused by the proxy's rate limiter.",
            [c.route_label],
            registry=registry,
        )
        self.circuit_breaker_state = Gauge(
            c.circuit_breaker_state,
            "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.",
            [UPSTREAM_LABEL],
            registry=registry,
        )
        self.llm_tokens = Counter(
            c.llm_tokens,
            "LLM tokens in upstream message responses, by type (input, output).",
            [c.token_type_label],
            registry=registry,
        )
        self._cache = {r: self.cache_requests.labels(r) for r in CACHE_RESULTS}
        self._tokens = {t: self.llm_tokens.labels(t) for t in TOKEN_TYPES}
        self._errors = {r: self.upstream_errors.labels(r) for r in UPSTREAM_ERROR_REASONS}
        self.circuit_breaker_state.labels(upstream_name).set(0)
        for route in api_routes:
            self.rate_limited.labels(route)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else OTHER_METHOD
        self.request_duration.labels(route, method, str(status)).observe(seconds)

    def count_cache(self, result: str) -> None:
        self._cache[result].inc()

    def count_rate_limited(self, route: str) -> None:
        self.rate_limited.labels(route).inc()

    def count_upstream_error(self, reason: str) -> None:
        self._errors[reason].inc()

    def observe_upstream(self, route: str, seconds: float) -> None:
        self.upstream_duration.labels(route).observe(seconds)

    def count_tokens(self, input_tokens: int, output_tokens: int) -> None:
        if input_tokens > 0:
            self._tokens["input"].inc(input_tokens)
        if output_tokens > 0:
            self._tokens["output"].inc(output_tokens)
