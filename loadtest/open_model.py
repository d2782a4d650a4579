"""The open model: requests arrive at a target rate whatever the responses take.

A scheduler greenlet computes each arrival's intended start time from the schedule and hands it
to a pool of users (Locust's users, ``-u`` of them) through a queue. A user takes an arrival, waits
until its intended time, and runs one task iteration; the iteration's first request is recorded
from the intended time, so a stalled target shows in the latency of every request that should
have been sent during the stall (no coordinated omission). An arrival picked up more than
LATE_AFTER_S after its time is *late* (its latency still counts from the intended time); one that
no user picked up within the dispatch limit is *dropped* (never sent, counted).

Arrivals are evenly spaced (``uniform``) or a Poisson process (``poisson``: exponential gaps, the
bursts real traffic has; queues form from them, so evenly spaced arrivals understate tail latency
at the same mean rate). Both follow the same rate curve: a Poisson arrival is a unit-rate
exponential sum mapped through the inverse of the expected-arrivals integral, exact during a ramp.

Any scenario runs in the open model unchanged: :func:`install` turns its users' ``wait_time``
into "take the next arrival".
"""

from __future__ import annotations

import math
import random
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.queue import Empty, Queue

from slogate.loadtest.arrivals import POISSON, UNIFORM, parse_arrivals
from slogate.loadtest.options import DEFAULT_MAX_LAG_S

LATE_AFTER_S = 0.010
"""An arrival sent more than this after its intended time counts as late (scheduler jitter is ~1 ms)."""
HAND_OVER_EARLY_S = 0.002
"""Arrivals are queued this much before their time, so the user is ready to send exactly on time."""


@dataclass(frozen=True)
class ArrivalSchedule:
    """``rate`` arrivals/s, going linearly to ``rate_to`` over ``ramp_s`` seconds (then held),
    evenly spaced or as a Poisson process (``arrivals``)."""

    rate: float
    rate_to: float | None = None
    ramp_s: float = 0.0
    arrivals: str = UNIFORM

    def __post_init__(self) -> None:
        if not self.rate > 0 or (self.rate_to is not None and not self.rate_to > 0):
            raise ValueError("an arrival rate must be positive")
        parse_arrivals(self.arrivals)

    def rate_at(self, elapsed_s: float) -> float:
        if self.rate_to is None or self.ramp_s <= 0:
            return self.rate_to if self.rate_to is not None and self.ramp_s <= 0 else self.rate
        progress = min(1.0, max(0.0, elapsed_s / self.ramp_s))
        return self.rate + (self.rate_to - self.rate) * progress

    def arrivals_until(self, elapsed_s: float) -> float:
        """Expected arrivals in ``[0, elapsed_s)``: the integral of the rate."""
        if self.rate_to is None or self.ramp_s <= 0:
            return self.rate_at(0.0) * elapsed_s
        ramp = min(elapsed_s, self.ramp_s)
        during = ramp * (self.rate + self.rate_at(ramp)) / 2
        return during + max(0.0, elapsed_s - self.ramp_s) * self.rate_to

    def offsets(self, rng: random.Random | None = None) -> Iterator[float]:
        """Intended offsets (seconds from the start) of every arrival, in order, forever; a Poisson
        schedule draws its gaps from ``rng`` (a new unseeded one if None)."""
        if self.arrivals == POISSON:
            draw = (rng or random.Random()).expovariate
            expected = 0.0
            while True:
                expected += draw(1.0)
                yield self._offset_of(expected)
        n = 0
        while True:
            yield self._offset_of(n)
            n += 1

    def _offset_of(self, n: float) -> float:
        """When ``n`` arrivals are expected: solve arrivals_until(t) = n exactly (linear ramp: a
        quadratic), so a long run never drifts."""
        if self.rate_to is None or self.ramp_s <= 0:
            return n / self.rate_at(0.0)
        in_ramp = self.arrivals_until(self.ramp_s)
        if n >= in_ramp:
            return self.ramp_s + (n - in_ramp) / self.rate_to
        slope = (self.rate_to - self.rate) / self.ramp_s
        if abs(slope) < 1e-12:
            return n / self.rate
        # slope/2 t² + rate t - n = 0
        return (-self.rate + math.sqrt(self.rate**2 + 2 * slope * n)) / slope

    def describe(self) -> dict[str, float | str]:
        described: dict[str, float | str] = {"rate": self.rate}
        if self.rate_to is not None:
            described |= {"rate_to": self.rate_to, "ramp_s": self.ramp_s}
        return described | {"arrivals": self.arrivals}


class ArrivalDispatcher:
    """Hands each arrival to a free user at its intended time; counts late and dropped arrivals.

    ``share`` is the part of the schedule this process sends (its users over all users, when
    several Locust workers share one rate); ``on_late`` / ``on_dropped`` receive the intended
    epoch time of each late or dropped arrival. ``rng`` draws a Poisson schedule's gaps and which
    of its arrivals this process sends (unseeded by default: each worker its own).
    """

    def __init__(
        self,
        schedule: ArrivalSchedule,
        *,
        share: Callable[[], float] = lambda: 1.0,
        on_late: Callable[[float], None] = lambda _t: None,
        on_dropped: Callable[[float], None] = lambda _t: None,
        max_lag_s: float = DEFAULT_MAX_LAG_S,
        rng: random.Random | None = None,
    ) -> None:
        self.schedule = schedule
        self.rng = rng or random.Random()
        self.share = share
        self.on_late = on_late
        self.on_dropped = on_dropped
        self.max_lag_s = max_lag_s
        self.started_at: float | None = None
        self.sent = 0
        self._queue: Queue[float] = Queue()
        self._greenlet: gevent.Greenlet[Any, Any] | None = None
        # The intended start of the iteration each user greenlet is running, until its first request.
        self.pending: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def start(self, now: float | None = None) -> None:
        if self._greenlet is None:
            self.started_at = time.time() if now is None else now
            self._greenlet = gevent.spawn(self._schedule_forever)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def take(self) -> float:
        """Block until an arrival is due; returns its intended epoch time (called by a user)."""
        intended = float(self._queue.get())
        lag = time.time() - intended
        if lag < 0:
            gevent.sleep(-lag)
        elif lag > LATE_AFTER_S:
            self.on_late(intended)
        self.sent += 1
        self.pending[gevent.getcurrent()] = intended
        return intended

    def claim_intended(self) -> float | None:
        """The intended start of the current user's iteration, once (its first request takes it)."""
        return self.pending.pop(gevent.getcurrent(), None)

    def _schedule_forever(self) -> None:
        assert self.started_at is not None
        poisson = self.schedule.arrivals == POISSON
        chance = self.rng.random
        credit = 0.0
        for offset in self.schedule.offsets(self.rng):
            intended = self.started_at + offset
            delay = intended - HAND_OVER_EARLY_S - time.time()
            if delay > 0:
                gevent.sleep(delay)
            self._drop_stale()
            # This process sends its share of the arrivals. Evenly spaced: a fractional credit keeps
            # the exact count over time when workers split one rate. Poisson: each arrival is kept
            # with the share's probability, so each worker's arrivals, and their sum, stay Poisson
            # (every k-th arrival would be far more regular than real traffic).
            if poisson:
                if chance() < self.share():
                    self._queue.put(intended)
                continue
            credit += self.share()
            if credit >= 1.0:
                credit -= 1.0
                self._queue.put(intended)

    def _drop_stale(self) -> None:
        oldest_allowed = time.time() - self.max_lag_s
        while True:
            try:
                head = self._queue.peek(block=False)
            except Empty:
                return
            if head >= oldest_allowed:
                return
            self._queue.get(block=False)
            self.on_dropped(head)


def install(user_classes: Iterable[type[Any]], dispatcher: ArrivalDispatcher) -> None:
    """Make these user classes draw their iterations from the dispatcher instead of waiting."""
    for user_class in user_classes:
        original_on_start = user_class.on_start

        def on_start(user: Any, _original: Callable[[Any], None] = original_on_start) -> None:
            _original(user)
            dispatcher.take()  # the first iteration waits for an arrival too

        def wait_time(_user: Any) -> float:
            dispatcher.take()
            return 0.0

        user_class.on_start = on_start
        user_class.wait_time = wait_time
