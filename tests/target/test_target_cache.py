"""The proxy's response cache: what may be stored, TTL and bounds."""

from __future__ import annotations

from slogate.target.cache import ResponseCache, freshness_lifetime, request_may_use_cache

PUBLIC = {"Cache-Control": "public, max-age=60"}


def test_freshness_lifetime_follows_cache_control() -> None:
    assert freshness_lifetime(200, {}, PUBLIC) == 60
    assert freshness_lifetime(200, {}, {"Cache-Control": "max-age=30", "Age": "10"}) == 20
    assert freshness_lifetime(200, {}, {"Cache-Control": "s-maxage=5, max-age=60"}) == 5
    assert freshness_lifetime(503, {}, PUBLIC) == 0
    assert freshness_lifetime(200, {}, {}) == 0
    assert freshness_lifetime(200, {}, {"Cache-Control": "private, max-age=60"}) == 0
    assert freshness_lifetime(200, {}, {"Cache-Control": "no-store, max-age=60"}) == 0
    assert freshness_lifetime(200, {}, {"Cache-Control": "max-age=soon"}) == 0
    assert freshness_lifetime(200, {}, {**PUBLIC, "Vary": "Accept"}) == 0
    authorized = {"Authorization": "Bearer x"}
    assert freshness_lifetime(200, authorized, {"Cache-Control": "max-age=60"}) == 0
    assert freshness_lifetime(200, authorized, PUBLIC) == 60


def test_only_plain_gets_use_the_cache() -> None:
    assert request_may_use_cache("GET", {})
    assert not request_may_use_cache("POST", {})
    assert not request_may_use_cache("HEAD", {})
    assert not request_may_use_cache("GET", {"Cache-Control": "no-cache"})


def test_entries_expire() -> None:
    now = [0.0]
    cache = ResponseCache(clock=lambda: now[0])
    cache.put("/a", 200, (), b"body", ttl_s=10)
    now[0] = 9.0
    entry = cache.get("/a")
    assert entry is not None and entry.body == b"body" and cache.age(entry) == 9
    now[0] = 10.0
    assert cache.get("/a") is None
    assert len(cache) == 0 and cache.size_bytes == 0


def test_cache_is_bounded_by_entries_and_bytes_lru_first() -> None:
    cache = ResponseCache(max_entries=2, max_bytes=10, max_entry_bytes=8)
    cache.put("/a", 200, (), b"aaa", 60)
    cache.put("/b", 200, (), b"bbb", 60)
    assert cache.get("/a") is not None  # /a is now the most recently used
    cache.put("/c", 200, (), b"ccc", 60)
    assert cache.get("/b") is None and cache.get("/a") is not None
    assert cache.put("/big", 200, (), b"x" * 9, 60) is None  # larger than one entry may be
    cache.put("/d", 200, (), b"dddddddd", 60)  # 8 bytes: evicts until the total fits
    assert len(cache) == 1 and cache.size_bytes == 8
    assert ResponseCache(max_entries=0).put("/a", 200, (), b"a", 60) is None
