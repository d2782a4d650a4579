"""An Anthropic-style messages client for Locust users: plain and streamed calls, time to first
byte, token counts, and 429 handling.

``MessageCaller(user).call(stream=...)`` sends one ``POST /v1/messages`` and records:

* ``POST /v1/messages``: the total time (request sent → last byte), streamed or not;
* ``POST /v1/messages#ttfb`` (streamed calls only): the time to the first byte of the body (the
  first event), the ``slo.run.TTFB_SUFFIX`` convention, so an objective can select it alone;
* tokens: ``usage`` of the JSON answer, or of the ``message_start``/``message_delta`` events of
  a stream, added to the run's totals (``loadtest.users.counters_of``: ``input_tokens``,
  ``output_tokens``, ``messages``), logged when Locust quits;
* a 429 is *rate limited*, not failed: its request event has ``exception=None`` and
  ``context={"rate_limited": True}`` (the recorder counts it apart), then the user sleeps what
  ``Retry-After`` asks (capped by ``--retry-after-cap``, see ``loadtest.users``) before its next
  request.

A failed call (status other than 200/429, a malformed body, a stream cut before
``message_stop``) is a failure whose message never holds the API key.
"""

from __future__ import annotations

import json
import time
from typing import Any

from locust import FastHttpUser, events

from slogate.loadtest.sse import stream_usage
from slogate.loadtest.traffic import api_key_for, split_keys
from slogate.loadtest.users import counters_of, fail_by_status, honour_retry_after, mark_rate_limited
from slogate.slo.run import TTFB_SUFFIX

MESSAGES_ROUTE = "/v1/messages"
DEFAULT_MODEL = "reference-small"
PROMPTS = (
    "Summarise the release notes in one line.",
    "Write a haiku about cache hit ratios and tail latency.",
    "Explain the difference between p99 and p99.9 latency to a product manager.",
    "List three reasons a proxy would answer 429, briefly.",
)


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    group = parser.add_argument_group("slogate LLM calls", "Options of POST /v1/messages calls")
    group.add_argument("--llm-model", metavar="NAME", default=DEFAULT_MODEL,
                       env_var="SLOGATE_LLM_MODEL", help=f"model asked for (default {DEFAULT_MODEL})")
    group.add_argument("--llm-max-tokens", metavar="N", type=int, default=64,
                       env_var="SLOGATE_LLM_MAX_TOKENS",
                       help="max_tokens of each call (default 64)")
    group.add_argument("--llm-api-keys", metavar="KEY,KEY", default=None,
                       env_var="SLOGATE_API_KEYS",
                       help="API keys the users take in turn, one per user (default: "
                            "--slogate-api-key for every user, else a generated key per user)")


def user_api_key(options: Any) -> str:
    """The next user's API key: ``--llm-api-keys`` in turn, else ``--slogate-api-key``, else a
    generated ``sk-slogate-load-...`` key (distinct per user, masked by ``slo.redact``)."""
    configured = split_keys(getattr(options, "llm_api_keys", None))
    if not configured and getattr(options, "slogate_api_key", None):
        configured = [str(options.slogate_api_key)]
    return api_key_for(configured)


def message_body(model: str, max_tokens: int, prompt: str, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": prompt}],
    }
    if stream:
        body["stream"] = True
    return body


def _usage_of_json(content: bytes) -> tuple[int, int]:
    """(input, output) tokens of a message body; ValueError when it has no valid usage."""
    try:
        usage = json.loads(content)["usage"]
        counts = int(usage["input_tokens"]), int(usage["output_tokens"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"malformed message body: {type(exc).__name__}") from None
    if min(counts) < 0:
        raise ValueError("malformed message body: negative token count")
    return counts


class MessageCaller:
    """Sends ``POST /v1/messages`` for one Locust user, with that user's API key."""

    def __init__(self, user: FastHttpUser, api_key: str | None = None) -> None:
        self.user = user
        options = user.environment.parsed_options
        self.headers = {"x-api-key": api_key or user_api_key(options),
                        "anthropic-version": "2023-06-01"}
        self.model = str(getattr(options, "llm_model", DEFAULT_MODEL))
        self.max_tokens = max(1, int(getattr(options, "llm_max_tokens", 64)))
        self.counters = counters_of(user.environment)

    def call(self, prompt: str, *, stream: bool) -> None:
        body = message_body(self.model, self.max_tokens, prompt, stream=stream)
        headers = {**self.headers, "Accept-Encoding": "identity"} if stream else self.headers
        wait_s: float | None = None
        ttfb_event: dict[str, Any] | None = None
        started = time.perf_counter()
        with self.user.client.post(MESSAGES_ROUTE, json=body, headers=headers, name=MESSAGES_ROUTE,
                                   stream=stream, catch_response=True) as response:
            if response.status_code == 429:
                wait_s = mark_rate_limited(response)
            elif response.status_code != 200:
                if stream and response.status_code:
                    response.read()  # the error body, so the connection can be reused
                fail_by_status(response)
            elif stream:
                ttfb_event = self._read_stream(response, started)
            else:
                try:
                    input_tokens, output_tokens = _usage_of_json(response.content)
                except ValueError as exc:
                    response.failure(str(exc))
                else:
                    self.counters.add(input_tokens=input_tokens, output_tokens=output_tokens,
                                      messages=1)
        if ttfb_event is not None:
            self.user.environment.events.request.fire(**ttfb_event)
        honour_retry_after(self.user, wait_s)

    def _read_stream(self, response: Any, started: float) -> dict[str, Any] | None:
        """Read a stream to its end; set the total time; the TTFB event to fire, or None."""
        first = response.read(1)  # blocks until the first byte of the body
        ttfb_ms = (time.perf_counter() - started) * 1e3
        rest = response.read()
        total_ms = (time.perf_counter() - started) * 1e3
        response.release()
        content = first + rest
        meta = response.request_meta
        meta["response_time"] = total_ms
        meta["response_length"] = len(content)
        usage = stream_usage(content)
        if not usage.stopped:
            response.failure("stream ended before message_stop")
            return None
        self.counters.add(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                          messages=1)
        return {
            "request_type": meta["request_type"],
            "name": MESSAGES_ROUTE + TTFB_SUFFIX,
            "response_time": ttfb_ms,
            "response_length": len(first),
            "response": response,
            "exception": None,
            "context": meta.get("context", {}),
            "start_time": meta.get("start_time"),
            "url": meta.get("url"),
        }
