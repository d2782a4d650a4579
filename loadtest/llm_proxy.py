"""Scenario: an LLM API proxy. Users call ``POST /v1/messages`` (or, with ``--llm-api openai``,
``POST /v1/chat/completions``), plain and streamed (server-sent events), each with its own API key,
beside a light health/metrics background user.

Run it with plain Locust (or ``slogate run --scenario loadtest/llm_proxy.py``)::

    slogate target --port 8080 --rate-limit 20/s --first-token-delay 150ms --token-interval 20ms &
    locust -f loadtest/llm_proxy.py --headless -H http://127.0.0.1:8080 -u 20 -r 10 -t 30s \\
        --llm-stream-ratio 0.5 --llm-max-tokens lognormal:200,0.5 --slogate-out out/runs/llm

Endpoints recorded (``METHOD name``, routes never raw URLs; ``ROUTE`` is the API style's route):

* ``POST ROUTE``: total time, request sent → last byte (plain and streamed calls);
* of each whole stream: ``POST ROUTE#ttfb`` (its first byte: ``message_start``, no token yet),
  ``#ttft`` (its first content token), ``#itl`` (one sample per gap between content chunks) and
  ``#tpot`` (time per output token after the first); see ``loadtest/llm.py``;
* ``GET /health/live``, ``GET /health/ready``, ``GET /metrics``: the background user.

Run totals (logged when Locust quits, and in run.json's ``counters``): tokens and messages, stop
reasons, mid-stream errors by ``error.type``, cut streams, 529 apart from other 5xx, low
rate-limit headroom and 429s by the limit that ran out.

Rate limits: a 429 is recorded as *rate limited* (``exception=None``,
``context={"rate_limited": True}``), not as a failure, and the user waits what ``Retry-After``
asks (else the limit's reset header) before its next call. API keys: one per user
(``--llm-api-keys`` in turn, else ``--slogate-api-key``, else a generated ``sk-slogate-load-...``
key); never logged.

Options (command line, or the environment variable):

``--llm-stream-ratio R`` (``SLOGATE_LLM_STREAM_RATIO``, default 0.5)
    share of calls that stream (0: none, 1: all)
``--llm-api``, ``--llm-model``, ``--llm-max-tokens``, ``--llm-prompt-tokens``, ``--llm-api-keys``,
``--retry-after-cap``
    see ``loadtest/llm.py``; ``--health-interval``: see ``loadtest/users.py``
"""
from __future__ import annotations

from typing import Any

from locust import FastHttpUser, between, events, task

import slogate.loadtest.plugin  # noqa: F401  (registers slogate's options and recorder)
from slogate.loadtest.llm import MessageCaller
from slogate.loadtest.users import HealthUser

__all__ = ["HealthUser", "LlmUser"]

DEFAULT_STREAM_RATIO = 0.5


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    group = parser.add_argument_group("slogate LLM scenario")
    group.add_argument("--llm-stream-ratio", metavar="R", type=float, default=DEFAULT_STREAM_RATIO,
                       env_var="SLOGATE_LLM_STREAM_RATIO",
                       help=f"share of calls that stream, 0..1 (default {DEFAULT_STREAM_RATIO:g})")


class LlmUser(FastHttpUser):
    """A client of an LLM API proxy, with its own API key: plain and streamed messages."""

    weight = 10
    wait_time = between(0.05, 0.15)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.caller = MessageCaller(self)
        ratio = float(getattr(options, "llm_stream_ratio", DEFAULT_STREAM_RATIO))
        self.stream_ratio = min(1.0, max(0.0, ratio))

    @task
    def create_message(self) -> None:
        self.caller.call(stream=self.caller.rng.random() < self.stream_ratio)
