"""The reference traffic mix: an LLM messages API, cacheable content, and a readiness probe.

Run it through ``slogate run`` or with plain Locust::

    locust -f loadtest/reference_mix.py --headless -H http://127.0.0.1:8080 -u 20 -r 10 -t 30s \\
        --slogate-spec slogate/specs/reference.yaml

Endpoints are named by route (``/content/{id}``), not by URL, so objectives can select them.
Content ids follow a Zipf-like popularity over ``SLOGATE_CONTENT_KEYS`` keys (default 200), so a
cache in front of the upstream sees a realistic mix of hits and misses.
"""

from __future__ import annotations

import itertools
import os
import random

from locust import FastHttpUser, between, task

import loadtest.plugin  # noqa: F401  (registers slogate's options and recorder)

CONTENT_KEYS = int(os.environ.get("SLOGATE_CONTENT_KEYS", "200"))
ZIPF_EXPONENT = 1.1
DEMO_API_KEY = "sk-slogate-demo-key"

_CUMULATIVE_WEIGHTS = list(
    itertools.accumulate(1.0 / rank**ZIPF_EXPONENT for rank in range(1, CONTENT_KEYS + 1))
)


class ProxyUser(FastHttpUser):
    """A client of the proxy: mostly content reads, some LLM calls, an occasional probe."""

    wait_time = between(0.05, 0.15)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.api_key = getattr(options, "slogate_api_key", None) or DEMO_API_KEY

    @task(2)
    def create_message(self) -> None:
        body = {
            "model": "reference-small",
            "max_tokens": random.choice((32, 64, 128)),
            "messages": [{"role": "user", "content": "Summarise the release notes in one line."}],
        }
        headers = {"x-api-key": self.api_key, "anthropic-version": "2023-06-01"}
        with self.client.post("/v1/messages", json=body, headers=headers,
                              name="/v1/messages", catch_response=True) as response:
            if response.status_code == 200:
                try:
                    usage = response.json()["usage"]
                    if int(usage["output_tokens"]) < 0:
                        raise ValueError("negative token count")
                except (ValueError, KeyError, TypeError) as exc:
                    response.failure(f"malformed message body: {exc}")

    @task(6)
    def read_content(self) -> None:
        key = random.choices(range(CONTENT_KEYS), cum_weights=_CUMULATIVE_WEIGHTS)[0]
        self.client.get(f"/content/{key}", name="/content/{id}")

    @task(1)
    def probe_ready(self) -> None:
        self.client.get("/health/ready", name="/health/ready")
