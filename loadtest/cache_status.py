"""What a caching proxy's cache-status header says, reduced to what the caching scenario records:
``hit``, ``miss`` or ``bypass`` (``none`` when no header, or a word nobody here knows). Free of
Locust, so it is importable anywhere.

The header is the first of the configured names an answer carries (``X-Cache`` of Varnish and the
reference target, ``X-Cache-Status`` of nginx's ``$upstream_cache_status``, ``CF-Cache-Status``...);
its first word, case-insensitively, is the status. Statuses are grouped by what the client waited
for, since that is what the hit and miss latency objectives judge:

* ``hit``: answered from the store without waiting for the origin: ``HIT``; ``STALE`` (an old entry
  served, the origin down or slow); ``UPDATING`` (an old entry served while another request
  refreshes it).
* ``miss``: the client waited for the origin: ``MISS``; ``EXPIRED`` (the entry was too old and was
  fetched again); ``REVALIDATED`` (nginx, Cloudflare) and CloudFront's ``RefreshHit``: the entry was
  too old and the origin confirmed it with a 304. The body came from the store, but the latency is
  an origin round trip, so a revalidation is judged with the misses.
* ``bypass``: the cache was skipped: ``BYPASS``; ``PASS`` (Varnish); ``DYNAMIC`` (Cloudflare: not
  cacheable).

The raw word is kept too (the scenario counts it as ``cache_status_<word>``), so a hit ratio that
counts revalidations as hits can still be worked out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

DEFAULT_CACHE_HEADERS = ("X-Cache", "X-Cache-Status")
"""Read in this order when ``--cache-header`` is not given."""

NO_STATUS = "none"

OUTCOMES: Mapping[str, str] = {
    "hit": "hit", "stale": "hit", "updating": "hit",
    "miss": "miss", "expired": "miss", "revalidated": "miss", "refreshhit": "miss",
    "bypass": "bypass", "pass": "bypass", "dynamic": "bypass",
}
"""A cache status word (lower case) -> the endpoint suffix it is recorded under."""

_WORD = re.compile(r"[a-z0-9_-]{1,24}")


def parse_cache_headers(text: str) -> tuple[str, ...]:
    """Header names from a comma-separated option value, blanks dropped; ValueError if none."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ValueError(f"--cache-header needs at least one header name, got {text!r}")
    return names


def cache_status_word(headers: Mapping[str, str] | None, names: Iterable[str]) -> str:
    """The first word, lower-cased, of the first header of ``names`` that ``headers`` carries
    (``HIT from cloudfront`` -> ``hit``, ``MISS, HIT`` -> ``miss``); ``none`` if there is none,
    or it is not a plain word."""
    if headers:
        for name in names:
            value = headers.get(name)
            if value is not None:
                word = value.strip().split(" ", 1)[0].split(",", 1)[0].lower()
                return word if _WORD.fullmatch(word) else NO_STATUS
    return NO_STATUS


def cache_outcome(word: str) -> str:
    """``hit``, ``miss`` or ``bypass`` for a status word (see the module's notes); ``none`` else."""
    return OUTCOMES.get(word, NO_STATUS)
