"""A step of the capacity search as a real load run: one Locust run at one load, its own bundle
(``<out>/steps/NN-<load>``), judged against the spec with the settle time as its warm-up, summed
up as a ``StepResult``.

By default a step is decided as early as its data allows: Locust judges it at planned looks
(``--slogate-until-decided``, the sequential rule of ``slo.sequential``) with the settle time as
the spec's warm-up (``--slogate-warmup``), and stops it once its verdict is settled; the step
duration is then its maximum. With ``until_decided`` off a step runs its fixed length.

What decides a step: the spec's verdict on the run, except where the load generator is in doubt.
A generator that ran out of CPU (its own queueing is in the latency) or of users (closed model) is
never mistaken for the target: the step says so and the search stops with a lower bound. An open
model that could not send its arrivals while objectives failed is a failure of the target (its
slowness held every user of a pool sized for the load; late arrivals count from their intended
time); while one could not be decided the step is undecided (its users were all waiting on a
target that may be breaking: more generator would not settle it); only while every objective held
is it again the generator.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from slogate import pipeline
from slogate.locust_process import LoadSettings
from slogate.slo import validity
from slogate.slo.bundle import new_run_id
from slogate.slo.capacity import BrokenObjective, LoadUnit, StepResult, StepVerdict, step_line
from slogate.slo.evaluation import ExitCode, ObjectiveResult
from slogate.slo.run import RunResult
from slogate.slo.sequential import up_to
from slogate.slo.spec import LatencyObjective, Spec, endpoint_matches
from slogate.slo.units import significant

MEASURED_HERE = frozenset({validity.GENERATOR_SATURATED, validity.USERS_NOT_REACHED, validity.RATE_NOT_HELD})
"""Validity flags the step judges itself (the load generator's); any other leaves it undecided."""
POOL_SECONDS = 1.0
"""Open model: the user pool holds this many seconds of arrivals (Little's law: arrivals/s x time
in the system), or twice the spec's highest latency threshold when that is more."""
MIN_POOL = 10
SPAWN_SECONDS = 0.5
"""Every user is started within this long (the arrivals wait for them inside the settle time)."""
SAMPLE_MARGIN = 2.0
"""Open model: a step lasts long enough for this many times the samples its objectives need (the
slices of a run vary more than independent samples would, so its samples are worth fewer)."""


class StepRefusedError(Exception):
    """Locust refused the options of a step before any load (bad input, exit 2)."""


@dataclass(frozen=True)
class StepSettings:
    host: str
    spec: Spec
    spec_paths: tuple[Path, ...]
    """The files ``spec`` was loaded from: Locust loads them too, to decide a step early."""
    scenario: Path
    out: Path
    step_s: float
    """The judged length of a step: its maximum when ``until_decided``."""
    settle_s: float
    unit: LoadUnit = "req/s"
    arrivals: str = "poisson"
    slice_s: float = 1.0
    processes: int | None = None
    until_decided: bool = True
    min_step_s: float | None = None
    """No decision before this much of a step is judged (None: the sequential rule's default)."""
    contract: Path | None = None
    """``--contract``: how Locust reads an OpenSLO spec (a preset name or a file)."""
    scenario_args: tuple[str, ...] = ()


class LocustSteps:
    """A :class:`slogate.capacity.StepRunner` that runs Locust: one bundle per step."""

    def __init__(
        self, settings: StepSettings, *, progress: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.spec = dataclasses.replace(settings.spec, warmup_s=settings.settle_s)
        self.count = 0

    def __call__(self, load: float) -> StepResult:
        self.count += 1
        settings = self.settings
        label = f"{self.count:02d}-{significant(load)}{'users' if settings.unit == 'users' else 'rps'}"
        bundle = settings.out / "steps" / label
        length, settle = significant(self.step_seconds(load)), significant(settings.settle_s)
        most = "at most " if settings.until_decided else ""
        self.progress(f"step {self.count}: {significant(load)} {settings.unit} for {most}{length}s after "
                      f"{settle}s to settle")
        began = time.monotonic()
        try:
            judged, _ = pipeline.load_and_judge(self.load_settings(load), self.spec, bundle,
                                                new_run_id(), progress=lambda line: None)
        except pipeline.RunFailedError as exc:
            if exc.locust_exit_code == ExitCode.BAD_INPUT:
                raise StepRefusedError(str(exc)) from None
            step = StepResult(load, "undecided", f"the run failed: {str(exc).splitlines()[0]}",
                              bundle=bundle.relative_to(settings.out).as_posix())
        else:
            step = step_result(load, judged, settings.settle_s, relative_to=settings.out)
        if settings.until_decided and step.max_s is None:  # a run that failed has no record of its looks
            step = dataclasses.replace(step, max_s=settings.settle_s + self.step_seconds(load))
        step = dataclasses.replace(step, seconds=time.monotonic() - began)
        self.progress(step_line(step, settings.unit))
        return step

    def load_settings(self, load: float) -> LoadSettings:
        settings = self.settings
        extra = ["--processes", f"{settings.processes}"] if settings.processes is not None else []
        if settings.unit == "users":
            users = round(load)
        else:
            users = pool_users(load, self.spec)
            extra += ["--slogate-rate", f"{load:g}", "--slogate-arrivals", settings.arrivals]
        return LoadSettings(
            host=settings.host, users=users, spawn_rate=max(1.0, users / SPAWN_SECONDS),
            duration_s=settings.settle_s + self.step_seconds(load), scenario=settings.scenario,
            slice_s=settings.slice_s, extra_args=(*extra, *self.decider_args()),
            scenario_args=settings.scenario_args,
        )

    def decider_args(self) -> tuple[str, ...]:
        """Locust's options that stop a step once its verdict is settled: the spec's files (read
        under the same contract), judged from the settle time on (none for fixed-length steps)."""
        settings = self.settings
        if not settings.until_decided:
            return ()
        minimum = ("--slogate-min-duration", f"{settings.settle_s + settings.min_step_s:g}") \
            if settings.min_step_s is not None else ()
        contract = ("--slogate-contract", str(settings.contract)) if settings.contract is not None else ()
        return ("--slogate-until-decided", "--slogate-spec", os.pathsep.join(map(str, settings.spec_paths)),
                "--slogate-warmup", f"{settings.settle_s:g}", *minimum, *contract)

    def step_seconds(self, load: float) -> float:
        """``--step-duration``, or in the open model the time ``load`` takes to bring the samples
        the spec's gating objectives need (p99: 1000), if longer: a step too short to decide
        would only be named undecided."""
        if self.settings.unit == "users":
            return self.settings.step_s
        needed = max((o.required_samples for o in self.spec.run_judged_objectives if o.gating), default=0)
        return max(self.settings.step_s, math.ceil(SAMPLE_MARGIN * needed / load))


def pool_users(rate: float, spec: Spec) -> int:
    """Users enough to send ``rate`` arrivals/s while each waits up to the pool's seconds."""
    thresholds = [o.threshold_s for o in spec.objectives if isinstance(o, LatencyObjective)]
    seconds = max([POOL_SECONDS, *(2 * t for t in thresholds)])
    return max(MIN_POOL, math.ceil(rate * seconds))


def step_result(load: float, judged: pipeline.JudgedRun, settle_s: float, *, relative_to: Path) -> StepResult:
    """A judged run as a step of the search (see the module's docstring for what decides it).
    A step decided early is described as its deciding look saw it (the slices up to then)."""
    evaluation, decided = judged.evaluation, judged.run.until_decided
    stopped_early = decided is not None and decided.look < len(decided.looks_s)
    run = up_to(judged.run, decided.looks_s[decided.look - 1]) if decided and stopped_early else judged.run
    window, _ = run.merged(None, from_s=settle_s)
    broken = broken_objectives(evaluation.objectives)
    flags = {validity.kind_of(flag.code): flag.message for flag in run.validity}
    generator = saturated_while_judged(run, settle_s) or flags.get(validity.USERS_NOT_REACHED)
    # The pool is the step's own (pool_users): the run's advice to raise it is not the user's to take.
    rate_not_held = flags.get(validity.RATE_NOT_HELD, "").removesuffix(f": {validity.RATE_NOT_HELD_ADVICE}")
    doubts = [message for kind, message in flags.items() if kind not in MEASURED_HERE]
    doubts += [] if run.complete else ["the run was interrupted before its planned end"]
    undecided = [f"{o.name}: {o.reason}" for o in evaluation.objectives
                 if o.gating and o.verdict == "inconclusive"]
    verdict: StepVerdict
    if generator:
        verdict, reason = "generator", generator
    elif doubts:
        verdict, reason = "undecided", "; ".join(doubts)
    elif broken:
        pool = " (and the user pool ran out)" if rate_not_held else ""
        verdict, reason = "fail", _broken_reason(broken) + pool
    elif undecided or not evaluation.objectives:
        # A pool that ran out while an objective stayed undecided is not the generator's limit:
        # its users were all waiting on the target (its CPU is judged above), which may be breaking.
        pool = f" (and {rate_not_held})" if rate_not_held else ""
        verdict, reason = "undecided", ("; ".join(undecided) or "no gating objective") + pool
    elif rate_not_held:
        verdict, reason = "generator", rate_not_held
    else:
        verdict, reason = "pass", "every gating objective held"
    quantile = window.ok.quantile
    return StepResult(
        load=load, verdict=verdict, reason=reason, achieved_rate=achieved_rate(run, settle_s),
        p50_s=_seconds(quantile(0.50)), p95_s=_seconds(quantile(0.95)), p99_s=_seconds(quantile(0.99)),
        error_ratio=window.failures / window.requests if window.requests else None,
        broken=tuple(broken), bundle=judged.bundle.relative_to(relative_to).as_posix(),
        decided_s=(decided.looks_s[decided.look - 1]
                   if decided is not None and verdict in ("pass", "fail") else None),
        max_s=None if decided is None else decided.looks_s[-1],
    )


def achieved_rate(run: RunResult, settle_s: float) -> float | None:
    """Requests/s in the judged part's whole slices. Not the requests over the run's seconds
    after the settle time: the judged slices start at the first slice boundary after it (slices
    are on the clock's grid, up to one slice later), and the last slice holds Locust's stop, when
    no arrivals come; both undercounted the rate by up to a slice each (5% of a 20 s step)."""
    whole = [s for s in run.slices_from(settle_s) if s.duration_s >= run.slice_s - 1e-6]
    seconds = sum(s.duration_s for s in whole)
    requests = sum(window.requests for time_slice in whole for name, window in time_slice.endpoints.items()
                   if endpoint_matches(None, name))
    return requests / seconds if seconds > 0 else None


def saturated_while_judged(run: RunResult, settle_s: float) -> str | None:
    """Why the load generator ran out of CPU in the judged part of the step (None: it did not).
    Starting the users during the settle time may busy it; that part is not judged."""
    for time_slice in run.slices_from(settle_s):
        for process, cpu in time_slice.generator_processes.items():
            if cpu.busy_percent >= validity.CPU_SATURATED_PERCENT:
                return (f"load generator {process} busy {cpu.busy_percent:.0f}% of a slice "
                        f"{time_slice.start_s:g}s into the step (CPU {cpu.cpu_percent:.0f}%)")
    return None


def broken_objectives(objectives: Sequence[ObjectiveResult]) -> list[BrokenObjective]:
    """The gating objectives that failed, the one most beyond its threshold first."""
    broken = [BrokenObjective(o.name, objective_words(o), o.measured, o.threshold, o.unit)
              for o in objectives if o.gating and o.verdict == "fail"]
    return sorted(broken, key=lambda b: b.overshoot, reverse=True)


def objective_words(objective: ObjectiveResult) -> str:
    """'p99 of POST /v1/messages', 'error ratio of all endpoints'."""
    what = (f"p{objective.percentile:g}" if objective.percentile is not None
            else objective.kind.replace("_", " "))
    return f"{what} of {objective.endpoint or 'all endpoints'} ({objective.name})"


def _broken_reason(broken: Sequence[BrokenObjective]) -> str:
    return "broke " + ", ".join(b.what for b in broken) if broken else "the spec failed"


def _seconds(micros: float | None) -> float | None:
    return None if micros is None else micros / 1e6
