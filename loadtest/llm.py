"""An LLM API client for Locust users (Anthropic or OpenAI style): plain and streamed calls, with
time to first token, inter-token latency and time per output token of every stream.

``MessageCaller(user).call(prompt, stream=...)`` sends one ``POST /v1/messages`` (``--llm-api
anthropic``) or ``POST /v1/chat/completions`` (``--llm-api openai``) and records, ``ROUTE`` being
that route:

* ``POST ROUTE``: the total time (request sent → last byte), streamed or not;
* for a whole stream (its end marker came, no error), derived series of the same request, each
  its own endpoint key so an objective selects it alone (``endpoint: POST /v1/messages#ttft``):
  ``#ttfb`` the first byte of the body; ``#ttft`` the first content chunk; ``#itl`` one sample per
  gap between consecutive content chunks (a chunk of several tokens is one sample); ``#tpot`` the
  time per output token after the first (definitions in ``loadtest.llm_stream``); they go straight
  into slogate's recorder, one call per series (``loadtest.recording``), not through Locust's
  request events (one per inter-token gap cost more than the parsing): Locust's own stats show
  ``POST ROUTE`` only, unless slogate does not record the run;
* run totals (``loadtest.counters``, in run.json's ``counters``): ``input_tokens``,
  ``output_tokens``, ``messages``; ``stop_reason_<reason>``; ``stream_error_<error.type>`` (an
  error event after a 200: a failure of kind ``MidStreamError``, apart from transport errors and
  from ``stream_cut``, a stream that ended before its end marker: kind ``StreamCutError``);
  ``tpot_from_chunks`` (streams whose usage had no output tokens: TPOT counted content chunks as
  tokens); ``http_529`` (overloaded) apart from ``http_5xx`` (every other 5xx);
  ``rate_limit_low_<limit>`` (answers leaving at most 10% of a limit, ``loadtest.llm_limits``) and
  ``rate_limited_by_<limit>`` (429s, attributed to the limit that ran out);
* per streamed request (not rate limited), a row of its start, success, TTFT, TPOT and total time
  together (``loadtest.llm_rows``, the bundle's ``llm_requests.csv.gz``): goodput is judged on them;
* per slice (run.json's ``slices[].minimums``): ``rate_limit_headroom_<limit>``, the lowest share
  of each announced rate limit left (0..1), over every user and worker;
* a 429 is *rate limited*, not failed (``exception=None``, ``context={"rate_limited": True}``),
  then the user sleeps what ``Retry-After`` asks, else the reset of the exhausted limit (capped by
  ``--retry-after-cap``, see ``loadtest.users``).

A failed call never names the API key in its message.
"""

from __future__ import annotations

import argparse
import functools
import random
import re
import time
from collections.abc import Iterator
from typing import Any

from geventhttpclient.response import HTTPConnectionClosed
from locust import FastHttpUser, events

from slogate.loadtest.llm_lengths import LENGTH_HELP, TokenLengths, parse_lengths, prompt_of
from slogate.loadtest.llm_limits import Headroom, exhausted_limit, rate_limit_headroom, reset_wait_s
from slogate.loadtest.llm_payload import ROUTES, answer_of, auth_headers, request_body
from slogate.loadtest.llm_series import SeriesKeys, record_stream
from slogate.loadtest.llm_stream import (
    ANTHROPIC,
    API_STYLES,
    KEEP_BYTES,
    LlmStreamParser,
    StreamTimings,
)
from slogate.loadtest.recording import recorder_of
from slogate.loadtest.traffic import api_key_for, split_keys
from slogate.loadtest.users import counters_of, fail_by_status, honour_retry_after, mark_rate_limited
from slogate.slo.run import ITL_SUFFIX, RATE_LIMIT_HEADROOM_PREFIX, TPOT_SUFFIX, TTFB_SUFFIX, TTFT_SUFFIX

DEFAULT_MODEL = "reference-small"
DEFAULT_MAX_TOKENS = "64"
PROMPTS = (
    "Summarise the release notes in one line.",
    "Write a haiku about cache hit ratios and tail latency.",
    "Explain the difference between p99 and p99.9 latency to a product manager.",
    "List three reasons a proxy would answer 429, briefly.",
)
_COUNTER_PART = re.compile(r"[^a-z0-9]+")


def _lengths(text: str) -> str:
    """Checks a length distribution and keeps it as text: Locust's master sends its parsed options
    to every worker with msgpack, which carries plain values only (an object stops the workers)."""
    try:
        parse_lengths(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    group = parser.add_argument_group("slogate LLM calls", "Options of the LLM API calls")
    group.add_argument("--llm-api", choices=API_STYLES, default=ANTHROPIC, env_var="SLOGATE_LLM_API",
                       help="API style: anthropic (POST /v1/messages) or openai "
                            "(POST /v1/chat/completions) (default anthropic)")
    group.add_argument("--llm-model", metavar="NAME", default=DEFAULT_MODEL,
                       env_var="SLOGATE_LLM_MODEL", help=f"model asked for (default {DEFAULT_MODEL})")
    group.add_argument("--llm-max-tokens", metavar="LENGTHS", type=_lengths,
                       default=DEFAULT_MAX_TOKENS, env_var="SLOGATE_LLM_MAX_TOKENS",
                       help=f"max_tokens of each call: {LENGTH_HELP} (default {DEFAULT_MAX_TOKENS})")
    group.add_argument("--llm-prompt-tokens", metavar="LENGTHS", type=_lengths, default=None,
                       env_var="SLOGATE_LLM_PROMPT_TOKENS",
                       help=f"prompt length of each call: {LENGTH_HELP} (default: a few short "
                            "built-in prompts)")
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


@functools.lru_cache(maxsize=256)  # once per stream (its stop reason): the few names, made once
def counter_name(prefix: str, value: str) -> str:
    """A run counter named after a server-given value (``stop_reason_end_turn``), kept short and tame."""
    return prefix + (_COUNTER_PART.sub("_", value.lower()).strip("_")[:40] or "unknown")


def _lengths_option(options: Any, name: str, default: TokenLengths | None) -> TokenLengths | None:
    value = getattr(options, name, default)
    return parse_lengths(str(value)) if isinstance(value, (int, str)) else value


READ_SIZE = 65536
"""Bytes asked of the socket per read: whatever has arrived, up to this, comes in one piece."""


def _reads_as_they_come(response: Any) -> Iterator[bytes]:
    """A stream's body, one piece per network read, each as soon as it arrived: what the socket
    held (up to ``READ_SIZE``), so the events in it arrived together and are stamped once.

    geventhttpclient's own response (the compatibility wrapper's ``read(n)`` waits for n bytes):
    its parser takes each read off the socket (dechunking the body into its body buffer); the body
    the headers' read already brought comes first. Raises ``HTTPConnectionClosed`` if the
    connection closes before the body's end.
    """
    raw = response._response
    while True:
        body = raw._body_buffer
        if body:
            piece = bytes(body)
            del body[:]
            yield piece
        if raw.message_complete:
            return
        sock = raw._sock
        if sock is None:
            raise HTTPConnectionClosed("connection closed before the end of the body")
        try:
            raw.feed(sock.recv(READ_SIZE))
        except BaseException:
            raw.release()
            raise


class MessageCaller:
    """Sends the LLM calls of one Locust user, with that user's API key."""

    def __init__(self, user: FastHttpUser, api_key: str | None = None) -> None:
        self.user = user
        options = user.environment.parsed_options
        self.api = str(getattr(options, "llm_api", ANTHROPIC))
        self.route = ROUTES[self.api]
        self.key = f"POST {self.route}"
        """The requests' endpoint key (every call is a POST)."""
        self.series_keys = SeriesKeys.of(self.key)
        self.headers = auth_headers(self.api, api_key or user_api_key(options))
        self.model = str(getattr(options, "llm_model", DEFAULT_MODEL))
        self.max_tokens = _lengths_option(options, "llm_max_tokens", None) or parse_lengths(
            DEFAULT_MAX_TOKENS)
        self.prompt_tokens = _lengths_option(options, "llm_prompt_tokens", None)
        self._headroom: dict[str, Headroom] = {}
        self.counters = counters_of(user.environment)
        self.rng = random.Random()

    def prompt(self) -> str:
        """A prompt: of ``--llm-prompt-tokens`` words when set, else one of the built-in ones."""
        if self.prompt_tokens is None:
            return self.rng.choice(PROMPTS)
        return prompt_of(self.prompt_tokens.draw(self.rng), self.rng)

    def call(self, prompt: str | None = None, *, stream: bool) -> None:
        max_tokens = self.max_tokens.draw(self.rng)
        body = request_body(self.api, self.model, max_tokens, prompt or self.prompt(), stream=stream)
        headers = {**self.headers, "Accept-Encoding": "identity"} if stream else self.headers
        wait_s: float | None = None
        timings: StreamTimings | None = None
        started = time.perf_counter()
        with self.user.client.post(self.route, json=body, headers=headers, name=self.route,
                                   stream=stream, catch_response=True) as response:
            status = response.status_code
            self._note_limits(response, status)
            if status == 429:
                wait_s = self._rate_limited(response)
            elif status != 200:
                if stream and status:
                    response.read()  # the error body, so the connection can be reused
                if status >= 500:
                    self.counters.add(**{"http_529" if status == 529 else "http_5xx": 1})
                fail_by_status(response)
            elif stream:
                timings = self._read_stream(response, started)
            else:
                self._read_answer(response)
        if timings is not None:
            self._record_timings(response, timings)
        if stream and status != 429:
            self._keep_row(response, timings)
        honour_retry_after(self.user, wait_s)

    def _note_limits(self, response: Any, status: int) -> None:
        now = time.time()
        self._headroom = rate_limit_headroom(response.headers or {}, now) if status else {}
        low = [name for name, state in self._headroom.items() if state.low]
        if low:
            self.counters.add(**{counter_name("rate_limit_low_", name): 1 for name in low})
        recorder = recorder_of(self.user.environment)
        if recorder is not None:
            for name, state in self._headroom.items():
                share = state.share
                if share is not None:  # each slice keeps the lowest: the report charts it over time
                    recorder.minimum(counter_name(RATE_LIMIT_HEADROOM_PREFIX, name), now, share)

    def _rate_limited(self, response: Any) -> float | None:
        limit = exhausted_limit(self._headroom)
        self.counters.add(**{counter_name("rate_limited_by_", limit or "unknown"): 1})
        wait_s = mark_rate_limited(response)
        return wait_s if wait_s is not None else reset_wait_s(self._headroom, limit)

    def _read_answer(self, response: Any) -> None:
        try:
            answer = answer_of(self.api, response.content)
        except ValueError as exc:
            response.failure(str(exc))
            return
        self.counters.add(input_tokens=answer.input_tokens, output_tokens=answer.output_tokens,
                          messages=1)
        if answer.stop_reason:
            self.counters.add(**{counter_name("stop_reason_", answer.stop_reason): 1})

    def _read_stream(self, response: Any, started: float) -> StreamTimings | None:
        """Read a stream, each network read stamped as it arrives; set the total time; its timings
        when whole."""
        parser = LlmStreamParser(self.api, started)
        # Each read stamped as it comes off the socket and collected; the parser gets them at the
        # end (or every KEEP_BYTES of a long stream): a read costs an append, not a call.
        chunks: list[bytes] = []
        arrivals: list[float] = []
        keep_chunk, keep_arrival, clock = chunks.append, arrivals.append, time.perf_counter
        length = held = 0
        failure: Exception | None = None
        try:
            for piece in _reads_as_they_come(response):
                keep_arrival(clock())
                keep_chunk(piece)
                held += len(piece)
                if held > KEEP_BYTES:
                    parser.feed_all(chunks, arrivals, held)
                    del chunks[:], arrivals[:]
                    length, held = length + held, 0
        except Exception as exc:  # a transport error mid-body: reported under its own type
            failure = exc
        parser.feed_all(chunks, arrivals, held)
        length += held
        meta = response.request_meta
        meta["response_time"] = (time.perf_counter() - started) * 1e3
        meta["response_length"] = length
        response.release()
        timings = parser.timings()
        if timings.error is not None:
            self.counters.add(**{counter_name("stream_error_", timings.error.error_type): 1})
        elif failure is None and not timings.complete:
            self.counters.add(stream_cut=1)
        if failure is not None or not timings.complete:  # (complete: the end marker, no error)
            response.failure(failure or timings.failure)
            return None
        counts = {"input_tokens": timings.input_tokens or 0, "output_tokens": timings.output_tokens,
                  "messages": 1}
        if timings.stop_reason:
            counts[counter_name("stop_reason_", timings.stop_reason)] = 1
        if not timings.tokens_from_usage:
            counts["tpot_from_chunks"] = 1
        self.counters.add_all(counts)
        return timings

    def _keep_row(self, response: Any, timings: StreamTimings | None) -> None:
        """The stream's row for goodput (``loadtest.llm_rows``): TTFT, TPOT and total together;
        a failed stream (``timings`` None) is a row that is never good."""
        recorder = recorder_of(self.user.environment)
        if recorder is None:
            return
        meta = response.request_meta
        recorder.stream_rows.add(
            self.key, meta.get("start_time") or time.time(),
            timings is not None, None if timings is None else timings.ttft_s,
            None if timings is None else timings.tpot_s, (meta.get("response_time") or 0.0) / 1e3)

    def _record_timings(self, response: Any, timings: StreamTimings) -> None:
        """The stream's derived series under their own endpoint keys, straight into slogate's
        recorder, all in one call: a Locust request event per sample (one per content chunk for
        ``#itl``) cost more than parsing the stream. Locust's own stats then show the request only;
        without slogate recording the run, they are request events, for Locust."""
        meta = response.request_meta
        recorder = recorder_of(self.user.environment)
        if recorder is not None:
            record_stream(recorder, self.series_keys, meta.get("start_time") or time.time(), timings)
            return
        fire = self.user.environment.events.request.fire
        common = {"request_type": meta["request_type"], "response_length": 0, "response": response,
                  "exception": None, "context": meta.get("context", {}),
                  "start_time": meta.get("start_time"), "url": meta.get("url")}
        for suffix, seconds in ((TTFB_SUFFIX, () if timings.ttfb_s is None else (timings.ttfb_s,)),
                                (TTFT_SUFFIX, () if timings.ttft_s is None else (timings.ttft_s,)),
                                (TPOT_SUFFIX, () if (tpot := timings.tpot_s) is None else (tpot,)),
                                (ITL_SUFFIX, timings.itl_s)):
            for value in seconds:
                fire(name=self.route + suffix, response_time=value * 1e3, **common)
