"""``--slogate-until-decided`` inside Locust: the run is judged at its planned looks
(``slo.sequential``) and stopped, complete, at the first look that settles its verdict.

Only the process that records the whole run decides: the local runner, or the master on its
workers' merged reports. A look is taken a little after its time (``lag_s``), once the requests
started before it have been reported; it judges the slices up to its time, as ``slogate gate``
will judge the saved bundle. The first look waits for ``--slogate-min-duration`` and for the load
asked for to stop changing (``load_settled_s``).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

import gevent

from slogate.loadtest.options import SlogateOptions
from slogate.loadtest.shapes import ShapePlan
from slogate.slo.evaluation import Evaluation, ObjectiveResult, Verdict
from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult, UntilDecided
from slogate.slo.sequential import clock, covered, default_min_duration, planned_looks, record, settled
from slogate.slo.spec import Spec
from slogate.slo.units import format_duration, format_ratio

logger = logging.getLogger("slogate")

LOCAL_LAG_S = 2.0
"""A look of a single process waits this long past its time: requests started before it are
recorded when they end (a slower one still counts in the bundle, which ``gate`` judges)."""
WORKER_LAG_S = 5.0
"""With workers, their reports too: they come every 3 s (Locust's worker report interval)."""
PHASE_SLICES = 5
"""The last phase of a changing load is seen in this many slices before a look: as many as a pass
needs to measure its variation (``slo.judge.MIN_SLICES_TO_PASS``)."""


def load_settled_s(shape: ShapePlan | None, *, users: int | None, spawn_rate: float | None,
                   rate_ramp_s: float | None) -> float:
    """Seconds into the run when the load asked for stops changing, so every phase the run's
    objectives judge has been seen: the end of a ramp (a ramp or soak shape, an open model's rate
    ramp), the start of a steps shape's last step, the end of a spike; else the users spawned."""
    spawning = users / spawn_rate if users and spawn_rate else 0.0
    if shape is None:
        return max(spawning, rate_ramp_s or 0.0)
    params = shape.params
    if shape.name in ("ramp", "soak"):
        return params["ramp"]
    if shape.name == "steps":
        steps = params["steps"]
        return shape.duration_s * (steps - 1) / steps + spawning / steps
    return params["at"] + params["length"]  # spike: the full users, then back to its base


def planned_looks_of(options: SlogateOptions, spec: Spec | None, shape: ShapePlan | None,
                     every_s: float) -> tuple[float, ...]:
    """The looks of an ``--slogate-until-decided`` run; ValueError naming the flag when it cannot
    have any."""
    if spec is None:
        raise ValueError("--slogate-until-decided needs --slogate-spec: the objectives to decide")
    if not options.run_time_s:
        raise ValueError("--slogate-until-decided needs a maximum duration: -t/--run-time "
                         "(slogate run: --duration)")
    longest = float(options.run_time_s)
    first = options.min_duration
    if first is not None and first >= longest:
        raise ValueError(f"--slogate-min-duration {format_duration(first)} is not shorter than the run "
                         f"time {format_duration(longest)}: there is nothing to stop early")
    if first is None:
        first = default_min_duration(spec, options.slice)
    rate_ramp = (options.rate_ramp if options.rate_ramp is not None else longest) if options.rate_to else None
    settled_s = load_settled_s(shape, users=options.users, spawn_rate=options.spawn_rate,
                               rate_ramp_s=rate_ramp)
    if settled_s > 0.0:
        first = max(first, settled_s + PHASE_SLICES * options.slice)
    return planned_looks(first, longest, every_s)


def check_options(options: SlogateOptions) -> None:
    """ValueError naming the flag when ``--slogate-min-duration`` comes without until-decided."""
    if options.min_duration is not None and not options.until_decided:
        raise ValueError("--slogate-min-duration goes with --slogate-until-decided")


class EarlyStop:
    """One run's looks: which is due, its verdict, the progress text, and the record for run.json."""

    def __init__(self, spec: Spec, looks_s: tuple[float, ...], *, lag_s: float,
                 stop: Callable[[], None]) -> None:
        self.spec = spec
        self.looks_s = looks_s
        self.lag_s = lag_s
        self.stop = stop
        self.taken = 0
        """The latest look judged (1-based; 0: none yet)."""
        self.decided_look: int | None = None
        self.progress = f"until decided: first look at {clock(looks_s[0])} of {clock(looks_s[-1])}"
        """The latest look's state of each gating objective, for the progress line."""

    @property
    def record(self) -> UntilDecided:
        """run.json's record: the deciding look, else the last (the run's end)."""
        return record(self.looks_s, self.decided_look or len(self.looks_s))

    @property
    def stopped_early(self) -> bool:
        return self.decided_look is not None

    def due(self, elapsed_s: float) -> int | None:
        """The newest interim look past its time and lag, not judged yet (a late one skips the
        looks it missed: a look not taken spends no alpha). The last look is the run's own end."""
        interim = self.looks_s[:-1]
        ready = [k for k, at in enumerate(interim, start=1) if at + self.lag_s <= elapsed_s + 1e-9]
        return ready[-1] if ready and ready[-1] > self.taken else None

    def judge(self, run: RunResult, look: int) -> Verdict | None:
        """The verdict look ``look`` settles on ``run`` (the run so far), or None."""
        self.taken = look
        as_of_look = dataclasses.replace(run, complete=True, until_decided=record(self.looks_s, look))
        evaluation = evaluate(self.spec, as_of_look)
        verdict = settled(evaluation)
        self.progress = self._describe(evaluation, look)
        if verdict is not None:
            self.decided_look = look
        return verdict

    def watch(self, started_at: float, run_now: Callable[[], RunResult]) -> None:
        """A greenlet's work: each due look judged on ``run_now()``; on a settled verdict, ``stop``."""
        while True:
            elapsed = time.time() - started_at
            look = self.due(elapsed)
            if look is None:
                upcoming = [at for at in self.looks_s[self.taken:-1] if at + self.lag_s > elapsed]
                if not upcoming:
                    return
                gevent.sleep(upcoming[0] + self.lag_s - elapsed)
                continue
            verdict = self.judge(run_now(), look)
            logger.info("slogate: %s", self.progress)
            if verdict is not None:
                logger.info("slogate: verdict settled (%s) at %s of %s: stopping the run", verdict,
                            clock(self.looks_s[look - 1]), clock(self.looks_s[-1]))
                self.stop()
                return

    def _describe(self, evaluation: Evaluation, look: int) -> str:
        states = " · ".join(_state(r) for r in evaluation.objectives if r.gating) or "no gating objective"
        confidence = min((r.confidence for r in evaluation.objectives if r.confidence), default=None)
        level = f", {confidence * 100:.4g}%" if confidence is not None else ""
        upcoming = (f"; next look at {clock(self.looks_s[look])}" if look < len(self.looks_s) - 1
                    else "; next: the maximum")
        # What a decision now would speak for: "decided at 0:20" is worth a fixed 20 s run, no more.
        judged = covered(evaluation.window_end_s - evaluation.window_start_s)
        return (f"until decided, look {look} of {len(self.looks_s)} at {clock(self.looks_s[look - 1])}"
                f"{level} ({judged}): {states}{upcoming}")


def _state(result: ObjectiveResult) -> str:
    """'p99 undecided [180ms–260ms]'."""
    verdict = "undecided" if result.verdict == "inconclusive" else result.verdict
    if result.ci_low is None or result.ci_high is None:
        return f"{result.name} {verdict}"
    low, high = _shown(result.ci_low, result.unit), _shown(result.ci_high, result.unit)
    return f"{result.name} {verdict} [{low}–{high}]"


def _shown(value: float, unit: str) -> str:
    if unit == "s":
        return format_duration(value)
    if unit == "ratio":
        return format_ratio(value)
    return f"{value:.4g}/s"
