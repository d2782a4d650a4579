"""W3C trace context on every request of a run, so a slow request can be found in the proxy's traces.

:func:`enable` wraps the ``request`` method of Locust's two HTTP clients (HttpSession and
FastHttpSession: every get/post goes through it) to send a ``traceparent`` header and to put the
trace id into the request event's context, where the recorder keeps it for the slowest requests.

Without OpenTelemetry configured the ids are random (drawn in bulk: cheap; nothing exported). With an OTLP
endpoint (:func:`configure_otlp`), each request is a client span of the opentelemetry-sdk, exported
in batches, and the header carries that span's context.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

from slogate.loadtest import trace_ids

TRACE_ID_KEY = "slogate_trace_id"
"""The request event's context key holding the request's trace id (32 hex digits)."""

_tracer: Any = None
_provider: Any = None
_installed = False


def traceparent(trace_id: int, span_id: int) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def enable() -> None:
    """Send traceparent on every request of both HTTP clients (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    for client in (HttpSession, FastHttpSession):
        client.request = _traced(client.request)  # type: ignore[method-assign]


def configure_otlp(endpoint: str, service_name: str = "slogate-loadtest") -> None:
    """Export a client span per request to an OTLP/HTTP collector at ``endpoint``."""
    global _tracer
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    global _provider
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}),
                              shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _tracer = provider.get_tracer("slogate.loadtest")
    _provider = provider


def shutdown() -> None:
    """Export the spans still batched, then stop exporting (when Locust quits; idempotent)."""
    global _tracer, _provider
    if _provider is not None:
        # Locust's gevent loop still runs here, unlike at interpreter exit where the SDK's own
        # hook would flush: the last batch of a short run is not lost.
        _provider.shutdown()
    _tracer = _provider = None


def _traced(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        headers = kwargs.get("headers")
        context = kwargs.get("context")
        if _tracer is not None:
            return _with_span(original, self, method, url, dict(headers or {}), dict(context or {}),
                              args, kwargs)
        # Once per request: ids drawn in bulk, and the caller's dicts copied, not changed.
        trace_id, header = trace_ids.next_ids()
        kwargs["headers"] = {**headers, "traceparent": header} if headers else {"traceparent": header}
        kwargs["context"] = {**context, TRACE_ID_KEY: trace_id} if context else {TRACE_ID_KEY: trace_id}
        return original(self, method, url, *args, **kwargs)

    return request


def _with_span(
    original: Callable[..., Any], session: Any, method: str, url: str, headers: dict[str, Any],
    context: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any],
) -> Any:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    name = kwargs.get("name") or url
    with _tracer.start_as_current_span(f"{method} {name}", kind=SpanKind.CLIENT) as span:
        span_context = span.get_span_context()
        headers["traceparent"] = traceparent(span_context.trace_id, span_context.span_id)
        context[TRACE_ID_KEY] = f"{span_context.trace_id:032x}"
        span.set_attribute("http.request.method", method)
        span.set_attribute("url.full", str(url))
        kwargs["headers"], kwargs["context"] = headers, context
        response = original(session, method, url, *args, **kwargs)
        status = getattr(response, "status_code", 0) or 0
        span.set_attribute("http.response.status_code", status)
        if not status or status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        return response
