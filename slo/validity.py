"""The validity codes a run can carry, and what each one means for the measurement.

A validity flag (``run.json``'s ``validity``) says the load test itself may have distorted what
it measured, so the gate answers inconclusive. The load generator emits exactly these codes;
the reports explain each one with :data:`EXPLANATIONS`. A code may name the thing it is about
after a colon (``worker_lost:worker-b``): its kind is the part before.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

GENERATOR_SATURATED = "generator_saturated"
USERS_NOT_REACHED = "users_not_reached"
RATE_NOT_HELD = "rate_not_held"
WORKER_LOST = "worker_lost"
NOT_STARTED = "not_started"

RATE_NOT_HELD_ADVICE = "raise -u (the user pool) or add processes"
"""What a ``rate_not_held`` flag's message ends with (after ': '): a run's own advice, which a
command that sizes the pool itself (``slogate capacity``) leaves out."""

CPU_SATURATED_PERCENT = 90.0
"""A load-generator process busy (running, or waiting for a CPU) this share of a slice or more is
saturated: its own queueing is in the latency it measured."""

EXPLANATIONS: Mapping[str, str] = MappingProxyType({
    GENERATOR_SATURATED: (
        "The load generator ran out of CPU, so requests waited in the generator itself and "
        "the measured latency is partly the generator's. Run more Locust processes or "
        "lower the load."
    ),
    USERS_NOT_REACHED: (
        "The planned number of users never ran at once, so the service saw less load than "
        "the scenario asks for. Raise the spawn rate or the duration."
    ),
    RATE_NOT_HELD: (
        "The open model could not send its arrivals on time (no user was free to take them), so "
        "the service was judged at less load than planned. Raise the pool of users or add "
        "load-generator processes, or lower the target rate."
    ),
    WORKER_LOST: (
        "A Locust worker stopped reporting: its requests are missing from the counts and the "
        "load was lower than planned."
    ),
    NOT_STARTED: (
        "The load test never started (its workers quit or never connected), so nothing was "
        "measured. Check the workers and run it again."
    ),
})
"""Each code the load generator emits, with what it means for the measurement, in words."""


def kind_of(code: str) -> str:
    """The code without what it names: ``worker_lost:worker-b`` is a ``worker_lost``."""
    return code.partition(":")[0]


def worker_lost(worker_id: str) -> str:
    """The code of one lost worker (each lost worker is its own flag)."""
    return f"{WORKER_LOST}:{worker_id}"
