"""Each load-generating process's CPU use, measured by slogate itself about every second.

Locust's own monitor samples every 10 s and its first reading is a baseline of 0, so a run shorter
than about 20 s never showed a saturated generator, and a spike shorter than its window was
averaged away. Here each process (the local runner, the master, every worker) reads its own CPU
time (``psutil``) at short intervals that divide the run's slices, so every slice gets the CPU
share of each process over that slice, whatever the run length.

A process starved by its neighbours on a shared machine queues too: its timestamps are late
although its own CPU share is low. On Linux the time its threads spent runnable but waiting for a
CPU (``/proc/self/task/*/schedstat``) is measured beside it; the validity check adds both.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import psutil

_TASKS = Path("/proc/self/task")


def sample_interval_s(slice_s: float) -> float:
    """At most 1 s, and a whole number of them make a slice (each sample falls in one slice)."""
    return slice_s / math.ceil(slice_s) if slice_s > 1.0 else slice_s


def _run_queue_wait_s() -> float | None:
    """Seconds this process's threads have waited for a CPU while runnable; None where unknown."""
    total_ns = 0
    try:
        for task in _TASKS.iterdir():
            try:
                total_ns += int((task / "schedstat").read_text().split()[1])
            except FileNotFoundError:
                continue  # a thread that ended meanwhile
    except (OSError, ValueError, IndexError):
        return None
    return total_ns / 1e9


class CpuMeter:
    """This process's CPU share (and its wait for a CPU) since the previous reading."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._last = self._read()

    @property
    def last_at(self) -> float:
        """When the previous reading was taken (epoch s)."""
        return self._last[0]

    def _read(self) -> tuple[float, float, float | None]:
        times = self._process.cpu_times()
        return time.time(), times.user + times.system, _run_queue_wait_s()

    def read(self) -> tuple[float, float, float, float | None]:
        """(from epoch s, to epoch s, CPU percent, CPU-wait percent or None) since the last
        reading, which this one becomes."""
        return self._since_last(consume=True)

    def peek(self) -> float:
        """The CPU percent since the last reading, which stays the last (for a live view; within
        0.1 s of it, as a share of 0.1 s: CPU time counts in 10 ms ticks)."""
        started, ended, cpu, _ = self._since_last(consume=False)
        return cpu * (ended - started) / max(ended - started, 0.1)

    def _since_last(self, *, consume: bool) -> tuple[float, float, float, float | None]:
        (then, cpu_then, wait_then), now_reading = self._last, self._read()
        now, cpu_now, wait_now = now_reading
        if consume:
            self._last = now_reading
        wall = max(now - then, 1e-9)
        wait = None if wait_now is None or wait_then is None else 100.0 * (wait_now - wait_then) / wall
        return then, now, 100.0 * (cpu_now - cpu_then) / wall, wait
