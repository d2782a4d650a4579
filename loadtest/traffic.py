"""Traffic helpers of the scenarios, free of Locust (importable anywhere): Zipf-like key
popularity, per-user API keys and ``Retry-After`` values (cache statuses: loadtest.cache_status)."""

from __future__ import annotations

import bisect
import email.utils
import itertools
import math
import random
import secrets
import time


class ZipfKeys:
    """Keys ``0..size-1`` drawn with Zipf-like popularity: key ``k`` weighs ``1 / (k+1)**exponent``.

    A larger key space (or a smaller exponent) spreads requests thinner, so a cache of fixed size
    hits less often: the key space is the knob of a scenario's hit ratio.
    """

    def __init__(self, size: int, exponent: float = 1.1) -> None:
        if size < 1:
            raise ValueError(f"the key space needs at least 1 key, got {size}")
        if exponent < 0:
            raise ValueError(f"the Zipf exponent must be >= 0, got {exponent}")
        self.size = size
        self.exponent = exponent
        self._cumulative: list[float] = list(
            itertools.accumulate(1.0 / rank**exponent for rank in range(1, size + 1))
        )

    def draw(self, rng: random.Random | None = None) -> int:
        point = (rng or random).random() * self._cumulative[-1]
        return min(bisect.bisect_right(self._cumulative, point), self.size - 1)


_user_numbers = itertools.count()


def api_key_for(configured: list[str], generated_prefix: str = "sk-slogate-load") -> str:
    """The API key of the next user: the configured keys in turn, else a fresh generated one.

    Generated keys start with ``sk-`` so ``slo.redact`` masks them wherever they could appear.
    """
    number = next(_user_numbers)
    if configured:
        return configured[number % len(configured)]
    return f"{generated_prefix}-{number:04d}-{secrets.token_hex(6)}"


def split_keys(text: str | None) -> list[str]:
    """Comma-separated keys, blanks dropped."""
    return [key.strip() for key in (text or "").split(",") if key.strip()]


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` value asks for (delay-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None

