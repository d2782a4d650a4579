"""Capacity under SLO (``capacity.json``): the steps of a search for the highest load at which every
gating objective of a spec holds, the answer they support, and the gates on it.

The search itself (which load to try next) is ``slogate.capacity``; each step is one judged run,
summed up here as a :class:`StepResult`. The answer never claims more than its steps show: a
capacity is the highest load that passed, bounded above by the lowest that failed; a step that
could not be decided, or a load generator that ran out, makes it a lower bound, said as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from slogate.slo.evaluation import ExitCode, Verdict
from slogate.slo.sequential import clock
from slogate.slo.spec import AvailabilityObjective, ErrorRatioObjective, LatencyObjective, Spec
from slogate.slo.units import format_duration, format_ratio, significant

CAPACITY_SCHEMA_VERSION = 1
CAPACITY_FILE = "capacity.json"

StepVerdict = Literal["pass", "fail", "undecided", "generator"]
"""A step's outcome: every gating objective held; one broke; the run could not tell (too few
samples, an inconclusive objective, an invalid run); the load generator ran out (its CPU, its users)."""
LoadUnit = Literal["req/s", "users"]
Outcome = Literal["found", "below_start", "never_broke", "generator_limited", "undecided"]

MORE_GENERATOR = ("get more load with --processes N (one Locust worker per core) or Locust workers on "
                  "other machines (README: distributed load)")


@dataclass(frozen=True)
class BrokenObjective:
    """A gating objective a step failed: ``what`` says it in words ('p99 of POST /v1/messages')."""

    name: str
    what: str
    measured: float | None
    threshold: float
    unit: str

    @property
    def overshoot(self) -> float:
        """How far beyond its threshold, relative to it (how badly it broke)."""
        if self.measured is None or self.threshold == 0:
            return 0.0
        return abs(self.measured - self.threshold) / abs(self.threshold)


@dataclass(frozen=True)
class Threshold:
    """A gating bound the knee chart draws: a latency percentile (``percentile`` set, seconds) or
    an error ratio (``percentile`` None, a fraction)."""

    label: str
    value: float
    percentile: float | None = None


def spec_thresholds(spec: Spec) -> tuple[Threshold, ...]:
    """The spec's gating latency percentiles and error ratio limits (availability as its complement)."""
    found = []
    for objective in spec.objectives:
        if not objective.gating:
            continue
        if isinstance(objective, LatencyObjective) and objective.kind == "latency":
            found.append(Threshold(f"p{objective.percentile:g} ≤ {format_duration(objective.threshold_s)} "
                                   f"({objective.name})", objective.threshold_s, objective.percentile))
        elif isinstance(objective, ErrorRatioObjective):
            found.append(Threshold(f"errors ≤ {format_ratio(objective.max_ratio)} ({objective.name})",
                                   objective.max_ratio))
        elif isinstance(objective, AvailabilityObjective):
            found.append(Threshold(f"errors ≤ {format_ratio(1 - objective.target)} ({objective.name})",
                                   1.0 - objective.target))
    return tuple(found)


@dataclass(frozen=True)
class StepResult:
    """One load of the search, judged. ``load`` is what was offered (arrivals/s, or users)."""

    load: float
    verdict: StepVerdict
    reason: str
    achieved_rate: float | None = None
    """Requests/s in the whole slices of the judged part of the step: those from the first slice
    boundary after the settle time (slices are on the clock's grid) to the last whole slice (the
    last one holds the stop, with no arrivals). Poisson arrivals vary by about 1/sqrt(n) of n."""
    p50_s: float | None = None
    p95_s: float | None = None
    p99_s: float | None = None
    error_ratio: float | None = None
    broken: tuple[BrokenObjective, ...] = ()
    """The gating objectives that failed, the worst first."""
    bundle: str | None = None
    """The step's run bundle, relative to the folder of ``capacity.json``."""
    seconds: float | None = None
    """Wall time the step took."""
    decided_s: float | None = None
    """A step decided as early as its data allows (the default): seconds into the step, its
    settle time included, of the look whose verdict stands (before ``max_s``: it stopped there).
    None when no look settled it, or it ran a fixed length."""
    max_s: float | None = None
    """The longest a step decided early could run, its settle time included (None: a fixed length)."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["broken"] = [asdict(b) for b in self.broken]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepResult:
        values = dict(data)
        values["broken"] = tuple(BrokenObjective(**b) for b in values.get("broken", ()))
        return cls(**values)


@dataclass(frozen=True)
class BaselineComparison:
    """Did capacity drop beyond the tolerance from an earlier search's?"""

    verdict: Verdict
    baseline_holds_at: float | None
    floor: float | None
    """The baseline's capacity less the tolerance: the lowest capacity still accepted."""
    tolerance: float
    sentence: str


@dataclass(frozen=True)
class CapacityResult:
    unit: LoadUnit
    steps: tuple[StepResult, ...]
    """In the order they ran: everything the answer rests on."""
    start: float
    stop: float
    resolution: float
    search_s: float
    require: float | None = None
    comparison: BaselineComparison | None = None
    thresholds: tuple[Threshold, ...] = ()

    @property
    def holds_at(self) -> float | None:
        """The highest load that passed (None: none did)."""
        return holds_at(self.steps)

    @property
    def breaks_at(self) -> float | None:
        """The lowest load that failed (None: none did)."""
        return min((s.load for s in self.steps if s.verdict == "fail"), default=None)

    @property
    def undecided(self) -> tuple[StepResult, ...]:
        """The steps that could not tell, by load: named in the answer, never guessed."""
        return tuple(sorted(unsettled(self.steps), key=lambda s: s.load))

    @property
    def generator_at(self) -> StepResult | None:
        """The step where the load generator ran out before the target broke (it ended the search)."""
        return generator_limit(self.steps)

    @property
    def outcome(self) -> Outcome:
        """found: the highest load that held is within the resolution of the lowest that did not;
        never_broke: every step held; below_start: the lowest load tried broke; generator_limited:
        the generator ran out first; undecided: the steps that could not tell leave more open."""
        low = self.holds_at
        top = lowest_not_held(self.steps, low)
        if self.generator_at is not None:
            return "generator_limited"
        if low is None:
            return "below_start" if self.breaks_at is not None else "undecided"
        if top is None:
            return "never_broke"
        return "found" if top <= low * (1 + self.resolution) + 1e-9 or top - low <= 1 else "undecided"

    @property
    def limiting(self) -> BrokenObjective | None:
        """The first objective to break: the worst of those the lowest failing load broke."""
        failed = [s for s in self.steps if s.verdict == "fail" and s.load == self.breaks_at]
        return failed[0].broken[0] if failed and failed[0].broken else None

    @property
    def verdict(self) -> Verdict:
        """Of the gates asked for (``--require``, ``--baseline``): fail when any fails."""
        verdicts: list[Verdict] = []
        if self.require is not None:
            verdicts.append(requirement_verdict(self, self.require))
        if self.comparison is not None:
            verdicts.append(self.comparison.verdict)
        if not verdicts:
            # Without a gate the search answers a question: it can only fail to answer.
            return "inconclusive" if self.outcome == "undecided" else "pass"
        return _worst(verdicts)

    @property
    def exit_code(self) -> ExitCode:
        return {"pass": ExitCode.PASS, "fail": ExitCode.SLO_FAILED,
                "inconclusive": ExitCode.INCONCLUSIVE}[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        limiting = self.limiting
        return {
            "schema_version": CAPACITY_SCHEMA_VERSION,
            "answer": answer(self),
            "unit": self.unit,
            "outcome": self.outcome,
            "holds_at": self.holds_at,
            "breaks_at": self.breaks_at,
            "uncertainty": uncertainty(self),
            "limiting_objective": None if limiting is None else asdict(limiting),
            "undecided_at": [s.load for s in self.undecided],
            "verdict": self.verdict,
            "exit_code": int(self.exit_code),
            "require": self.require,
            "baseline": None if self.comparison is None else asdict(self.comparison),
            "search": {"start": self.start, "stop": self.stop, "resolution": self.resolution,
                       "seconds": self.search_s, "steps": len(self.steps)},
            "thresholds": [asdict(t) for t in self.thresholds],
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CapacityResult:
        """From ``capacity.json`` (what is derived from the steps is derived again); raises
        ValueError saying what is wrong."""
        if data.get("schema_version") != CAPACITY_SCHEMA_VERSION:
            raise ValueError(f"unsupported capacity schema_version {data.get('schema_version')!r}; "
                             f"expected {CAPACITY_SCHEMA_VERSION}")
        try:
            search = data["search"]
            baseline = data.get("baseline")
            require = data.get("require")
            return cls(
                unit=data["unit"],
                steps=tuple(StepResult.from_dict(s) for s in data["steps"]),
                start=float(search["start"]), stop=float(search["stop"]),
                resolution=float(search["resolution"]), search_s=float(search["seconds"]),
                require=None if require is None else float(require),
                comparison=None if baseline is None else BaselineComparison(**baseline),
                thresholds=tuple(Threshold(**t) for t in data.get("thresholds", ())),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed capacity result: {exc}") from None


def holds_at(steps: Sequence[StepResult]) -> float | None:
    """The highest load of ``steps`` that passed (None: none did)."""
    return max((s.load for s in steps if s.verdict == "pass"), default=None)


def unsettled(steps: Sequence[StepResult]) -> list[StepResult]:
    """The steps that could not tell: undecided, or where the load generator ran out below a load
    that broke the target (it reached further then: a slice of other work on its machine, not its
    limit; such a step ends nothing, it is named)."""
    broke = max((s.load for s in steps if s.verdict == "fail"), default=0.0)
    return [s for s in steps if s.verdict == "undecided" or (s.verdict == "generator" and s.load < broke)]


def generator_limit(steps: Sequence[StepResult]) -> StepResult | None:
    """The step where the load generator ran out with no load above it that broke the target: the
    generator, not the target, ended what the search can show."""
    broke = max((s.load for s in steps if s.verdict == "fail"), default=0.0)
    return next((s for s in steps if s.verdict == "generator" and s.load >= broke), None)


def lowest_not_held(steps: Sequence[StepResult], low: float | None) -> float | None:
    """The lowest load above ``low`` that failed or could not be decided: the top of the bracket."""
    not_held = [s.load for s in (*unsettled(steps), *(s for s in steps if s.verdict == "fail"))]
    return min((load for load in not_held if load > (low or 0.0)), default=None)


def _worst(verdicts: Sequence[Verdict]) -> Verdict:
    if "fail" in verdicts:
        return "fail"
    return "inconclusive" if "inconclusive" in verdicts else "pass"


def requirement_verdict(result: CapacityResult, require: float) -> Verdict:
    """``--require``: pass when a load at least ``require`` held, fail when one at most it broke,
    inconclusive otherwise (the search could not get to it, or its bracket straddles it)."""
    if result.holds_at is not None and result.holds_at >= require:
        return "pass"
    if result.breaks_at is not None and result.breaks_at <= require:
        return "fail"
    return "inconclusive"


def compare_baseline(
    result: CapacityResult, baseline: CapacityResult, tolerance: float,
) -> BaselineComparison:
    """Whether capacity dropped more than ``tolerance`` below ``baseline``'s: fail when a load at
    or under that floor broke, pass when one at or over it held, inconclusive otherwise."""
    if result.unit != baseline.unit:
        raise ValueError(f"the baseline searched {baseline.unit}, this search {result.unit}: "
                         "they cannot be compared")
    unit = result.unit
    if baseline.holds_at is None:
        return BaselineComparison("inconclusive", None, None, tolerance,
                                  "the baseline held at no load: nothing to compare with")
    floor = baseline.holds_at * (1.0 - tolerance)
    before = (f"the baseline held at {load_text(baseline.holds_at, unit)}; "
              f"{format_ratio(tolerance)} less is {load_text(floor, unit)}")
    if result.breaks_at is not None and result.breaks_at <= floor:
        dropped = f"capacity dropped: it breaks at {load_text(result.breaks_at, unit)} ({before})"
        return BaselineComparison("fail", baseline.holds_at, floor, tolerance, dropped)
    if result.holds_at is not None and result.holds_at >= floor:
        return BaselineComparison("pass", baseline.holds_at, floor, tolerance,
                                  f"capacity held: it holds at {load_text(result.holds_at, unit)} ({before})")
    return BaselineComparison("inconclusive", baseline.holds_at, floor, tolerance,
                              f"cannot tell whether capacity dropped: no step decided it ({before})")


def with_gates(result: CapacityResult, spec: Spec, require: float | None,
               baseline: CapacityResult | None, tolerance: float) -> CapacityResult:
    """The search's result with what it is judged against: the spec's bounds (for the knee chart),
    ``--require`` and ``--baseline``."""
    comparison = None if baseline is None else compare_baseline(result, baseline, tolerance)
    return replace(result, require=require, comparison=comparison, thresholds=spec_thresholds(spec))


# -- in words ------------------------------------------------------------------------------------


def load_text(load: float, unit: LoadUnit) -> str:
    return f"{significant(load)} {unit}" if unit == "users" else f"{significant(load)} req/s"


def uncertainty(result: CapacityResult) -> str:
    """Where the true capacity lies, as far as the steps show."""
    unit = result.unit
    if result.holds_at is not None and result.breaks_at is not None:
        width = result.breaks_at / result.holds_at - 1.0
        return (f"between {load_text(result.holds_at, unit)} and {load_text(result.breaks_at, unit)} "
                f"(+{format_ratio(width)})")
    if result.holds_at is not None:
        return f"at least {load_text(result.holds_at, unit)}"
    if result.breaks_at is not None:
        return f"below {load_text(result.breaks_at, unit)}"
    return "unknown"


def answer(result: CapacityResult) -> str:
    """The answer in one sentence: 'capacity under SLO: 850 req/s (holds at 850, breaks at 935; the
    first objective to break: p99 of POST /v1/messages)'."""
    unit = result.unit
    low, high = result.holds_at, result.breaks_at
    limiting = result.limiting
    undecided = [s.load for s in result.undecided if s.load > (low or 0.0)]
    details = _joined(
        f"holds at {significant(low)}" if low is not None else "",
        f"breaks at {significant(high)}" if high is not None else "",
        f"cannot tell at {', '.join(significant(u) for u in undecided)}" if undecided else "",
        f"the first objective to break: {limiting.what}" if limiting is not None else "",
    )
    outcome = result.outcome
    if outcome == "found":
        assert low is not None
        return f"capacity under SLO: {load_text(low, unit)} ({details})"
    if outcome == "never_broke":
        return (f"capacity under SLO: at least {load_text(result.stop, unit)} (every step held, up to "
                "--to; raise it to find where it breaks)")
    if outcome == "below_start":
        assert high is not None
        return f"capacity under SLO: below {load_text(high, unit)} ({details}; lower --from)"
    floor = f"at least {load_text(low, unit)}" if low is not None else "unknown"
    generator = result.generator_at
    if generator is not None:
        return (f"capacity under SLO: {floor}: the load generator ran out first (at "
                f"{load_text(generator.load, unit)}: {generator.reason}); {MORE_GENERATOR}")
    return f"capacity under SLO: {floor} ({details}; the steps that could not tell are in the report)"


def _joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def gate_sentences(result: CapacityResult) -> list[str]:
    """What each gate asked for decided, in words (none without a gate)."""
    lines = []
    if result.require is not None:
        verdict = requirement_verdict(result, result.require)
        lines.append(f"--require {load_text(result.require, result.unit)}: {verdict} "
                     f"(capacity {uncertainty(result)})")
    if result.comparison is not None:
        lines.append(f"--baseline: {result.comparison.verdict}: {result.comparison.sentence}")
    return lines


def decision_text(step: StepResult) -> str:
    """When a step decided early settled: 'decided at 0:23 of 1:05', 'not settled by 1:05'; ''
    for a fixed-length step."""
    if step.max_s is None:
        return ""
    if step.decided_s is None:
        return f"not settled by {clock(step.max_s)}"
    return f"decided at {clock(step.decided_s)} of {clock(step.max_s)}"


def step_line(step: StepResult, unit: LoadUnit) -> str:
    """One step in a line: '640 req/s: fail, achieved 601 req/s, decided at 0:25 of 1:05: broke
    p99 of POST /v1/messages'."""
    achieved = (f", achieved {significant(step.achieved_rate)} req/s"
                if step.achieved_rate is not None else "")
    decided = f", {decision_text(step)}" if step.max_s is not None else ""
    return f"{load_text(step.load, unit)}: {step.verdict}{achieved}{decided}: {step.reason}"
