"""What the proxy knows of its LLM routes: their API style, the tokens and timings of an answer
passing through, and the rate-limit headers it announces.

* ``/v1/messages`` is Anthropic style, ``/v1/chat/completions`` OpenAI style.
* ``AnswerWatch`` follows one answer: a stream is parsed as it passes (``loadtest.llm_stream``,
  stamped when each chunk arrives from the upstream, from the request's arrival at the proxy), a
  JSON body is read for its ``usage``; ``finish`` counts its tokens and observes the GenAI histograms.
* ``rate_limit_headers``: the per-key bucket's headroom as the API style announces it: Anthropic
  ``anthropic-ratelimit-requests-{limit,remaining,reset}`` (the reset an RFC 3339 time), OpenAI
  ``x-ratelimit-{limit,remaining,reset}-requests`` (the reset a duration such as ``850ms``). The
  limit is the bucket's size (its burst), the reset the moment it is full again.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from slogate.loadtest.llm_stream import ANTHROPIC, OPENAI, LlmStreamParser
from slogate.target.metrics import ProxyMetrics
from slogate.target.ratelimit import KeyedRateLimiter

MESSAGES_ROUTE = "/v1/messages"
CHAT_COMPLETIONS_ROUTE = "/v1/chat/completions"
LLM_ROUTES = {MESSAGES_ROUTE: ANTHROPIC, CHAT_COMPLETIONS_ROUTE: OPENAI}
UNKNOWN_MODEL = "unknown"


def model_of(body: bytes) -> str:
    """The ``model`` a request body asks for (``unknown`` when it names none)."""
    try:
        model = json.loads(body).get("model")
    except (ValueError, AttributeError):
        return UNKNOWN_MODEL
    return model if isinstance(model, str) and model else UNKNOWN_MODEL


def tokens_of(api: str, body: bytes) -> tuple[int, int]:
    """(input, output) tokens in a JSON answer's ``usage``; (0, 0) if there are none."""
    names = ("prompt_tokens", "completion_tokens") if api == OPENAI else ("input_tokens", "output_tokens")
    try:
        usage = json.loads(body).get("usage")
        if not isinstance(usage, dict):
            return 0, 0
        return int(usage.get(names[0], 0)), int(usage.get(names[1], 0))
    except (ValueError, TypeError, AttributeError):
        return 0, 0


class AnswerWatch:
    """One LLM answer passing through the proxy, from the request's arrival (``perf_counter``)."""

    def __init__(self, api: str, model: str, arrived: float) -> None:
        self.api = api
        self.model = model
        self.arrived = arrived
        self.parser = LlmStreamParser(api, arrived)

    def feed(self, chunk: bytes) -> None:
        self.parser.feed(chunk, time.perf_counter())

    def finish_stream(self, metrics: ProxyMetrics) -> None:
        """Count the stream's tokens; a whole stream's timings go to the GenAI histograms."""
        timings = self.parser.timings()
        input_tokens = timings.input_tokens or 0
        metrics.count_tokens(input_tokens, timings.output_tokens)
        if timings.complete:
            metrics.observe_llm_answer(
                self.api, self.model, time.perf_counter() - self.arrived,
                (timings.input_tokens, timings.output_tokens), timings.ttft_s, timings.tpot_s,
            )

    def finish_body(self, metrics: ProxyMetrics, body: bytes) -> None:
        input_tokens, output_tokens = tokens_of(self.api, body)
        metrics.count_tokens(input_tokens, output_tokens)
        metrics.observe_llm_answer(self.api, self.model, time.perf_counter() - self.arrived,
                                   (input_tokens, output_tokens))


def _duration(seconds: float) -> str:
    return f"{round(seconds * 1e3)}ms" if seconds < 1 else f"{seconds:.3f}s"


def rate_limit_headers(api: str, limiter: KeyedRateLimiter, key: str) -> dict[str, str]:
    """The headroom of ``key`` after its request, in the headers of ``api``'s style."""
    remaining, full_in_s = limiter.headroom(key)
    limit = str(limiter.limit.burst)
    if api == OPENAI:
        return {"x-ratelimit-limit-requests": limit,
                "x-ratelimit-remaining-requests": str(remaining),
                "x-ratelimit-reset-requests": _duration(full_in_s)}
    reset = datetime.fromtimestamp(time.time() + full_in_s, UTC).isoformat(timespec="milliseconds")
    return {"anthropic-ratelimit-requests-limit": limit,
            "anthropic-ratelimit-requests-remaining": str(remaining),
            "anthropic-ratelimit-requests-reset": reset.replace("+00:00", "Z")}
