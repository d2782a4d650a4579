"""Rate-limit headroom an LLM API announces in its response headers, and the wait a 429 asks for.

Anthropic (``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``,
the reset an RFC 3339 time) and OpenAI (``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``,
the reset a duration such as ``1s``, ``6m0s`` or ``20ms``) are read into one shape: ``Headroom``
per limit name (``requests``, ``tokens``, ``input-tokens``, ``output-tokens``).

A 429 is attributed to the limit that ran out (``exhausted_limit``: remaining 0, else the smallest
share left); its wait is ``Retry-After`` when given, else that limit's reset (``reset_wait_s``).
Free of Locust: importable anywhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

LIMIT_NAMES = ("requests", "tokens", "input-tokens", "output-tokens")
LOW_HEADROOM_SHARE = 0.1
"""A limit with at most this share of its allowance left counts as low headroom."""
_ANTHROPIC = "anthropic-ratelimit-"
_OPENAI = "x-ratelimit-"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


@dataclass(frozen=True)
class Headroom:
    """One limit's state after a response: what is left of how much, and when it refills."""

    remaining: int
    limit: int | None
    reset_s: float | None
    """Seconds until the limit resets (0 when the time is past); None when not announced."""

    @property
    def share(self) -> float | None:
        """The share of the allowance left (0..1); None without a usable limit."""
        if not self.limit:
            return None
        return max(0.0, min(1.0, self.remaining / self.limit))

    @property
    def low(self) -> bool:
        share = self.share
        return self.remaining == 0 or (share is not None and share <= LOW_HEADROOM_SHARE)


def _integer(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(float(value.strip()))
    except (ValueError, OverflowError):
        return None
    return number if number >= 0 else None


def duration_seconds(text: str) -> float | None:
    """Seconds of an OpenAI reset duration (``1s``, ``6m0s``, ``1h2m3.5s``, ``20ms``, or a bare number)."""
    cleaned = text.strip().lower()
    try:
        seconds = float(cleaned)
    except ValueError:
        parts = _DURATION_PART.findall(cleaned)
        if not parts or "".join(n + u for n, u in parts) != cleaned:
            return None
        scale = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
        seconds = sum(float(number) * scale[unit] for number, unit in parts)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _reset_seconds(value: str | None, now: float) -> float | None:
    """Seconds until a reset given as an RFC 3339 time (Anthropic) or a duration (OpenAI)."""
    if not value:
        return None
    text = value.strip()
    if "T" in text:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - now)
    return duration_seconds(text)


def rate_limit_headroom(headers: Mapping[str, str], now: float) -> dict[str, Headroom]:
    """Every limit a response announces (``now``: epoch seconds, to turn reset times into waits).

    ``headers`` must look names up case-insensitively (as every HTTP client's headers do).
    """
    found: dict[str, Headroom] = {}
    for name in LIMIT_NAMES:
        remaining = _integer(headers.get(f"{_ANTHROPIC}{name}-remaining"))
        if remaining is not None:
            found[name] = Headroom(remaining, _integer(headers.get(f"{_ANTHROPIC}{name}-limit")),
                                   _reset_seconds(headers.get(f"{_ANTHROPIC}{name}-reset"), now))
            continue
        remaining = _integer(headers.get(f"{_OPENAI}remaining-{name}"))
        if remaining is not None:
            found[name] = Headroom(remaining, _integer(headers.get(f"{_OPENAI}limit-{name}")),
                                   _reset_seconds(headers.get(f"{_OPENAI}reset-{name}"), now))
    return found


def exhausted_limit(headroom: Mapping[str, Headroom]) -> str | None:
    """The limit a 429 is due to: one with nothing left, else the one with the smallest share."""
    if not headroom:
        return None
    spent = [name for name, state in headroom.items() if state.remaining == 0]
    if spent:
        return spent[0]
    with_share = [(state.share, name) for name, state in headroom.items() if state.share is not None]
    return min(with_share)[1] if with_share else None


def reset_wait_s(headroom: Mapping[str, Headroom], limit: str | None) -> float | None:
    """The seconds until ``limit`` resets, when announced."""
    state = headroom.get(limit) if limit is not None else None
    return state.reset_s if state is not None else None
