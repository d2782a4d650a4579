"""Random W3C traceparent headers for every request of a run, drawn in bulk.

Apart from :mod:`slogate.loadtest.tracing` (which patches Locust's clients) so that it imports
neither Locust nor gevent: a test or a tool can use it without monkey-patching its process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

IDS_PER_DRAW = 256
"""Trace and span ids drawn from the system's random source at once (one read for many requests)."""
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


def random_headers() -> Iterator[str]:
    """traceparent headers with random trace and span ids, forever.

    Once per request, so the ids are read in bulk and the headers of a draw built together: a
    request takes the next one of a list. All-zero ids are invalid in W3C trace context: skipped.
    """
    while True:
        digits = os.urandom(24 * IDS_PER_DRAW).hex()
        ids = [(digits[start:start + 32], digits[start + 32:start + 48])
               for start in range(0, len(digits), 48)]
        yield from [f"00-{trace_id}-{span_id}-01" for trace_id, span_id in ids
                    if trace_id != _ZERO_TRACE and span_id != _ZERO_SPAN]


def trace_id_of(traceparent: str) -> str | None:
    """The trace id (32 hex digits) a traceparent header carries; None if it is not one."""
    trace_id = traceparent[3:35]
    return trace_id if len(traceparent) >= 55 and traceparent[2] == "-" and traceparent[35] == "-" else None


def restart() -> None:
    """Start a fresh stream of headers (what a forked worker runs first)."""
    global next_header
    next_header = random_headers().__next__


next_header: Callable[[], str] = random_headers().__next__
"""The next traceparent header of this process."""
# A forked Locust worker (--processes) must not send the ids its parent has drawn already.
os.register_at_fork(after_in_child=restart)
