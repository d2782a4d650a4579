"""The proxy's response cache: an in-memory LRU with per-entry TTL, bounded in entries and bytes.

Only what a shared cache may store is stored (RFC 9111, simplified): a 200 to a GET whose
``Cache-Control`` gives a positive ``s-maxage`` or ``max-age`` without ``no-store``, ``no-cache``
or ``private``, with no ``Vary`` and (when the request carried ``Authorization``) ``public`` or
``s-maxage``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: float
    expires_at: float


def parse_cache_control(value: str) -> dict[str, str]:
    """Directives of a ``Cache-Control`` header, lower-cased names, unquoted values."""
    directives: dict[str, str] = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = arg.strip().strip('"')
    return directives


def request_may_use_cache(method: str, headers: Mapping[str, str]) -> bool:
    """True when a request may be answered from (and fill) the cache."""
    if method != "GET":
        return False
    directives = parse_cache_control(headers.get("Cache-Control", ""))
    return "no-store" not in directives and "no-cache" not in directives


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` value matches ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def freshness_lifetime(
    status: int,
    request_headers: Mapping[str, str],
    response_headers: Mapping[str, str],
) -> float:
    """Seconds the response may be served from a shared cache (0: do not store)."""
    if status != 200 or "Vary" in response_headers:
        return 0.0
    directives = parse_cache_control(response_headers.get("Cache-Control", ""))
    if {"no-store", "no-cache", "private"} & directives.keys():
        return 0.0
    if "Authorization" in request_headers and not {"public", "s-maxage"} & directives.keys():
        return 0.0
    raw = directives.get("s-maxage", directives.get("max-age"))
    if raw is None:
        return 0.0
    try:
        lifetime = float(int(raw))
    except ValueError:
        return 0.0
    try:
        age = float(int(response_headers.get("Age", "0")))
    except ValueError:
        age = 0.0
    return max(0.0, lifetime - age)


class ResponseCache:
    """LRU of fresh responses, bounded by entry count and total body bytes."""

    def __init__(
        self,
        max_entries: int = 1024,
        max_bytes: int = 32 * 1024 * 1024,
        max_entry_bytes: int = 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 0 or max_bytes < 0 or max_entry_bytes < 0:
            raise ValueError("cache bounds must be >= 0")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self._clock = clock
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: str) -> CachedResponse | None:
        """The fresh entry for ``key``, or None (an expired entry is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self._clock():
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(
        self,
        key: str,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        ttl_s: float,
    ) -> CachedResponse | None:
        """Store a response for ``ttl_s`` seconds; None when it does not fit or ttl is 0."""
        if ttl_s <= 0 or len(body) > self.max_entry_bytes or self.max_entries == 0:
            return None
        now = self._clock()
        entry = CachedResponse(status, headers, body, now, now + ttl_s)
        if key in self._entries:
            self._remove(key)
        self._entries[key] = entry
        self._bytes += len(body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))
        return entry

    def age(self, entry: CachedResponse) -> int:
        """Whole seconds since ``entry`` was stored (the ``Age`` header)."""
        return int(self._clock() - entry.stored_at)

    def purge(self, key: str) -> bool:
        """Drop the entry for ``key``; True when there was one."""
        if key not in self._entries:
            return False
        self._remove(key)
        return True

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)
