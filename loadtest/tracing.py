"""W3C trace context on every request of a run, so a slow request can be found in the proxy's traces.

:func:`enable` makes Locust's two HTTP clients (HttpSession and FastHttpSession) send a
``traceparent`` header with every request; the recorder keeps the trace id of the slowest ones,
read back from the headers their requests sent (:func:`sent_trace_id`), so nothing else is
carried per request.

Without OpenTelemetry configured the ids are random (drawn in bulk: cheap; nothing exported).
FastHttpSession's request head gets the header line once geventhttpclient has built it;
HttpSession's ``_send_request_safe_mode`` adds it to the request's headers. A traceparent the
scenario sets itself is sent and recorded instead. With an OTLP endpoint
(:func:`configure_otlp`), each request is a client span of the opentelemetry-sdk, exported in
batches, around the whole ``request`` call, and the header carries that span's context.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gevent import getcurrent
from geventhttpclient.client import HTTPClient
from geventhttpclient.header import Headers
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession, LocustUserAgent

from slogate.loadtest import trace_ids

_dict_contains = dict.__contains__
_tracer: Any = None
_provider: Any = None
_installed = False
_spans_installed = False


def traceparent(trace_id: int, span_id: int) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def enable() -> None:
    """Send traceparent on every request of both HTTP clients (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    build, make_request = HTTPClient._build_request, LocustUserAgent._make_request

    def build_traced(client: HTTPClient, method: str, request_uri: str, body: Any = b"",
                     headers: Any = None, chunked: bool | None = None) -> str:
        # FastHttpSession: the header line ends the request head geventhttpclient built, instead
        # of being a field it merges, copies and validates (~10k instructions a request, half of
        # all slogate adds). Locust's agent passes a Headers (lower-case keys): dict's own test.
        # Kept on the greenlet before building: a request that fails (refused, timed out, or a
        # head geventhttpclient refuses to build) never gets the line of the one before it.
        getcurrent().slogate_traceparent = line = trace_ids.next_line()
        request = build(client, method, request_uri, body, headers, chunked)
        if headers and (_dict_contains(headers, "traceparent") if type(headers) is Headers
                        else _names_traceparent(headers)):  # the scenario's own
            return request
        return request[:-2] + line

    def make_failed_request(agent: LocustUserAgent, *args: Any, **kwargs: Any) -> Any:
        # FastHttpSession's stand-in for a request that failed without a response (refused, timed
        # out): what it sent, traceparent included, so a timeout's trace id is found too. The
        # same greenlet built it a moment ago.
        request = make_request(agent, *args, **kwargs)
        line = getattr(getcurrent(), "slogate_traceparent", None)
        if line and "traceparent" not in request.headers:
            request.headers["traceparent"] = line[len(trace_ids.HEADER_FIELD):].rstrip()
        return request

    HTTPClient._build_request = build_traced  # type: ignore[method-assign,assignment]
    LocustUserAgent._make_request = make_failed_request  # type: ignore[method-assign,assignment]
    HttpSession._send_request_safe_mode = _with_traceparent(  # type: ignore[method-assign]
        HttpSession._send_request_safe_mode)
    _install_spans()


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
    _install_spans()


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
    response (FastHttpSession keeps the request head it sent, HttpSession the request) or, for a
    failure without one, its exception; None without a header. Read only for the requests the
    recorder keeps."""
    head = getattr(response, "_sent_request", None)
    if isinstance(head, str):
        at = head.lower().find("\r\ntraceparent:")
        if at >= 0:
            return trace_ids.trace_id_of(head[at + 14:head.find("\r\n", at + 2)].strip())
    for carrier in (response, exception):
        headers = getattr(getattr(carrier, "request", None), "headers", None)
        header = headers.get("traceparent") if headers is not None else None
        if isinstance(header, str):
            return trace_ids.trace_id_of(header)
    return None


def _install_spans() -> None:
    """Once traceparent is on and OTLP configured: a span around each request of both clients
    (not before: a call less per request)."""
    global _spans_installed
    if _installed and _tracer is not None and not _spans_installed:
        _spans_installed = True
        for client in (HttpSession, FastHttpSession):
            client.request = _spanned(client.request)  # type: ignore[method-assign]


def _names_traceparent(headers: Any) -> bool:
    """Whether headers given to geventhttpclient other than as its Headers (a mapping or pairs,
    any case) hold a traceparent."""
    names = headers.keys() if hasattr(headers, "keys") else (pair[0] for pair in headers)
    return any(str(name).lower() == "traceparent" for name in names)


def _with_traceparent(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def send(self: Any, method: str, url: str, **kwargs: Any) -> Any:
        headers = kwargs.get("headers")  # the caller's: copied, not changed
        if not headers:
            kwargs["headers"] = {"traceparent": trace_ids.next_header()}
        elif "traceparent" not in headers:
            kwargs["headers"] = {**headers, "traceparent": trace_ids.next_header()}
        return original(self, method, url, **kwargs)

    return send


def _spanned(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if _tracer is None:  # no OTLP: the clients' own headers
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
