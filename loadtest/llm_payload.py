"""Request bodies and answers of the two LLM API styles, free of Locust.

* ``anthropic``: ``POST /v1/messages`` with ``x-api-key`` and ``anthropic-version``; the answer's
  ``usage`` has ``input_tokens``/``output_tokens``, its ``stop_reason`` says why it ended.
* ``openai``: ``POST /v1/chat/completions`` with ``Authorization: Bearer``; a streamed request asks
  for ``stream_options.include_usage`` so the last chunk carries the token counts; the answer's
  ``usage`` has ``prompt_tokens``/``completion_tokens``, ``choices[0].finish_reason`` the stop reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slogate.loadtest.llm_stream import ANTHROPIC, OPENAI

MESSAGES_ROUTE = "/v1/messages"
CHAT_COMPLETIONS_ROUTE = "/v1/chat/completions"
ROUTES = {ANTHROPIC: MESSAGES_ROUTE, OPENAI: CHAT_COMPLETIONS_ROUTE}
ANTHROPIC_VERSION = "2023-06-01"


def auth_headers(api: str, api_key: str) -> dict[str, str]:
    if api == OPENAI:
        return {"Authorization": f"Bearer {api_key}"}
    return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}


def request_body(api: str, model: str, max_tokens: int, prompt: str, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if stream:
        body["stream"] = True
        if api == OPENAI:
            body["stream_options"] = {"include_usage": True}
    return body


@dataclass(frozen=True)
class Answer:
    """What a whole (unstreamed) answer says: tokens and why it stopped."""

    input_tokens: int
    output_tokens: int
    stop_reason: str | None


def answer_of(api: str, content: bytes) -> Answer:
    """The usage and stop reason of a JSON answer; ValueError when it has no valid usage."""
    try:
        data = json.loads(content)
        usage = data["usage"]
        if api == OPENAI:
            counts = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
            choices = data.get("choices") or [{}]
            stop = choices[0].get("finish_reason")
        else:
            counts = int(usage["input_tokens"]), int(usage["output_tokens"])
            stop = data.get("stop_reason")
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"malformed answer body: {type(exc).__name__}") from None
    if min(counts) < 0:
        raise ValueError("malformed answer body: negative token count")
    return Answer(counts[0], counts[1], str(stop) if stop else None)
