"""The proxy's Prometheus metrics, named by the metric contract, in a registry passed in.

Known label sets are created at start so their series exist at 0 (a ``rate()`` over them is
defined from the first scrape): cache results, token types, upstream error reasons, the
circuit breaker and the rate-limited counters of the API routes.

LLM answers are also measured as the OpenTelemetry GenAI semantic conventions define them,
exported to Prometheus (dots to underscores, the unit ``s`` as ``_seconds``, the annotation
``{token}`` dropped), with the conventions' bucket boundaries: ``gen_ai.server.time_to_first_token``
(``gen_ai_server_time_to_first_token_seconds``: request arrival to the first content chunk passed
on), ``gen_ai.server.time_per_output_token`` (``..._time_per_output_token_seconds``),
``gen_ai.server.request.duration`` (``..._request_duration_seconds``) and
``gen_ai.client.token.usage`` (``gen_ai_client_token_usage``: the proxy is the upstream's client),
labelled ``gen_ai_operation_name`` (``chat``), ``gen_ai_provider_name`` (``anthropic`` or
``openai``, by route), ``gen_ai_request_model`` (at most ``MAX_MODELS`` names, then ``_OTHER``)
and, for tokens, ``gen_ai_token_type``. Successful answers only, as the conventions say.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from slogate.slo.contract import (
    DEFAULT_CONTRACT,
    GENAI_TPOT_BUCKETS_S,
    GENAI_TTFT_BUCKETS_S,
    LATENCY_BUCKETS_S,
    MetricContract,
)

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
GENAI_TIME_TO_FIRST_TOKEN = "gen_ai_server_time_to_first_token_seconds"
GENAI_TIME_PER_OUTPUT_TOKEN = "gen_ai_server_time_per_output_token_seconds"
GENAI_REQUEST_DURATION = "gen_ai_server_request_duration_seconds"
GENAI_TOKEN_USAGE = "gen_ai_client_token_usage"
GENAI_LABELS = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")
GENAI_TOKEN_TYPE_LABEL = "gen_ai_token_type"
GENAI_OPERATION = "chat"
REQUEST_DURATION_BUCKETS_S = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
                              20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
                 67108864)
"""Bucket boundaries the GenAI semantic conventions recommend for each metric."""
MAX_MODELS = 20
"""Model names kept as label values; a client choosing names freely cannot grow the series further."""


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
        self.genai_ttft = Histogram(
            GENAI_TIME_TO_FIRST_TOKEN, "Time to generate first token for successful responses.",
            GENAI_LABELS, buckets=GENAI_TTFT_BUCKETS_S, registry=registry,
        )
        self.genai_tpot = Histogram(
            GENAI_TIME_PER_OUTPUT_TOKEN,
            "Time per output token generated after the first token for successful responses.",
            GENAI_LABELS, buckets=GENAI_TPOT_BUCKETS_S, registry=registry,
        )
        self.genai_duration = Histogram(
            GENAI_REQUEST_DURATION, "Generative AI server request duration (to the last byte).",
            GENAI_LABELS, buckets=REQUEST_DURATION_BUCKETS_S, registry=registry,
        )
        self.genai_tokens = Histogram(
            GENAI_TOKEN_USAGE, "Number of input and output tokens used.",
            (*GENAI_LABELS, GENAI_TOKEN_TYPE_LABEL), buckets=TOKEN_BUCKETS, registry=registry,
        )
        self._models: set[str] = set()
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

    def observe_llm_answer(
        self,
        provider: str,
        model: str,
        seconds: float,
        tokens: tuple[int | None, int | None],
        ttft_s: float | None = None,
        tpot_s: float | None = None,
    ) -> None:
        """One successful LLM answer: its duration, (input, output) tokens, and for a stream its
        time to first token and per output token."""
        if model not in self._models:
            if len(self._models) >= MAX_MODELS:
                model = OTHER_METHOD
            else:
                self._models.add(model)
        labels = (GENAI_OPERATION, provider, model)
        self.genai_duration.labels(*labels).observe(seconds)
        if ttft_s is not None:
            self.genai_ttft.labels(*labels).observe(ttft_s)
        if tpot_s is not None:
            self.genai_tpot.labels(*labels).observe(tpot_s)
        for token_type, count in zip(TOKEN_TYPES, tokens, strict=True):
            if count is not None:
                self.genai_tokens.labels(*labels, token_type).observe(count)
