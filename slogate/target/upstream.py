"""The simulated upstream: an Anthropic-style messages API and a cacheable content endpoint.

* ``POST /v1/messages``: JSON ``{model, max_tokens, messages, [system], [stream]}`` in, an
  Anthropic-style message out with ``usage`` (input tokens ≈ words in the prompt, output tokens ≤
  max_tokens). 400 with an Anthropic-style JSON error on a bad body. With ``"stream": true`` the
  same message comes as server-sent events, one word per ``content_block_delta``, spaced by the
  token interval: ``message_start`` (input usage), ``content_block_start``, ``ping``, the deltas,
  ``content_block_stop``, ``message_delta`` (output usage, stop reason), ``message_stop``.
* ``GET /content/{id}``: a deterministic body per id, ``Cache-Control: public, max-age=60`` and an
  ``ETag`` (``If-None-Match`` gives a 304).
* ``GET /health``: 200, never faulted (the proxy's readiness probe).

Faults (``FaultConfig``) apply to the first two: stall, then latency, then maybe a 503 (for a
stream, before its first byte; in an error burst every request gets one). A body that is sent
can then be trickled (slow body), cut halfway by a connection reset, or never come after its
headers (hang: the reader times out). A stream is cut by a reset after half its events.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import zlib
from typing import Any

from aiohttp import web

from slogate.target.faults import FaultConfig, FaultDecision, FaultInjector

CONTENT_MAX_AGE_S = 60
DEFAULT_TOKEN_INTERVAL_S = 0.001
"""Time between two streamed tokens: a stream's last byte comes visibly later than its first."""
_INJECTOR_KEY = web.AppKey("fault_injector", FaultInjector)
_TOKEN_INTERVAL_KEY = web.AppKey("token_interval_s", float)
SLOW_BODY_PIECES = 10
"""A slow body arrives in this many pieces spread over its duration."""
HANG_MAX_S = 300.0
"""A hanging response gives up after this long even if its reader never does."""
_HANG_POLL_S = 0.1
_WORDS = (
    "the", "quick", "proxy", "routes", "every", "request", "to", "a", "healthy", "upstream",
    "while", "cache", "keeps", "hot", "content", "close", "and", "budget", "burns", "slowly",
    "under", "steady", "open", "model", "load", "with", "tail", "latency", "kept", "below",
)  # fmt: skip


def _error(status: int, error_type: str, message: str) -> web.Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    return web.json_response(body, status=status)


def _overloaded() -> web.Response:
    return _error(503, "overloaded_error", "injected fault: upstream unavailable")


def _content_text(value: Any) -> str:
    """The text of a message ``content``: a string or a list of blocks with ``text``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[str] = []
        for block in value:
            if not isinstance(block, dict):
                raise ValueError("content blocks must be objects")
            text = block.get("text", "")
            if not isinstance(text, str):
                raise ValueError("a content block's text must be a string")
            parts.append(text)
        return " ".join(parts)
    raise ValueError("message content must be a string or a list of content blocks")


def _prompt_text(payload: Any) -> tuple[str, str, int]:
    """(model, prompt text, max_tokens) of a request body; ValueError says what is wrong."""
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    if not isinstance(payload.get("stream", False), bool):
        raise ValueError("stream: a boolean is required")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise ValueError("model: a non-empty string is required")
    max_tokens = payload.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError("max_tokens: a positive integer is required")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages: a non-empty list is required")
    texts: list[str] = []
    system = payload.get("system")
    if system is not None:
        texts.append(_content_text(system))
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ValueError(f"messages.{i}: an object is required")
        if message.get("role") not in ("user", "assistant"):
            raise ValueError(f"messages.{i}.role: 'user' or 'assistant' is required")
        try:
            texts.append(_content_text(message.get("content")))
        except ValueError as exc:
            raise ValueError(f"messages.{i}.content: {exc}") from None
    return model, "\n".join(texts), max_tokens


def message_response(model: str, prompt: str, max_tokens: int, message_id: str) -> dict[str, Any]:
    """A deterministic (per prompt) Anthropic-style message answering ``prompt``."""
    input_tokens = max(1, len(prompt.split()))
    digest = zlib.crc32(prompt.encode())
    wanted = 8 + digest % 57
    output_tokens = min(wanted, max_tokens)
    words = random.Random(digest).choices(_WORDS, k=output_tokens)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": " ".join(words)}],
        "model": model,
        "stop_reason": "max_tokens" if output_tokens < wanted else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def content_body(content_id: str) -> bytes:
    """The deterministic body of ``/content/{id}`` (about 600 bytes of JSON)."""
    seed = hashlib.sha256(content_id.encode()).hexdigest()
    body = {"id": content_id, "title": f"content {seed[:8]}", "body": seed * 8}
    return json.dumps(body, separators=(",", ":")).encode()


def content_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def sse_event(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event, its data as compact JSON (one line)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def message_events(message: dict[str, Any]) -> list[bytes]:
    """The Anthropic-style event stream of a whole ``message``: one word per delta."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None,
             "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}
    words = message["content"][0]["text"].split(" ")
    events = [
        sse_event("message_start", {"type": "message_start", "message": start}),
        sse_event("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}}),
        sse_event("ping", {"type": "ping"}),
    ]
    for i, word in enumerate(words):
        delta = {"type": "text_delta", "text": word if i == 0 else " " + word}
        events.append(sse_event("content_block_delta",
                                {"type": "content_block_delta", "index": 0, "delta": delta}))
    events += [
        sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_event("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        }),
        sse_event("message_stop", {"type": "message_stop"}),
    ]
    return events


def _reset_connection(request: web.Request) -> None:
    """Drop the connection at once (a TCP reset, as a crashed or killed upstream gives)."""
    transport = request.transport
    if transport is not None:
        transport.abort()


async def _hang(request: web.Request) -> None:
    """Send nothing more until the reader goes away (or ``HANG_MAX_S`` passes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_MAX_S
    while loop.time() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(_HANG_POLL_S)


async def _deliver(
    request: web.Request, decision: FaultDecision, response: web.Response
) -> web.StreamResponse:
    """``response`` as the fault decides: whole, trickled, cut by a reset, or headers only."""
    body = bytes(response.body) if isinstance(response.body, (bytes, bytearray)) else b""
    if not decision.breaks_body or not body:
        return response
    streamed = web.StreamResponse(status=response.status, headers=response.headers)
    streamed.content_length = len(body)  # the reader knows how much is missing
    await streamed.prepare(request)
    if decision.hang:
        await _hang(request)
        _reset_connection(request)
        return streamed
    end = len(body) // 2 if decision.reset else len(body)
    pieces = SLOW_BODY_PIECES if decision.slow_body_s > 0 else 1
    step = max(1, -(-end // pieces))
    for offset in range(0, end, step):
        await streamed.write(body[offset:offset + step])
        if decision.slow_body_s > 0:
            await asyncio.sleep(decision.slow_body_s / pieces)
    if decision.reset:
        _reset_connection(request)
        return streamed
    await streamed.write_eof()
    return streamed


async def _stream(
    request: web.Request, message: dict[str, Any], reset: bool = False
) -> web.StreamResponse:
    interval = request.app[_TOKEN_INTERVAL_KEY]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    events = message_events(message)
    for index, event in enumerate(events):
        if reset and index == len(events) // 2:
            _reset_connection(request)
            return response
        await response.write(event)
        if interval > 0 and event.startswith(b"event: content_block_delta"):
            await asyncio.sleep(interval)
    await response.write_eof()
    return response


async def _messages(request: web.Request) -> web.StreamResponse:
    injector = request.app[_INJECTOR_KEY]
    raw = await request.read()
    decision = await injector.wait()
    if decision.fail:
        return _overloaded()
    try:
        payload = json.loads(raw)
        model, prompt, max_tokens = _prompt_text(payload)
    except json.JSONDecodeError as exc:
        return _error(400, "invalid_request_error", f"the body is not valid JSON: {exc.msg}")
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(400, "invalid_request_error", str(exc))
    message_id = f"msg_{random.getrandbits(96):024x}"
    message = message_response(model, prompt, max_tokens, message_id)
    if payload.get("stream") is True:
        return await _stream(request, message, reset=decision.reset)
    return await _deliver(request, decision, web.json_response(message))


async def _content(request: web.Request) -> web.StreamResponse:
    decision = await request.app[_INJECTOR_KEY].wait()
    if decision.fail:
        return _overloaded()
    body = content_body(request.match_info["id"])
    etag = content_etag(body)
    headers = {"Cache-Control": f"public, max-age={CONTENT_MAX_AGE_S}", "ETag": etag}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=body, content_type="application/json", headers=headers)
    return await _deliver(request, decision, response)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_upstream_app(
    faults: FaultConfig | None = None, *, token_interval_s: float = DEFAULT_TOKEN_INTERVAL_S
) -> web.Application:
    """The upstream application, with ``faults`` applied to its API endpoints, streaming one
    token every ``token_interval_s``."""
    if not token_interval_s >= 0:
        raise ValueError(f"token interval must be >= 0, got {token_interval_s!r}")
    app = web.Application()
    app[_INJECTOR_KEY] = FaultInjector(faults or FaultConfig())
    app[_TOKEN_INTERVAL_KEY] = token_interval_s
    app.router.add_post("/v1/messages", _messages)
    app.router.add_get("/content/{id}", _content)
    app.router.add_get("/health", _health)
    return app
