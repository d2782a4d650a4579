"""The reference traffic mix: an LLM messages API, cacheable content, and a readiness probe.

Run it through ``slogate run`` or with plain Locust::

    locust -f loadtest/reference_mix.py --headless -H http://127.0.0.1:8080 -u 20 -r 10 -t 30s \\
        --slogate-spec slogate/specs/reference.yaml

Endpoints are named by route (``POST /v1/messages``, ``GET /content/{id}``,
``GET /health/ready``), not by URL, so objectives can select them. Content ids follow a Zipf-like
popularity over ``SLOGATE_CONTENT_KEYS`` keys (default 200), so a cache in front of the upstream
sees a realistic mix of hits and misses (one endpoint for both here; ``loadtest/caching_proxy.py``
records them apart). Messages are plain calls with one API key per user (``loadtest/llm.py``; its
options apply); ``loadtest/llm_proxy.py`` adds streaming. As in the other scenarios, a 429 is rate
limited (counted apart from errors, its ``Retry-After`` waited), and a failure is named by its status
(``HTTP 503``), never by the URL.
"""

from __future__ import annotations

import os
import random

from locust import FastHttpUser, between, task

import slogate.loadtest.plugin  # noqa: F401  (registers slogate's options and recorder)
from slogate.loadtest.llm import PROMPTS, MessageCaller
from slogate.loadtest.traffic import ZipfKeys
from slogate.loadtest.users import fail_by_status, honour_retry_after, mark_rate_limited

CONTENT_KEYS = ZipfKeys(int(os.environ.get("SLOGATE_CONTENT_KEYS", "200")), exponent=1.1)


class ProxyUser(FastHttpUser):
    """A client of the proxy: mostly content reads, some LLM calls, an occasional probe."""

    wait_time = between(0.05, 0.15)

    def on_start(self) -> None:
        self.caller = MessageCaller(self)

    @task(2)
    def create_message(self) -> None:
        self.caller.call(random.choice(PROMPTS), stream=False)

    @task(6)
    def read_content(self) -> None:
        self.get(f"/content/{CONTENT_KEYS.draw()}", "/content/{id}")

    @task(1)
    def probe_ready(self) -> None:
        self.get("/health/ready", "/health/ready")

    def get(self, path: str, route: str) -> None:
        wait_s = None
        with self.client.get(path, name=route, catch_response=True) as response:
            # Anything else stands as Locust judged it (a refused connection stays its error).
            if response.status_code == 429:
                wait_s = mark_rate_limited(response)
            elif response.status_code >= 400:
                fail_by_status(response)
        honour_retry_after(self, wait_s)
