"""Whether the load test itself held up: the checks behind a run's validity flags.

Each check takes what it judges (CPU peaks, users reached, arrivals dropped) and gives the flag
to raise, or none; :class:`RunValidity` records them in the run's recorder, except a saturated
generator the user accepted, which goes into the load model instead. The codes and what they
mean are in ``slo.validity``.
"""

from __future__ import annotations

from collections.abc import Iterable

from slogate.loadtest.open_model import ArrivalSchedule
from slogate.loadtest.recorder import RunRecorder
from slogate.slo import validity
from slogate.slo.run import ValidityFlag, WorkerInfo

CPU_SATURATED_PERCENT = 90.0
MAX_DROPPED_SHARE = 0.01
"""Open model: more arrivals than this share dropped (never sent) means the rate was not held."""
PLANNED_TIME_SLACK_S = 0.5
"""A run that stopped more than this before its planned time (-t) is incomplete, never a pass.
Locust starts its run-time timer with the test, so a whole run is within a few ms of -t."""
ACCEPTED_NOTE = " (accepted with --slogate-accept-saturated)"


def generator_saturated(cpu_percent: float | None, where: str = "") -> ValidityFlag:
    """The load generator (``where``: one of its processes) over the CPU limit, at ``cpu_percent``."""
    at = f" at {cpu_percent:.0f}%" if cpu_percent is not None else ""
    return ValidityFlag(
        validity.GENERATOR_SATURATED,
        f"load generator{where} CPU{at} over {CPU_SATURATED_PERCENT:.0f}%: measured latency "
        "includes the generator's own queueing; add processes or lower the load",
    )


def saturated_processes(workers: Iterable[WorkerInfo]) -> list[ValidityFlag]:
    """Locust warns from its own 5 s average; the per-process peaks sampled are the floor too."""
    return [
        generator_saturated(worker.max_cpu_percent, f" {worker.worker_id}")
        for worker in workers
        if worker.max_cpu_percent is not None and worker.max_cpu_percent >= CPU_SATURATED_PERCENT
    ]


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
        f"within {max_lag_s:g} s; {late} more were late): raise -u (the user pool) or add processes",
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
        """The checks of a run that ended: CPU peaks, the users (a fixed count only: a shape plans
        its own) and, in the open model, the arrival rate."""
        for found in saturated_processes(self.recorder.workers.values()):
            self.flag(found)
        if not shaped:
            self.flag(users_not_reached(wanted_users, self.recorder.peak_users()))
        if schedule is not None:
            late, dropped = self.recorder.dispatch_totals()
            self.flag(rate_not_held(schedule, elapsed_s, late=late, dropped=dropped, max_lag_s=max_lag_s))
