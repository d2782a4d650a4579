"""Streamed answers of the simulated upstream, in both API styles, and their pacing.

A stream is a list of ``StreamPart``: bytes to send and the time (seconds after the headers) at
which to send them. ``StreamPacing`` places them as a model server would:

* ``prefill_s`` after the headers: the stream's opening (Anthropic ``message_start``,
  ``content_block_start`` and ``ping``; OpenAI's opening chunk with the role and empty content);
* ``first_token_s`` later: the first token is ready; then one token every ``token_interval_s``;
* tokens go out in chunks of ``tokens_per_chunk`` (drawn per chunk between its two bounds), each
  chunk sent when its last token is ready: a chunk of 3 tokens comes 3 intervals after the one before;
* after the last token: the closing events (``content_block_stop``, ``message_delta`` with the stop
  reason and output usage, ``message_stop``; OpenAI's chunk with ``finish_reason``, the usage chunk
  when ``stream_options.include_usage`` asked for it, ``data: [DONE]``).

So the true time to first token is ``prefill_s + first_token_s + (k - 1) * token_interval_s``
(``k`` the first chunk's tokens) after the headers, and the time per output token after the first
is ``token_interval_s`` when the first chunk holds one token.

A stream broken by a mid-stream error ends after half its content chunks with Anthropic's
``event: error`` (``overloaded_error``) or OpenAI's error chunk (``server_error``), and no end marker.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any

DEFAULT_TOKEN_INTERVAL_S = 0.001
"""Time between two streamed tokens: a stream's last byte comes visibly later than its first."""
MAX_TOKENS_PER_CHUNK = 64


@dataclass(frozen=True)
class StreamPacing:
    prefill_s: float = 0.0
    first_token_s: float = 0.0
    token_interval_s: float = DEFAULT_TOKEN_INTERVAL_S
    tokens_per_chunk: tuple[int, int] = (1, 1)
    """Tokens in each content chunk, drawn uniformly between the two bounds (both included)."""

    def __post_init__(self) -> None:
        for name in ("prefill_s", "first_token_s", "token_interval_s"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        low, high = self.tokens_per_chunk
        if not 1 <= low <= high <= MAX_TOKENS_PER_CHUNK:
            raise ValueError(f"tokens per chunk must be 1 <= low <= high <= {MAX_TOKENS_PER_CHUNK}, "
                             f"got {low}-{high}")


def parse_tokens_per_chunk(text: str) -> tuple[int, int]:
    """``3`` or ``1-4`` (drawn per chunk); ValueError otherwise."""
    low, _, high = text.strip().partition("-")
    try:
        bounds = int(low), int(high or low)
    except ValueError:
        raise ValueError(f"expected tokens per chunk as N or LOW-HIGH such as 1-4, got {text!r}") from None
    StreamPacing(tokens_per_chunk=bounds)  # validates
    return bounds


def format_tokens_per_chunk(bounds: tuple[int, int]) -> str:
    return str(bounds[0]) if bounds[0] == bounds[1] else f"{bounds[0]}-{bounds[1]}"


@dataclass(frozen=True)
class StreamPart:
    at_s: float
    """When to send it, seconds after the response headers."""
    data: bytes
    content: bool = False
    """True for a content chunk (a token or several)."""


def sse_event(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event, its data as compact JSON (one line)."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def sse_data(data: dict[str, Any] | str) -> bytes:
    """One unnamed event (OpenAI style): ``data: <json>``."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


def _chunks(words: list[str], pacing: StreamPacing, rng: random.Random) -> list[tuple[float, str]]:
    """(send time after the opening, text) of each content chunk."""
    low, high = pacing.tokens_per_chunk
    out: list[tuple[float, str]] = []
    index, ready = 0, pacing.first_token_s - pacing.token_interval_s
    while index < len(words):
        size = rng.randint(low, high) if high > low else low
        taken = words[index:index + size]
        ready += len(taken) * pacing.token_interval_s
        text = " ".join(taken)
        out.append((ready, text if index == 0 else " " + text))
        index += len(taken)
    return out


def _paced(
    opening: list[bytes], chunks: list[tuple[float, bytes]], closing: list[bytes],
    pacing: StreamPacing, error: bytes | None,
) -> list[StreamPart]:
    start = pacing.prefill_s
    parts = [StreamPart(start, data) for data in opening]
    if error is not None:
        kept = chunks[: len(chunks) // 2]
        parts += [StreamPart(start + at, data, content=True) for at, data in kept]
        return [*parts, StreamPart(parts[-1].at_s, error)]
    parts += [StreamPart(start + at, data, content=True) for at, data in chunks]
    end = parts[-1].at_s
    return parts + [StreamPart(end, data) for data in closing]


def anthropic_stream(
    message: dict[str, Any], pacing: StreamPacing, rng: random.Random, *, error: bool = False
) -> list[StreamPart]:
    """The Anthropic-style event stream of a whole ``message``."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None,
             "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}
    opening = [
        sse_event("message_start", {"type": "message_start", "message": start}),
        sse_event("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}}),
        sse_event("ping", {"type": "ping"}),
    ]
    chunks = [
        (at, sse_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": text}}))
        for at, text in _chunks(message["content"][0]["text"].split(" "), pacing, rng)
    ]
    closing = [
        sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_event("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        }),
        sse_event("message_stop", {"type": "message_stop"}),
    ]
    failure = sse_event("error", {"type": "error", "error": {
        "type": "overloaded_error", "message": "injected fault: overloaded mid-stream"}})
    return _paced(opening, chunks, closing, pacing, failure if error else None)


def openai_stream(
    completion: dict[str, Any], pacing: StreamPacing, rng: random.Random, *,
    include_usage: bool, error: bool = False,
) -> list[StreamPart]:
    """The OpenAI-style chunk stream of a whole chat ``completion``."""
    head = {"id": completion["id"], "object": "chat.completion.chunk",
            "created": completion["created"], "model": completion["model"]}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse_data({**head, "choices": [choice]})

    choice = completion["choices"][0]
    opening = [chunk({"role": "assistant", "content": ""})]
    chunks = [(at, chunk({"content": text}))
              for at, text in _chunks(choice["message"]["content"].split(" "), pacing, rng)]
    closing = [chunk({}, choice["finish_reason"])]
    if include_usage:
        closing.append(sse_data({**head, "choices": [], "usage": completion["usage"]}))
    closing.append(sse_data("[DONE]"))
    failure = sse_data({"error": {"message": "injected fault: server error mid-stream",
                                  "type": "server_error", "code": None}})
    return _paced(opening, chunks, closing, pacing, failure if error else None)


def chat_completion(message: dict[str, Any], completion_id: str) -> dict[str, Any]:
    """The OpenAI-style chat completion of an Anthropic-style ``message`` (same text and counts)."""
    usage = message["usage"]
    finish = "length" if message["stop_reason"] == "max_tokens" else "stop"
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message["model"],
        "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                     "message": {"role": "assistant", "content": message["content"][0]["text"]}}],
        "usage": {"prompt_tokens": usage["input_tokens"], "completion_tokens": usage["output_tokens"],
                  "total_tokens": usage["input_tokens"] + usage["output_tokens"]},
    }
