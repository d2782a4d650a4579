"""The simulated upstream: Anthropic- and OpenAI-style LLM APIs and a cacheable content endpoint.

* ``POST /v1/messages``: JSON ``{model, max_tokens, messages, [system], [stream]}`` in, an
  Anthropic-style message out with ``usage`` (input tokens ≈ words in the prompt, output tokens ≤
  max_tokens). 400 with an Anthropic-style JSON error on a bad body. With ``"stream": true`` the
  same message comes as server-sent events, paced as ``StreamPacing`` says (``slogate.target.streams``:
  prefill, first token, inter-token interval, tokens per chunk).
* ``POST /v1/chat/completions``: the OpenAI-style equivalent (``{model, messages, [max_tokens |
  max_completion_tokens], [stream], [stream_options.include_usage]}``), the same text and counts
  as a ``chat.completion``, or streamed as ``chat.completion.chunk`` events ending in ``data: [DONE]``.
* ``GET /content/{id}``: a deterministic body per id, ``Cache-Control: public, max-age=60`` and an
  ``ETag`` (``If-None-Match`` gives a 304).
* ``GET /health``: 200, never faulted (the proxy's readiness probe).

Faults (``FaultConfig``) apply to the API endpoints: stall, then latency, then maybe a 503 (for a
stream, before its first byte; in an error burst every request gets one). A body that is sent
can then be trickled (slow body), cut halfway by a connection reset, or never come after its
headers (hang: the reader times out). A stream is cut by a reset after half its parts, or (stream
error ratio) ends after half its tokens with a mid-stream error event.
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
from slogate.target.streams import (
    StreamPacing,
    StreamPart,
    anthropic_stream,
    chat_completion,
    openai_stream,
)

CONTENT_MAX_AGE_S = 60
OPENAI_DEFAULT_MAX_TOKENS = 4096
"""max_tokens of an OpenAI-style request that sets none (the API's own default is the model's limit)."""
OPENAI_ROLES = ("system", "developer", "user", "assistant", "tool")
_INJECTOR_KEY = web.AppKey("fault_injector", FaultInjector)
_PACING_KEY = web.AppKey("stream_pacing", StreamPacing)
_RNG_KEY = web.AppKey("stream_rng", random.Random)
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
    request: web.Request, parts: list[StreamPart], reset: bool = False
) -> web.StreamResponse:
    """Send ``parts`` each at its time after the headers (absolute deadlines: no drift)."""
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    opened = loop.time()
    for index, part in enumerate(parts):
        if reset and index == len(parts) // 2:
            _reset_connection(request)
            return response
        wait_s = opened + part.at_s - loop.time()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        await response.write(part.data)
    await response.write_eof()
    return response


def _chat_request(payload: Any) -> tuple[str, str, int, bool]:
    """(model, prompt text, max_tokens, include_usage) of a chat completions body; ValueError if bad."""
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    if not isinstance(payload.get("stream", False), bool):
        raise ValueError("stream: a boolean is required")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise ValueError("model: a non-empty string is required")
    max_tokens = payload.get("max_completion_tokens", payload.get("max_tokens"))
    if max_tokens is None:
        max_tokens = OPENAI_DEFAULT_MAX_TOKENS
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError("max_tokens: a positive integer is required")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages: a non-empty list is required")
    texts: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in OPENAI_ROLES:
            raise ValueError(f"messages[{i}]: an object with a role of {', '.join(OPENAI_ROLES)} "
                             "is required")
        try:
            texts.append(_content_text(message.get("content", "")))
        except ValueError as exc:
            raise ValueError(f"messages[{i}].content: {exc}") from None
    options = payload.get("stream_options") or {}
    if not isinstance(options, dict):
        raise ValueError("stream_options: an object is required")
    return model, "\n".join(texts), max_tokens, options.get("include_usage") is True


def _openai_error(status: int, error_type: str, message: str) -> web.Response:
    body = {"error": {"message": message, "type": error_type, "param": None, "code": None}}
    return web.json_response(body, status=status)


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
        parts = anthropic_stream(message, request.app[_PACING_KEY], request.app[_RNG_KEY],
                                 error=decision.stream_error)
        return await _stream(request, parts, reset=decision.reset)
    return await _deliver(request, decision, web.json_response(message))


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    raw = await request.read()
    decision = await request.app[_INJECTOR_KEY].wait()
    if decision.fail:
        return _openai_error(503, "server_error", "injected fault: upstream unavailable")
    try:
        payload = json.loads(raw)
        model, prompt, max_tokens, include_usage = _chat_request(payload)
    except json.JSONDecodeError as exc:
        return _openai_error(400, "invalid_request_error", f"the body is not valid JSON: {exc.msg}")
    except (ValueError, UnicodeDecodeError) as exc:
        return _openai_error(400, "invalid_request_error", str(exc))
    completion_id = f"chatcmpl-{random.getrandbits(96):024x}"
    completion = chat_completion(message_response(model, prompt, max_tokens, completion_id),
                                 completion_id)
    if payload.get("stream") is True:
        parts = openai_stream(completion, request.app[_PACING_KEY], request.app[_RNG_KEY],
                              include_usage=include_usage, error=decision.stream_error)
        return await _stream(request, parts, reset=decision.reset)
    return await _deliver(request, decision, web.json_response(completion))


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
    faults: FaultConfig | None = None, *, pacing: StreamPacing | None = None
) -> web.Application:
    """The upstream application, with ``faults`` applied to its API endpoints, streaming as
    ``pacing`` says."""
    app = web.Application()
    injector = FaultInjector(faults or FaultConfig())
    app[_INJECTOR_KEY] = injector
    app[_PACING_KEY] = pacing or StreamPacing()
    app[_RNG_KEY] = random.Random(injector.config.seed)
    app.router.add_post("/v1/messages", _messages)
    app.router.add_post("/v1/chat/completions", _chat_completions)
    app.router.add_get("/content/{id}", _content)
    app.router.add_get("/health", _health)
    return app
