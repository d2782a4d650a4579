"""Conditional GETs (If-None-Match → 304) and PURGE at the proxy's cache."""

from __future__ import annotations

from collections.abc import Callable

import requests

from slogate.slo.contract import DEFAULT_CONTRACT
from slogate.target.cache import etag_matches
from tests.target.target_helpers import ThreadedTarget, samples, value

MakeTarget = Callable[..., ThreadedTarget]
C = DEFAULT_CONTRACT


def test_etag_matching_is_weak_and_takes_lists() -> None:
    assert etag_matches('"a"', '"a"')
    assert etag_matches('W/"a"', '"a"') and etag_matches('"a"', 'W/"a"')
    assert etag_matches('"x", "a"', '"a"')
    assert etag_matches("*", '"a"')
    assert not etag_matches('"ab"', '"a"')  # not a substring match
    assert not etag_matches("", '"a"') and not etag_matches('"a"', "")


def test_conditional_gets_are_304_on_a_miss_and_on_a_hit(make_target: MakeTarget) -> None:
    target = make_target()
    url = f"{target.proxy_url}/content/c1"
    with requests.Session() as session:
        etag = requests.get(f"{target.upstream_url}/content/c1", timeout=5).headers["ETag"]
        miss = session.get(url, headers={"If-None-Match": etag}, timeout=5)
        hit = session.get(url, headers={"If-None-Match": f'"other", W/{etag}'}, timeout=5)
        changed = session.get(url, headers={"If-None-Match": '"stale"'}, timeout=5)
        metrics = samples(session.get(f"{target.proxy_url}/metrics", timeout=5).text)
    # The proxy fetched the whole response to store it, and answered the condition itself.
    assert (miss.status_code, miss.headers["X-Cache"], miss.content) == (304, "MISS", b"")
    assert miss.headers["ETag"] == etag
    assert (hit.status_code, hit.headers["X-Cache"]) == (304, "HIT")
    assert (changed.status_code, changed.headers["X-Cache"]) == (200, "HIT")
    assert changed.headers["ETag"] == etag and changed.content
    assert value(metrics, C.cache_requests, result="miss") == 1
    assert value(metrics, C.cache_requests, result="hit") == 2


def test_without_a_cache_the_condition_goes_upstream(make_target: MakeTarget) -> None:
    target = make_target(cache_max_entries=0)
    etag = requests.get(f"{target.proxy_url}/content/c2", timeout=5).headers["ETag"]
    resp = requests.get(f"{target.proxy_url}/content/c2", headers={"If-None-Match": etag},
                        timeout=5)
    assert (resp.status_code, resp.headers["X-Cache"]) == (304, "BYPASS")


def test_purge_drops_a_cached_response(make_target: MakeTarget) -> None:
    target = make_target()
    url = f"{target.proxy_url}/content/p1"
    with requests.Session() as session:
        cached = [session.get(url, timeout=5).headers["X-Cache"] for _ in range(2)]
        purged = session.request("PURGE", url, timeout=5)
        again = session.request("PURGE", url, timeout=5)
        after = session.get(url, timeout=5).headers["X-Cache"]
        untouched = session.request("PURGE", f"{target.proxy_url}/content/never", timeout=5)
        metrics = samples(session.get(f"{target.proxy_url}/metrics", timeout=5).text)
    assert cached == ["MISS", "HIT"]
    assert (purged.status_code, purged.json()) == (200, {"purged": True})
    assert (again.status_code, again.json()) == (404, {"purged": False})
    assert untouched.status_code == 404
    assert after == "MISS"
    # Purges are not cache lookups; they are requests of the route, method _OTHER (OTel).
    assert value(metrics, C.cache_requests, result="miss") == 2
    assert value(metrics, C.cache_requests, result="hit") == 1
    labels = {C.route_label: "/content/{id}", C.method_label: "_OTHER", C.status_label: "200"}
    assert value(metrics, f"{C.request_duration}_count", **labels) == 1
