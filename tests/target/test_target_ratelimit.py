"""Per-API-key rate limiting: token buckets, and the proxy's 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from slogate.slo.contract import DEFAULT_CONTRACT
from slogate.target import ratelimit
from slogate.target.ratelimit import (
    KeyedRateLimiter,
    RateLimit,
    key_of,
    parse_rate,
    retry_after_header,
)
from tests.target.target_helpers import ThreadedTarget, samples, value

MakeTarget = Callable[..., ThreadedTarget]
C = DEFAULT_CONTRACT
MESSAGE: dict[str, Any] = {
    "model": "m", "max_tokens": 4, "messages": [{"role": "user", "content": "hello"}],
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_per_key_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = KeyedRateLimiter(RateLimit(rate_per_s=2.0, burst=2), clock=clock)
    assert [limiter.acquire("a"), limiter.acquire("a")] == [0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(0.5)  # one token comes in 1/rate
    assert limiter.acquire("b") == 0.0  # keys are independent
    clock.now += 0.25
    assert limiter.acquire("a") == pytest.approx(0.25)
    clock.now += 0.25
    assert limiter.acquire("a") == 0.0
    clock.now += 60
    assert [limiter.acquire("a") for _ in range(3)][:2] == [0.0, 0.0]  # refill caps at burst


def test_idle_buckets_are_forgotten_beyond_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_KEYS", 10)
    clock = FakeClock()
    limiter = KeyedRateLimiter(RateLimit(rate_per_s=1.0, burst=1), clock=clock)
    for i in range(50):
        limiter.acquire(f"key-{i}")
        clock.now += 0.1
    assert len(limiter) <= 10


def test_rates_parse_and_bad_ones_say_why() -> None:
    assert parse_rate("20/s") == 20.0
    assert parse_rate("600/m") == 10.0
    assert parse_rate("36/h") == pytest.approx(0.01)
    assert parse_rate("none") is None
    for bad in ("20", "20/d", "-1/s", "x/s", "inf/s"):
        with pytest.raises(ValueError, match="expected a rate such as 20/s"):
            parse_rate(bad)
    with pytest.raises(ValueError, match="burst"):
        RateLimit(1.0, 0)
    assert [retry_after_header(w) for w in (0.01, 1.0, 1.2)] == ["1", "1", "2"]
    assert key_of({"x-api-key": "k", "Authorization": "a"}) == "k"
    assert key_of({"Authorization": "a"}) == "a"


def test_the_proxy_answers_429_with_retry_after_per_key(make_target: MakeTarget) -> None:
    target = make_target(rate_limit=RateLimit(rate_per_s=0.5, burst=2))
    secret = "sk-ratelimit-test-key-do-not-leak"
    url = f"{target.proxy_url}/v1/messages"
    with requests.Session() as session:
        first = [session.post(url, json=MESSAGE, headers={"x-api-key": secret}, timeout=5)
                 for _ in range(3)]
        other_key = session.post(url, json=MESSAGE, headers={"x-api-key": "sk-other-key-1"},
                                 timeout=5)
        bearer = [session.get(f"{target.proxy_url}/content/a",
                              headers={"Authorization": "Bearer t"}, timeout=5) for _ in range(3)]
        health = [session.get(f"{target.proxy_url}/health/ready", timeout=5) for _ in range(4)]
        text = session.get(f"{target.proxy_url}/metrics", timeout=5).text
    assert [r.status_code for r in first] == [200, 200, 429]
    refused = first[2]
    assert refused.headers["Retry-After"] == "2"  # 1 token at 0.5/s, in whole seconds
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert other_key.status_code == 200
    assert [r.status_code for r in bearer] == [200, 200, 429]
    assert {r.status_code for r in health} == {200}  # the proxy's own endpoints are not limited
    metrics = samples(text)
    assert value(metrics, C.rate_limited, **{C.route_label: "/v1/messages"}) == 1
    assert value(metrics, C.rate_limited, **{C.route_label: "/content/{id}"}) == 1
    labels = {C.route_label: "/v1/messages", C.method_label: "POST", C.status_label: "429"}
    assert value(metrics, f"{C.request_duration}_count", **labels) == 1
    assert value(metrics, C.cache_requests, result="bypass") == 3  # refusals are not forwarded
    assert secret not in text
