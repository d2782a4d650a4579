"""Random W3C trace context ids for every request of a run, drawn in bulk.

Apart from :mod:`slogate.loadtest.tracing` (which patches Locust's clients) so that it imports
neither Locust nor gevent: a test or a tool can use it without monkey-patching its process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

IDS_PER_DRAW = 256
"""Trace and span ids drawn from the system's random source at once (one read for many requests)."""
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


def random_ids() -> Iterator[tuple[str, str]]:
    """(trace id, traceparent header) pairs with random trace and span ids, forever.

    Once per request, so the ids are read in bulk and cut from one hex string: no integer
    formatting per request. All-zero ids are invalid in W3C trace context: skipped.
    """
    while True:
        digits = os.urandom(24 * IDS_PER_DRAW).hex()
        for start in range(0, len(digits), 48):
            trace_id, span_id = digits[start:start + 32], digits[start + 32:start + 48]
            if trace_id != _ZERO_TRACE and span_id != _ZERO_SPAN:
                yield trace_id, f"00-{trace_id}-{span_id}-01"


def restart() -> None:
    """Start a fresh stream of ids (what a forked worker runs first)."""
    global next_ids
    next_ids = random_ids().__next__


next_ids: Callable[[], tuple[str, str]] = random_ids().__next__
"""The next (trace id, traceparent header) pair of this process."""
# A forked Locust worker (--processes) must not send the ids its parent has drawn already.
os.register_at_fork(after_in_child=restart)
