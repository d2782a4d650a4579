"""Random W3C traceparent headers for every request of a run, made in batches.

Apart from :mod:`slogate.loadtest.tracing` (which patches Locust's clients) so that it imports
neither Locust nor gevent: a test or a tool can use it without monkey-patching its process.

Once per request, so a request only takes the next string of a list: the batch is written by numpy
into one buffer (random bytes to hex digits, the fixed characters around them) and split into
strings by ``str.split``, with no Python per header. Formatting headers one by one in Python
(slices, f-strings or ``%``) costs some 4,000 CPU instructions a header, as much as 2% of a bare
Locust request against a fast proxy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numpy as np

IDS_PER_DRAW = 4096
"""Headers made at once (one read of the system's random source for all of them)."""
HEADER_FIELD = "traceparent: "
"""A request head's field before a header line's value (``next_line``)."""
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_VALUE_LENGTH = 55  # 00-<32 hex: trace id>-<16 hex: span id>-01


def random_values(prefix: str = "", suffix: str = "") -> Iterator[str]:
    """traceparent values with random trace and span ids, each between ``prefix`` and ``suffix``
    (``HEADER_FIELD`` and a line end make a request head's line), forever.

    W3C trace context forbids all-zero ids; random 128- and 64-bit ids are all zero with a
    probability of 2^-128 and 2^-64: not checked.
    """
    head, tail = prefix.encode("ascii") + b"00-", b"-01" + suffix.encode("ascii") + b"\0"
    trace_at, span_at = len(head), len(head) + 33
    template = np.frombuffer(head + b"-" * (_VALUE_LENGTH - 6) + tail, dtype=np.uint8)
    while True:
        random = np.frombuffer(os.urandom(24 * IDS_PER_DRAW), dtype=np.uint8).reshape(IDS_PER_DRAW, 24)
        digits = np.empty((IDS_PER_DRAW, 48), dtype=np.uint8)
        digits[:, 0::2] = _HEX_DIGITS[random >> 4]
        digits[:, 1::2] = _HEX_DIGITS[random & 15]
        batch = np.tile(template, (IDS_PER_DRAW, 1))
        batch[:, trace_at:trace_at + 32] = digits[:, :32]
        batch[:, span_at:span_at + 16] = digits[:, 32:]
        values = batch.tobytes().decode("ascii").split("\0")
        values.pop()  # after the last separator
        yield from values


def trace_id_of(traceparent: str) -> str | None:
    """The trace id (32 hex digits) a traceparent value carries; None if it is not one."""
    trace_id = traceparent[3:35]
    return trace_id if len(traceparent) >= 55 and traceparent[2] == "-" and traceparent[35] == "-" else None


def restart() -> None:
    """Start fresh streams of headers (what a forked worker runs first)."""
    global next_header, next_line
    next_header = random_values().__next__
    next_line = random_values(HEADER_FIELD, "\r\n\r\n").__next__


next_header: Callable[[], str] = random_values().__next__
"""The next traceparent value of this process."""
next_line: Callable[[], str] = random_values(HEADER_FIELD, "\r\n\r\n").__next__
"""The next traceparent line of this process, with the blank line that ends a request head: what a
request head built without it ends with instead of its own last line end."""
# A forked Locust worker (--processes) must not send the ids its parent has drawn already.
os.register_at_fork(after_in_child=restart)
