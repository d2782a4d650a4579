"""How open-model arrivals are spaced (``--slogate-arrivals``), free of gevent and Locust so the
option table (and ``slogate --help``) can name the choices without loading the scheduler."""

from __future__ import annotations

UNIFORM = "uniform"
"""Evenly spaced arrivals: the default of ``run``."""
POISSON = "poisson"
"""A Poisson process: exponential gaps, the bursts of independent clients (capacity's default)."""
ARRIVAL_PROCESSES = (UNIFORM, POISSON)


def parse_arrivals(text: str) -> str:
    """One of ARRIVAL_PROCESSES, or ValueError saying which are expected."""
    if text not in ARRIVAL_PROCESSES:
        raise ValueError(f"expected one of {', '.join(ARRIVAL_PROCESSES)}, got {text!r}")
    return text
