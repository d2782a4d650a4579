"""Whether the load test itself held up: the checks behind a run's validity flags.

Each check takes what it judges (each process's CPU per slice, users reached, arrivals dropped)
and gives the flag to raise, or none; :class:`RunValidity` records them in the run's recorder,
except a saturated generator the user accepted, which goes into the load model instead. The codes
and what they mean are in ``slo.validity``.
"""

from __future__ import annotations

from collections.abc import Mapping

from slogate.loadtest.open_model import ArrivalSchedule
from slogate.loadtest.recorder import RunRecorder
from slogate.slo import validity
from slogate.slo.run import ProcessCpu, ValidityFlag
from slogate.slo.validity import CPU_SATURATED_PERCENT, RATE_NOT_HELD_ADVICE

MAX_DROPPED_SHARE = 0.01
"""Open model: more arrivals than this share dropped (never sent) means the rate was not held."""
PLANNED_TIME_SLACK_S = 0.5
"""A run that stopped more than this before its planned time (-t) is incomplete, never a pass.
Locust starts its run-time timer with the test, so a whole run is within a few ms of -t."""
ACCEPTED_NOTE = " (accepted with --slogate-accept-saturated)"


def generator_saturated(worst: ProcessCpu, where: str, slices: int) -> ValidityFlag:
    """The load generator (``where``: its processes) over the CPU limit in ``slices`` slices,
    ``worst`` the highest of them."""
    waited = f" + {worst.wait_percent:.0f}% waiting for a CPU" if worst.wait_percent else ""
    return ValidityFlag(
        validity.GENERATOR_SATURATED,
        f"load generator {where} CPU at {worst.cpu_percent:.0f}%{waited}, over "
        f"{CPU_SATURATED_PERCENT:.0f}% in {slices} slice{'s' if slices != 1 else ''}: measured latency "
        "includes the generator's own queueing; add processes or lower the load",
    )


def saturated_slices(cpu_by_slice: Mapping[int, Mapping[str, ProcessCpu]]) -> ValidityFlag | None:
    """Any slice in which a process ran, or waited for a CPU, more than CPU_SATURATED_PERCENT of
    the time: one saturated slice is enough, however short the run."""
    over = [(cpu.busy_percent, process, index, cpu)
            for index, by_process in cpu_by_slice.items()
            for process, cpu in by_process.items() if cpu.busy_percent >= CPU_SATURATED_PERCENT]
    if not over:
        return None
    *_, worst = max(over, key=lambda found: found[0])
    processes = ", ".join(sorted({process for _, process, _, _ in over}))
    return generator_saturated(worst, processes, len({index for _, _, index, _ in over}))


def users_not_reached(wanted: int | None, reached: int) -> ValidityFlag | None:
    """A closed model whose ``wanted`` users (``-u``) never all ran at once."""
    if not wanted or reached >= int(wanted):
        return None
    return ValidityFlag(
        validity.USERS_NOT_REACHED,
        f"only {reached} of {wanted} users ran: raise the spawn rate or the duration",
    )


def rate_not_held(
    schedule: ArrivalSchedule, elapsed_s: float, *, late: int, dropped: int, max_lag_s: float
) -> ValidityFlag | None:
    """An open model that could not send more than MAX_DROPPED_SHARE of its arrivals."""
    expected = schedule.arrivals_until(elapsed_s)
    if not (expected > 0 and dropped > MAX_DROPPED_SHARE * expected):
        return None
    return ValidityFlag(
        validity.RATE_NOT_HELD,
        f"open model: {dropped} of {expected:.0f} arrivals could not be sent (no free user "
        f"within {max_lag_s:g} s; {late} more were late): {RATE_NOT_HELD_ADVICE}",
    )


def not_started() -> ValidityFlag:
    return ValidityFlag(validity.NOT_STARTED, "the load test never started: no request was sent")


def ran_planned_time(planned_s: float | None, elapsed_s: float) -> bool:
    """Whether a run of ``elapsed_s`` lasted its planned time (-t; none planned: whatever it ran)."""
    return not planned_s or elapsed_s >= float(planned_s) - PLANNED_TIME_SLACK_S


class RunValidity:
    """The run's validity flags, kept in its recorder (so they merge from workers and reach run.json)."""

    def __init__(self, recorder: RunRecorder, *, accept_saturated: bool) -> None:
        self.recorder = recorder
        self.accept_saturated = accept_saturated
        self.accepted: dict[str, str] = {}
        """Flags the user accepted: recorded in the bundle's load model, not as validity flags."""

    def flag(self, found: ValidityFlag | None) -> None:
        if found is None:
            return
        if found.code == validity.GENERATOR_SATURATED and self.accept_saturated:
            self.accepted.setdefault(found.code, found.message + ACCEPTED_NOTE)
        else:
            self.recorder.flag(found.code, found.message)

    def check_end(
        self, *, wanted_users: int | None, shaped: bool, schedule: ArrivalSchedule | None,
        elapsed_s: float, max_lag_s: float,
    ) -> None:
        """The checks of a run that ended: each process's CPU per slice, the users (a fixed count
        only: a shape plans its own) and, in the open model, the arrival rate."""
        self.flag(saturated_slices(self.recorder.cpu))
        if not shaped:
            self.flag(users_not_reached(wanted_users, self.recorder.peak_users()))
        if schedule is not None:
            late, dropped = self.recorder.dispatch_totals()
            self.flag(rate_not_held(schedule, elapsed_s, late=late, dropped=dropped, max_lag_s=max_lag_s))
