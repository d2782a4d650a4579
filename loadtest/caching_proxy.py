"""Scenario: a caching reverse proxy. Users read ``GET /content/{id}`` over a key space with
Zipf-like popularity and revalidate with ``If-None-Match``; purges and health probes are opt-in.

Run it with plain Locust (or ``slogate run --scenario loadtest/caching_proxy.py``, options through
their environment variables then)::

    slogate target --port 8080 --cache-entries 500 &
    locust -f loadtest/caching_proxy.py --headless -H http://127.0.0.1:8080 -u 20 -r 10 -t 30s \\
        --cache-keys 5000 --slogate-out out/runs/cache

Endpoints recorded, named by route and by the proxy's cache status, so hits and misses have their
own latency (``METHOD route:outcome``)::

    GET /content/{id}:hit      served from the cache (200, or 304 to a conditional GET)
    GET /content/{id}:miss     the client waited for the origin (a fetch, or a revalidation)
    GET /content/{id}:bypass   not cacheable, or the cache was skipped
    GET /content/{id}:none     no cache status header (or no answer at all)
    PURGE /content/{id}        a purge, with --cache-purge-ratio (200: dropped, 404: nothing cached)
    GET /health/live, GET /health/ready, GET /metrics    probes, with --health-interval

The status is the first word of the cache header, in any case (nginx's ``HIT``, ``MISS``,
``EXPIRED``, ``STALE``, ``UPDATING``, ``REVALIDATED``, ``BYPASS``; Varnish's, Cloudflare's and
CloudFront's too), grouped as ``loadtest/cache_status.py`` says: ``STALE`` and ``UPDATING`` are hits
(no origin wait), ``EXPIRED`` and ``REVALIDATED`` misses (an origin round trip). An objective
selects one: ``endpoint: GET /content/{id}:hit``. A 304 is a success and shows in the endpoint's
status counts; a 429 is rate limited (counted apart from errors; the user waits its
``Retry-After``), any other status a failure (``HTTP 503``).

The hit ratio follows from the key space against the proxy's cache size: key ``k`` (0-based) is
drawn with weight ``1/(k+1)^s``, so a larger ``--cache-keys`` (or a smaller ``--cache-zipf``)
misses more. Run totals (``run.json`` counters, and the log when Locust quits): ``cache_hit``,
``cache_miss``, ``cache_bypass``, ``cache_none`` per outcome, and ``cache_status_<word>`` per status
word the proxy sent (``cache_status_revalidated``...).

Options (command line, or the environment variable):

``--cache-keys N`` (``SLOGATE_CACHE_KEYS``, default 1000)          size of the key space
``--cache-zipf S`` (``SLOGATE_CACHE_ZIPF``, default 1.1)           popularity exponent (0: uniform)
``--cache-conditional-ratio R`` (``SLOGATE_CACHE_CONDITIONAL_RATIO``, default 0.2)
    share of reads that send the ETag last seen for the key as ``If-None-Match``
``--cache-purge-ratio R`` (``SLOGATE_CACHE_PURGE_RATIO``, default 0)    share of purges (off:
    a plain nginx refuses ``PURGE``, which would count against its availability)
``--cache-path TEMPLATE`` (``SLOGATE_CACHE_PATH``, default ``/content/{id}``)
    the route; ``{id}`` is replaced by the key (``/img/{id}.png`` works too)
``--cache-header NAMES`` (``SLOGATE_CACHE_HEADER``, default ``X-Cache,X-Cache-Status``)
    the response headers holding the cache status, the first present is read
``--health-interval``: see ``loadtest/users.py`` (off by default)
"""

from __future__ import annotations

import random
from typing import Any

from locust import FastHttpUser, between, events, task

import slogate.loadtest.plugin  # noqa: F401  (registers slogate's options and recorder)
from slogate.loadtest.cache_status import (
    DEFAULT_CACHE_HEADERS,
    NO_STATUS,
    cache_outcome,
    cache_status_word,
    parse_cache_headers,
)
from slogate.loadtest.traffic import ZipfKeys
from slogate.loadtest.users import (
    HealthUser,
    counters_of,
    fail_by_status,
    honour_retry_after,
    mark_rate_limited,
)

__all__ = ["CacheUser", "HealthUser"]

DEFAULT_PATH = "/content/{id}"
PURGE_METHOD = "PURGE"


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    group = parser.add_argument_group("slogate caching scenario")
    group.add_argument("--cache-keys", metavar="N", type=int, default=1000,
                       env_var="SLOGATE_CACHE_KEYS", help="size of the key space (default 1000)")
    group.add_argument("--cache-zipf", metavar="S", type=float, default=1.1,
                       env_var="SLOGATE_CACHE_ZIPF",
                       help="Zipf exponent of key popularity; 0 is uniform (default 1.1)")
    group.add_argument("--cache-conditional-ratio", metavar="R", type=float, default=0.2,
                       env_var="SLOGATE_CACHE_CONDITIONAL_RATIO",
                       help="share of reads sent with If-None-Match (default 0.2)")
    group.add_argument("--cache-purge-ratio", metavar="R", type=float, default=0.0,
                       env_var="SLOGATE_CACHE_PURGE_RATIO",
                       help="share of requests that PURGE a key (default 0: none)")
    group.add_argument("--cache-path", metavar="TEMPLATE", default=DEFAULT_PATH,
                       env_var="SLOGATE_CACHE_PATH",
                       help=f"route of the cached content, with {{id}} (default {DEFAULT_PATH})")
    default_headers = ",".join(DEFAULT_CACHE_HEADERS)
    group.add_argument("--cache-header", metavar="NAMES", default=default_headers,
                       env_var="SLOGATE_CACHE_HEADER",
                       help="response headers holding the cache status, comma-separated; the "
                            f"first present is read (default {default_headers})")


def _ratio(options: Any, name: str, default: float) -> float:
    return min(1.0, max(0.0, float(getattr(options, name, default))))


class CacheUser(FastHttpUser):
    """A client of a caching proxy: popular keys often, the long tail now and then."""

    weight = 10
    wait_time = between(0.01, 0.05)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.keys = ZipfKeys(int(getattr(options, "cache_keys", 1000)),
                             float(getattr(options, "cache_zipf", 1.1)))
        self.conditional_ratio = _ratio(options, "cache_conditional_ratio", 0.2)
        self.purge_ratio = _ratio(options, "cache_purge_ratio", 0.0)
        self.route = str(getattr(options, "cache_path", DEFAULT_PATH))
        if "{id}" not in self.route:
            raise ValueError(f"--cache-path needs an {{id}} placeholder, got {self.route!r}")
        self.status_headers = parse_cache_headers(
            str(getattr(options, "cache_header", ",".join(DEFAULT_CACHE_HEADERS))))
        self.etags: dict[int, str] = {}
        self.counters = counters_of(self.environment)

    @task
    def request_content(self) -> None:
        key = self.keys.draw()
        path = self.route.replace("{id}", str(key))
        draw = random.random()
        if draw < self.purge_ratio:
            self.purge(path)
        else:
            conditional = draw < self.purge_ratio + self.conditional_ratio
            self.read(key, path, self.etags.get(key) if conditional else None)

    def read(self, key: int, path: str, etag: str | None) -> None:
        headers = {"If-None-Match": etag} if etag else None
        with self.client.get(path, headers=headers, name=self.route,
                             catch_response=True) as response:
            word = cache_status_word(response.headers, self.status_headers)
            outcome = cache_outcome(word)
            response.request_meta["name"] = f"{self.route}:{outcome}"
            wait_s = None
            if response.status_code in (200, 304):
                if tag := response.headers.get("ETag"):
                    self.etags[key] = tag
                self.count(outcome, word)
                response.success()
            elif response.status_code == 429:
                wait_s = mark_rate_limited(response)
            else:
                fail_by_status(response)
        honour_retry_after(self, wait_s)

    def count(self, outcome: str, word: str) -> None:
        counts = {f"cache_{outcome}": 1}
        if word != NO_STATUS:
            counts[f"cache_status_{word}"] = 1
        self.counters.add(**counts)

    def purge(self, path: str) -> None:
        with self.client.request(PURGE_METHOD, path, name=self.route,
                                 catch_response=True) as response:
            if response.status_code in (200, 404):  # 404: nothing cached under that key
                response.success()
            else:
                fail_by_status(response)
