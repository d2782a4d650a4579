"""Per-API-key rate limiting of the reference proxy: one token bucket per key.

A key is the request's ``x-api-key`` or ``Authorization`` header value (requests with neither
share one anonymous bucket). A bucket holds up to ``burst`` tokens and refills at ``rate_per_s``;
a request takes one token or is refused with the seconds until one is available (the proxy
answers 429 with ``Retry-After``). Keys are never logged nor used as labels.

String form of a rate: ``N/s``, ``N/m`` or ``N/h`` (``20/s``, ``600/m``); ``none`` for no limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

RATE_HELP = "requests per key as N/s, N/m or N/h (such as 20/s), or none"
_PER = {"s": 1.0, "m": 60.0, "h": 3600.0}
ANONYMOUS_KEY = ""
MAX_KEYS = 10_000
"""Buckets kept at most; beyond it the idle (full) ones are forgotten, so memory stays bounded."""


@dataclass(frozen=True)
class RateLimit:
    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate_per_s > 0 and math.isfinite(self.rate_per_s)):
            raise ValueError(f"rate must be > 0 requests/s, got {self.rate_per_s!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst!r}")

    def __str__(self) -> str:
        return format_rate(self.rate_per_s)


def parse_rate(text: str) -> float | None:
    """Requests per second of ``N/s``, ``N/m``, ``N/h``; None for ``none``. ValueError if bad."""
    cleaned = text.strip().lower()
    if cleaned in ("", "none", "off", "0"):
        return None
    count, slash, unit = cleaned.partition("/")
    try:
        amount = float(count)
    except ValueError:
        amount = -1.0
    if not slash or unit not in _PER or not (amount > 0 and math.isfinite(amount)):
        raise ValueError(f"expected a rate such as 20/s, 600/m or none, got {text!r}")
    return amount / _PER[unit]


def format_rate(rate_per_s: float | None) -> str:
    """The inverse of ``parse_rate`` (``none`` for None)."""
    return "none" if rate_per_s is None else f"{rate_per_s!r}/s"


def default_burst(rate_per_s: float) -> int:
    """One second's worth of requests, at least one."""
    return max(1, math.ceil(rate_per_s))


def key_of(headers: Mapping[str, str]) -> str:
    """The rate-limit key of a request: its API key, else its Authorization, else anonymous."""
    return headers.get("x-api-key") or headers.get("Authorization") or ANONYMOUS_KEY


class KeyedRateLimiter:
    """Token buckets by key; ``acquire(key)`` is 0.0 when allowed, else seconds to wait."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated at)

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str) -> float:
        now = self._clock()
        rate, burst = self.limit.rate_per_s, float(self.limit.burst)
        tokens, updated = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - updated) * rate)
        if tokens >= 1.0:
            if key not in self._buckets and len(self._buckets) >= MAX_KEYS:
                self._forget_idle(now)
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / rate

    def headroom(self, key: str) -> tuple[int, float]:
        """(whole requests ``key`` may send now, seconds until its bucket is full again)."""
        now = self._clock()
        rate, burst = self.limit.rate_per_s, float(self.limit.burst)
        tokens, updated = self._buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - updated) * rate)
        return math.floor(tokens), (burst - tokens) / rate

    def _forget_idle(self, now: float) -> None:
        rate, burst = self.limit.rate_per_s, float(self.limit.burst)
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * rate >= burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= MAX_KEYS:  # every bucket busy: drop the oldest half
            for key in list(self._buckets)[: MAX_KEYS // 2]:
                del self._buckets[key]


def retry_after_header(wait_s: float) -> str:
    """``Retry-After`` is whole seconds (RFC 9110): the wait rounded up, at least 1."""
    return str(max(1, math.ceil(wait_s)))
