"""W3C trace context on every request of a run, so a slow request can be found in the proxy's traces.

:func:`enable` makes Locust's two HTTP clients (HttpSession and FastHttpSession) send a
``traceparent`` header with every request; the recorder keeps the trace id of the slowest ones,
read back from the headers their requests sent (:func:`sent_trace_id`), so nothing else is
carried per request.

Without OpenTelemetry configured the ids are random (drawn in bulk: cheap; nothing exported), and
the header goes in where each client sends a request (``_send_request_safe_mode``: under the
request's name, its event and its response). With an OTLP endpoint (:func:`configure_otlp`), each
request is a client span of the opentelemetry-sdk, exported in batches, around the whole
``request`` call, and the header carries that span's context.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

from slogate.loadtest import trace_ids

_CLIENTS = (HttpSession, FastHttpSession)
_ORIGINALS = {client: (client.request, client._send_request_safe_mode) for client in _CLIENTS}
"""Each client's own methods, so that configuring OTLP can move the header from one to the other."""
_tracer: Any = None
_provider: Any = None
_enabled = False


def traceparent(trace_id: int, span_id: int) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def enable() -> None:
    """Send traceparent on every request of both HTTP clients (idempotent)."""
    global _enabled
    _enabled = True
    _install()


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
    _install()


def shutdown() -> None:
    """Export the spans still batched, then stop exporting (when Locust quits; idempotent)."""
    global _tracer, _provider
    if _provider is not None:
        # Locust's gevent loop still runs here, unlike at interpreter exit where the SDK's own
        # hook would flush: the last batch of a short run is not lost.
        _provider.shutdown()
    _tracer = _provider = None


def sent_trace_id(response: Any, exception: BaseException | None = None) -> str | None:
    """The trace id of the traceparent header a request sent, found from its request event's
    response (both clients keep the request sent on it) or, for a failure without one, its
    exception; None without a header. Read only for the requests the recorder keeps."""
    for carrier in (response, exception):
        headers = getattr(getattr(carrier, "request", None), "headers", None)
        header = headers.get("traceparent") if headers is not None else None
        if isinstance(header, str):
            return trace_ids.trace_id_of(header)
    return None


def _install() -> None:
    """Random headers where each client sends; spans around ``request`` once OTLP is configured."""
    if not _enabled:
        return
    for client in _CLIENTS:
        request, send = _ORIGINALS[client]
        if _tracer is None:
            client.request = request  # type: ignore[method-assign]
            # FastHttpSession sends a headers dict of its own, made for the request: one store.
            client._send_request_safe_mode = _with_traceparent(  # type: ignore[method-assign]
                send, own_headers=client is FastHttpSession)
        else:
            client.request = _spanned(request)  # type: ignore[method-assign]
            client._send_request_safe_mode = send  # type: ignore[method-assign]


def _with_traceparent(original: Callable[..., Any], *, own_headers: bool) -> Callable[..., Any]:
    if own_headers:
        @functools.wraps(original)
        def send(self: Any, method: str, url: str, headers: dict[str, Any], **kwargs: Any) -> Any:
            # Once per request: a header drawn in bulk, stored in the client's own dict.
            headers["traceparent"] = trace_ids.next_header()
            return original(self, method, url, headers=headers, **kwargs)

        return send

    @functools.wraps(original)
    def send_copy(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        headers = kwargs.get("headers")  # the caller's: copied, not changed
        header = trace_ids.next_header()
        kwargs["headers"] = {**headers, "traceparent": header} if headers else {"traceparent": header}
        return original(self, method, url, **kwargs)

    return send_copy


def _spanned(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if _tracer is None:  # exporting stopped (Locust quits): random ids again
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "traceparent": trace_ids.next_header()}
            return original(self, method, url, *args, **kwargs)
        return _with_span(original, self, method, url, args, kwargs)

    return request


def _with_span(
    original: Callable[..., Any], session: Any, method: str, url: str, args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    name = kwargs.get("name") or url
    with _tracer.start_as_current_span(f"{method} {name}", kind=SpanKind.CLIENT) as span:
        span_context = span.get_span_context()
        kwargs["headers"] = {**(kwargs.get("headers") or {}),
                             "traceparent": traceparent(span_context.trace_id, span_context.span_id)}
        span.set_attribute("http.request.method", method)
        span.set_attribute("url.full", str(url))
        response = original(session, method, url, *args, **kwargs)
        status = getattr(response, "status_code", 0) or 0
        span.set_attribute("http.response.status_code", status)
        if not status or status >= 500:
            span.set_status(Status(StatusCode.ERROR))
        return response
