"""``--until-decided``: a run that stops once its verdict is settled, with its error rates still bounded.

The rule is a group-sequential design with alpha spending over planned looks, and a union bound:

- The looks are planned before the run (``planned_looks``): one at every checkpoint from the
  minimum duration on, then (once the run is long) one each time it has grown by 10%, and always one
  at the maximum duration. A run of 30 s to 5 min has 21 looks, one of 30 s to 1 h has 46.
- Look k spends the share ``w_k`` of the spec's alpha (``alpha_share``): 80% at the last look, the
  other 20% evenly over the interim looks. At look k every objective is judged by the fixed-horizon
  rules (``slo.judge``, batch means over slices and all) at the confidence ``1 - w_k * alpha``.
- The run stops at the first look that settles the verdict (``settled``): a gating objective
  fails, or every gating objective passes. The verdict is that look's.

Why it holds: a wrong pass (or fail) of an objective at the stopping look is a wrong pass (or
fail) of the fixed-horizon judge at some look k, at its level ``w_k * alpha / 2`` per side; summed
over the looks (the union bound, whatever the dependence between looks) that is at most
``alpha / 2``, the fixed-horizon gate's own promise. Each look's judge is the correlation-robust
one, never a more optimistic statistic, so the guarantee holds for whatever correlation between
slices the batch means account for — and, like a fixed run of that length, a run stopped before
it met a slow episode cannot know about it (``--min-duration``).

The run's record (``slo.run.UntilDecided``) names the look whose verdict stands, so a saved bundle
is judged as it was at that look (``as_judged``): ``slogate gate`` gives the run's own verdict.
"""

from __future__ import annotations

import dataclasses
import math

from slogate.slo.evaluation import Evaluation, Verdict
from slogate.slo.judge import COVERAGE_CYCLES
from slogate.slo.run import RunResult, UntilDecided
from slogate.slo.spec import Spec
from slogate.slo.units import format_duration

FINAL_SHARE = 0.8
"""The share of alpha the last look (the maximum duration) spends: a run that goes the whole way
is judged at 96% instead of 95% (spec default), nearly the fixed-horizon gate."""
LOOK_GROWTH = 1.1
"""Once checkpoints come faster than this, a look each time the run has grown by 10%: the interim
looks' count grows with the log of the run's length, not with its length."""
MIN_SLICES = 20
"""The default minimum duration covers this many slices after the warm-up: enough for the
batch means' 20 batches of one slice each."""
RULE = (f"group-sequential, alpha spent by a union bound over the planned looks: {FINAL_SHARE:.0%} at "
        f"the last, {1 - FINAL_SHARE:.0%} evenly over the interim ones")
"""The rule's name in run.json and in the reports."""


def planned_looks(first_s: float, max_s: float, every_s: float) -> tuple[float, ...]:
    """The looks of a run (seconds from its start): on the ``every_s`` grid from ``first_s``, at
    least 10% of the elapsed time apart, and the last at ``max_s``."""
    if not (every_s > 0 and max_s > 0):
        raise ValueError(f"looks need a positive interval and maximum, got {every_s!r} and {max_s!r}")
    looks: list[float] = []
    at = math.ceil(max(first_s, every_s) / every_s - 1e-9) * every_s
    while at < max_s - 1e-9:
        looks.append(at)
        at = max(at + every_s, math.ceil(at * LOOK_GROWTH / every_s - 1e-9) * every_s)
    return (*looks, max_s)


def alpha_share(look: int, looks: int) -> float:
    """The share of the spec's alpha that look ``look`` (1-based) of ``looks`` spends."""
    if not 1 <= look <= looks:
        raise ValueError(f"look {look} is not one of {looks}")
    if looks == 1:
        return 1.0
    return FINAL_SHARE if look == looks else (1.0 - FINAL_SHARE) / (looks - 1)


def look_confidence(confidence: float, share: float) -> float:
    """The two-sided confidence a look judges at when it spends ``share`` of ``1 - confidence``."""
    return 1.0 - (1.0 - confidence) * share


def record(looks_s: tuple[float, ...], look: int) -> UntilDecided:
    """run.json's record of a run whose verdict stands at ``look`` (1-based) of ``looks_s``."""
    return UntilDecided(rule=RULE, looks_s=looks_s, look=look, alpha_share=alpha_share(look, len(looks_s)))


def default_min_duration(spec: Spec, slice_s: float) -> float:
    """The first look's time when none is given: the warm-up, then the longest ``min_duration``
    of the spec and its objectives or ``MIN_SLICES`` slices, whichever is longer."""
    longest = max([spec.min_duration_s, *(o.min_duration_s or 0.0 for o in spec.run_judged_objectives)])
    return spec.warmup_s + max(longest, MIN_SLICES * slice_s)


def settled(evaluation: Evaluation) -> Verdict | None:
    """The verdict a look settles: fail as soon as a gating objective fails, pass once every
    gating objective passes (``slo.judge.overall``); None while one is undecided, or while the
    measurement itself is in doubt (it decides nothing)."""
    return None if evaluation.verdict == "inconclusive" else evaluation.verdict


def as_judged(spec: Spec, run: RunResult) -> tuple[Spec, RunResult]:
    """The spec and the run as the run's deciding look judged them: at that look's confidence, on
    the slices up to its time (the whole run at the last look). A run without the record: as given."""
    decided = run.until_decided
    if decided is None:
        return spec, run
    spec = dataclasses.replace(spec, confidence=look_confidence(spec.confidence, decided.alpha_share))
    if decided.look < len(decided.looks_s):
        run = up_to(run, decided.looks_s[decided.look - 1])
    return spec, run


def up_to(run: RunResult, at_s: float) -> RunResult:
    """``run`` as of ``at_s`` seconds from its start: the slices ended by then, and its end theirs."""
    kept = tuple(s for s in run.slices if s.start_s + s.duration_s <= at_s + 1e-6)
    end = max((s.start_s + s.duration_s for s in kept), default=0.0)
    return dataclasses.replace(run, slices=kept, ended_at=run.started_at + min(end, run.duration_s))


def describe_decision(decided: UntilDecided, confidence: float, judged_s: float) -> str:
    """'decided at 0:47 of 5:00 on 47s judged: covers slow episodes that recur at least every 4.7s,
    as a fixed run of that length would, not rarer ones (look 5 of 27, judged at 99.96% confidence;
    rule: ...)', the look judged at ``confidence`` on ``judged_s`` seconds after the warm-up."""
    looks = len(decided.looks_s)
    level = f"{confidence * 100:.4g}%"
    most = clock(decided.looks_s[-1])
    if decided.look < looks:
        when = f"decided at {clock(decided.looks_s[decided.look - 1])} of {most}"
    else:
        when = f"judged at its maximum duration {most}"
    # An early decision speaks for as much as a fixed run of its length, no more: say so beside it.
    return (f"{when} on {format_duration(judged_s)} judged: {covered(judged_s)}, as a fixed run of that "
            f"length would, not rarer ones (look {decided.look} of {looks}, judged at {level} confidence; "
            f"rule: {decided.rule})")


def covered(judged_s: float) -> str:
    """'covers slow episodes that recur at least every 4.7s': the coverage rule (``slo.judge``'s
    ``coverage`` field) for a look that judged ``judged_s`` seconds."""
    return f"covers slow episodes that recur at least every {format_duration(judged_s / COVERAGE_CYCLES)}"


def clock(seconds: float) -> str:
    """'0:47', '5:00', '1:02:03': a time into the run."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
