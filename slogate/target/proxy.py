"""The reference proxy: forwards every request to one upstream through a pooled client session.

Own endpoints: ``GET /health/live`` (always 200), ``GET /health/ready`` (200 when the upstream
answers its readiness path with a status below 500, else 503) and ``GET /metrics`` (Prometheus
text format from the registry passed in). Everything else is forwarded: method, path, query,
body and end-to-end headers (``Authorization`` and ``x-api-key`` are forwarded, never logged,
never put in a label).

Cache: a fresh stored response answers a GET at once with ``X-Cache: HIT``. Otherwise the request
goes upstream and the answer says ``X-Cache: MISS`` when it was stored, ``BYPASS`` when it was not
(not a GET, the client asked for ``no-cache``/``no-store``, the response is not cacheable, or the
upstream failed). Every forwarded request counts once in ``proxy_cache_requests_total``.
Conditional GETs: ``If-None-Match`` matching the stored ``ETag`` gives a 304 (``HIT`` from the
cache; ``MISS`` when the response was fetched and stored for it: like nginx, the proxy fetches a
cacheable GET unconditionally, so it can store it). ``PURGE <path>`` drops the cached response of
that path (200 ``{"purged": true}``, or 404 when nothing was cached); it is never forwarded.

Rate limit (``ProxySettings.rate_limit``, off by default): a token bucket per API key
(``x-api-key``, else ``Authorization``) on forwarded requests; a refused request is answered 429
with ``Retry-After`` (whole seconds) and an Anthropic-style ``rate_limit_error``, and counted in
``proxy_rate_limited_requests_total{http_route}``. Answers of the LLM routes, 429s included,
announce the key's headroom in their API style's rate-limit headers (``target.llm_routes``).

LLM routes (``/v1/messages``, ``/v1/chat/completions``): tokens counted from the JSON ``usage`` or
the stream's events; successful answers observed in the GenAI histograms (``target.metrics``).
Streaming: an upstream ``text/event-stream`` answer is passed through as it arrives (never
buffered, never cached), parsed on the way for its tokens, time to first token and per output token.

Upstream unreachable: 502 with a JSON error; upstream timeout: 504. An upstream whose connection
breaks in the middle of a body it announced breaks the client's the same way: the proxy sends the
status, headers and the part it got, then resets the connection (as a streaming proxy does), so the
client sees a response cut short rather than a made-up status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from yarl import URL

from slogate.loadtest.sse import EVENT_STREAM
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.target.cache import (
    CachedResponse,
    ResponseCache,
    etag_matches,
    freshness_lifetime,
    request_may_use_cache,
)
from slogate.target.llm_routes import (
    CHAT_COMPLETIONS_ROUTE,
    LLM_ROUTES,
    MESSAGES_ROUTE,
    AnswerWatch,
    model_of,
    rate_limit_headers,
)
from slogate.target.metrics import OTHER_ROUTE, ProxyMetrics
from slogate.target.ratelimit import KeyedRateLimiter, RateLimit, key_of, retry_after_header

logger = logging.getLogger(__name__)

CONTENT_ROUTE = "/content/{id}"
API_ROUTES = (MESSAGES_ROUTE, CHAT_COMPLETIONS_ROUTE, CONTENT_ROUTE)
"""Forwarded paths with a known route template; any other forwarded path is route ``other``."""
METRICS_PATH = "/metrics"
OWN_ROUTES = ("/health/live", "/health/ready", METRICS_PATH)
KNOWN_ROUTES = frozenset(API_ROUTES + OWN_ROUTES)
MAX_BODY_BYTES = 16 * 1024 * 1024

_HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
    )
)
_NOT_FORWARDED_REQUEST = _HOP_BY_HOP | {"host", "content-length"}
_NOT_FORWARDED_RESPONSE = _HOP_BY_HOP | {"content-length", "date", "server"}
_CONDITIONAL = frozenset(("if-none-match", "if-modified-since"))
PURGE_METHOD = "PURGE"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ProxySettings:
    upstream_url: str
    """Base URL of the upstream; the request's path and query are appended to it."""
    upstream_timeout_s: float = 10.0
    ready_path: str = "/health"
    ready_timeout_s: float = 2.0
    cache_max_entries: int = 1024
    upstream_name: str = "upstream"
    """Value of the ``upstream`` label of the circuit breaker gauge."""
    max_connections: int = 256
    rate_limit: RateLimit | None = None
    """Per-API-key token bucket on forwarded requests; None: no limit."""

    def __post_init__(self) -> None:
        url = URL(self.upstream_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"upstream URL must be http(s)://host[:port], got {self.upstream_url!r}")
        if not self.upstream_timeout_s > 0:
            raise ValueError(f"upstream timeout must be > 0, got {self.upstream_timeout_s!r}")
        if self.cache_max_entries < 0:
            raise ValueError(f"cache size must be >= 0, got {self.cache_max_entries!r}")


def route_of(request: web.Request) -> str:
    """The route template of a request (``/content/{id}``), or ``other``: never the raw path."""
    resource = request.match_info.route.resource
    if resource is None:
        return OTHER_ROUTE
    canonical = resource.canonical
    return canonical if canonical in KNOWN_ROUTES else OTHER_ROUTE


def _connection_tokens(headers: CIMultiDictProxy[str]) -> set[str]:
    """Header names listed in ``Connection`` (hop-by-hop too)."""
    return {
        token.strip().lower()
        for value in headers.getall("Connection", [])
        for token in value.split(",")
        if token.strip()
    }


def _filter_headers(
    headers: CIMultiDictProxy[str], drop: frozenset[str]
) -> CIMultiDict[str]:
    extra = _connection_tokens(headers)
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        lower = name.lower()
        if lower not in drop and lower not in extra:
            out.add(name, value)
    return out


def _json_error(status: int, error_type: str, message: str) -> web.Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return web.json_response(body, status=status, headers={"X-Cache": "BYPASS"})


def _rate_limited(wait_s: float, limit_headers: dict[str, str]) -> web.Response:
    retry_after = retry_after_header(wait_s)
    body = {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": f"rate limit of this API key exceeded; retry after {retry_after} s",
        },
    }
    return web.json_response(
        body, status=429, headers={**limit_headers, "Retry-After": retry_after, "X-Cache": "BYPASS"}
    )


def _is_event_stream(headers: CIMultiDictProxy[str]) -> bool:
    return headers.get("Content-Type", "").split(";", 1)[0].strip().lower() == EVENT_STREAM


class Proxy:
    """The proxy's state (settings, metrics, cache, client session) and its handlers."""

    def __init__(
        self,
        settings: ProxySettings,
        registry: CollectorRegistry,
        contract: MetricContract = DEFAULT_CONTRACT,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.metrics = ProxyMetrics(
            registry, contract=contract, upstream_name=settings.upstream_name, api_routes=API_ROUTES
        )
        self.cache = ResponseCache(max_entries=settings.cache_max_entries)
        self.limiter = KeyedRateLimiter(settings.rate_limit) if settings.rate_limit else None
        self._base = settings.upstream_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.upstream_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the proxy's client session is not started")
        return self._session

    async def session_context(self, app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx`` of the app: one pooled client session for its lifetime."""
        connector = aiohttp.TCPConnector(
            limit=self.settings.max_connections, limit_per_host=0, ttl_dns_cache=300
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )
        try:
            yield
        finally:
            await self._session.close()
            self._session = None

    @web.middleware
    async def observe(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Active requests and the request duration histogram, by route template."""
        if request.path == METRICS_PATH:
            # Scrapes are not traffic: counting them would dilute every "all endpoints" SLI.
            return await handler(request)
        start = time.perf_counter()
        self.metrics.active_requests.inc()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away (nginx's convention)
            raise
        finally:
            self.metrics.active_requests.dec()
            self.metrics.observe_request(
                route_of(request), request.method, status, time.perf_counter() - start
            )

    async def live(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "live"})

    async def ready(self, request: web.Request) -> web.Response:
        url = URL(self._base + self.settings.ready_path, encoded=True)
        timeout = aiohttp.ClientTimeout(total=self.settings.ready_timeout_s)
        try:
            async with self.session.get(url, timeout=timeout, allow_redirects=False) as resp:
                await resp.read()
                status = resp.status
        except TimeoutError:
            return web.json_response({"status": "unready", "reason": "upstream timeout"}, status=503)
        except aiohttp.ClientError as exc:
            reason = f"upstream unreachable ({type(exc).__name__})"
            return web.json_response({"status": "unready", "reason": reason}, status=503)
        if status >= 500:
            reason = f"upstream answered {status}"
            return web.json_response({"status": "unready", "reason": reason}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics_endpoint(self, request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})

    def _from_cache(self, request: web.Request, entry: CachedResponse) -> web.Response:
        headers: CIMultiDict[str] = CIMultiDict(entry.headers)
        headers["Age"] = str(self.cache.age(entry))
        headers["X-Cache"] = "HIT"
        return self._cached_answer(request, entry.status, entry.body, headers)

    @staticmethod
    def _cached_answer(
        request: web.Request, status: int, body: bytes, headers: CIMultiDict[str]
    ) -> web.Response:
        """A stored response, or 304 when the request's ``If-None-Match`` matches its ETag."""
        if etag_matches(request.headers.get("If-None-Match", ""), headers.get("ETag", "")):
            return web.Response(status=304, headers=headers)
        return web.Response(status=status, body=body, headers=headers)

    def _upstream_headers(self, request: web.Request, for_cache: bool) -> CIMultiDict[str]:
        drop = _NOT_FORWARDED_REQUEST | _CONDITIONAL if for_cache else _NOT_FORWARDED_REQUEST
        headers = _filter_headers(request.headers, drop)
        if request.remote:
            prior = request.headers.get("X-Forwarded-For")
            headers["X-Forwarded-For"] = f"{prior}, {request.remote}" if prior else request.remote
        headers.setdefault("X-Forwarded-Proto", request.scheme)
        if request.host:
            headers.setdefault("X-Forwarded-Host", request.host)
        return headers

    def purge(self, request: web.Request) -> web.Response:
        purged = self.cache.purge(request.raw_path)
        return web.json_response({"purged": purged}, status=200 if purged else 404)

    async def forward(self, request: web.Request) -> web.StreamResponse:
        arrived = time.perf_counter()
        route = route_of(request)
        if request.method == PURGE_METHOD:
            return self.purge(request)
        api = LLM_ROUTES.get(route) if request.method == "POST" else None
        limit_headers: dict[str, str] = {}
        if self.limiter is not None:
            key = key_of(request.headers)
            wait_s = self.limiter.acquire(key)
            if api is not None:
                limit_headers = rate_limit_headers(api, self.limiter, key)
            if wait_s > 0:
                self.metrics.count_rate_limited(route)
                return _rate_limited(wait_s, limit_headers)
        use_cache = self.cache.max_entries > 0 and request_may_use_cache(
            request.method, request.headers
        )
        key = request.raw_path
        if use_cache:
            entry = self.cache.get(key)
            if entry is not None:
                self.metrics.count_cache("hit")
                return self._from_cache(request, entry)
        data = await request.read()
        watch = AnswerWatch(api, model_of(data), arrived) if api is not None else None
        url = URL(self._base + request.raw_path, encoded=True)
        start = time.perf_counter()
        try:
            async with self.session.request(
                request.method,
                url,
                headers=self._upstream_headers(request, use_cache),
                data=data or None,
                allow_redirects=False,
            ) as upstream:
                if _is_event_stream(upstream.headers):
                    return await self._stream(request, route, start, upstream, watch, limit_headers)
                received: list[bytes] = []
                try:
                    async for chunk in upstream.content.iter_any():
                        received.append(chunk)
                except aiohttp.ClientPayloadError:
                    return await self._cut_short(request, route, start, upstream, b"".join(received))
                body = b"".join(received)
                status = upstream.status
                upstream_headers = upstream.headers
        except TimeoutError:
            return self._failed(route, start, "timeout", request)
        except aiohttp.ClientError:
            return self._failed(route, start, "connect", request)
        self.metrics.observe_upstream(route, time.perf_counter() - start)
        if status >= 500:
            self.metrics.count_upstream_error("status_5xx")
        elif status == 200 and watch is not None and "Content-Encoding" not in upstream_headers:
            watch.finish_body(self.metrics, body)
        headers = _filter_headers(upstream_headers, _NOT_FORWARDED_RESPONSE)
        headers.update(limit_headers)
        result = "bypass"
        if use_cache:
            ttl = freshness_lifetime(status, request.headers, upstream_headers)
            if ttl > 0 and self.cache.put(key, status, tuple(headers.items()), body, ttl):
                result = "miss"
        self.metrics.count_cache(result)
        headers["X-Cache"] = result.upper()
        if result == "miss":
            return self._cached_answer(request, status, body, headers)
        return web.Response(status=status, body=body, headers=headers)

    async def _stream(
        self,
        request: web.Request,
        route: str,
        start: float,
        upstream: aiohttp.ClientResponse,
        watch: AnswerWatch | None,
        limit_headers: dict[str, str],
    ) -> web.StreamResponse:
        """Pass an event stream through chunk by chunk, watching an LLM answer on the way."""
        headers = _filter_headers(upstream.headers, _NOT_FORWARDED_RESPONSE)
        headers.update(limit_headers)
        headers["X-Cache"] = "BYPASS"
        self.metrics.count_cache("bypass")
        if upstream.status >= 500:
            self.metrics.count_upstream_error("status_5xx")
        if upstream.status != 200 or "Content-Encoding" in upstream.headers:
            watch = None
        response = web.StreamResponse(status=upstream.status, headers=headers)
        await response.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                if watch is not None:
                    watch.feed(chunk)
                await response.write(chunk)
        except ConnectionResetError:  # first: aiohttp's client reset is a ClientError too
            logger.debug("the client left a stream of %s", route)
        except TimeoutError:
            # The status is sent already: the client sees a stream cut short (no message_stop).
            self.metrics.count_upstream_error("timeout")
        except aiohttp.ClientError:
            self.metrics.count_upstream_error("connect")
        self.metrics.observe_upstream(route, time.perf_counter() - start)
        if watch is not None:
            watch.finish_stream(self.metrics)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    async def _cut_short(
        self,
        request: web.Request,
        route: str,
        start: float,
        upstream: aiohttp.ClientResponse,
        partial: bytes,
    ) -> web.StreamResponse:
        """The upstream reset mid-body: pass on what came, then reset the client's connection."""
        self.metrics.observe_upstream(route, time.perf_counter() - start)
        self.metrics.count_upstream_error("connect")
        self.metrics.count_cache("bypass")
        logger.debug("upstream reset mid-response for %s %s", request.method, route)
        headers = _filter_headers(upstream.headers, _NOT_FORWARDED_RESPONSE)
        headers["X-Cache"] = "BYPASS"
        response = web.StreamResponse(status=upstream.status, headers=headers)
        if upstream.content_length is not None:
            response.content_length = upstream.content_length
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            await response.write(partial)
        if request.transport is not None:
            request.transport.abort()
        return response

    def _failed(self, route: str, start: float, reason: str, request: web.Request) -> web.Response:
        self.metrics.observe_upstream(route, time.perf_counter() - start)
        self.metrics.count_upstream_error(reason)
        self.metrics.count_cache("bypass")
        logger.debug("upstream %s for %s %s", reason, request.method, route)
        if reason == "timeout":
            return _json_error(
                504,
                "upstream_timeout",
                f"the upstream did not answer within {self.settings.upstream_timeout_s:g}s",
            )
        return _json_error(502, "upstream_unreachable", "the upstream could not be reached")


def build_proxy_app(
    settings: ProxySettings,
    registry: CollectorRegistry,
    contract: MetricContract = DEFAULT_CONTRACT,
) -> web.Application:
    """The proxy application; metrics go to ``registry`` (pass a fresh ``CollectorRegistry``)."""
    proxy = Proxy(settings, registry, contract)
    app = web.Application(middlewares=[proxy.observe], client_max_size=MAX_BODY_BYTES)
    app.cleanup_ctx.append(proxy.session_context)
    app.router.add_get("/health/live", proxy.live)
    app.router.add_get("/health/ready", proxy.ready)
    app.router.add_get(METRICS_PATH, proxy.metrics_endpoint)
    app.router.add_route("*", MESSAGES_ROUTE, proxy.forward)
    app.router.add_route("*", CHAT_COMPLETIONS_ROUTE, proxy.forward)
    app.router.add_route("*", CONTENT_ROUTE, proxy.forward)
    app.router.add_route("*", "/{tail:.*}", proxy.forward)
    return app
