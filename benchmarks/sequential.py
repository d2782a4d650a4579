"""``--until-decided`` on runs of known truth: its error rates and how soon it decides (the README's table).

Synthetic runs come from ``benchmarks.calibration`` (200 req/s, one-second slices, lognormal
latencies; independent, jittered and 3-second-episode traffic), each written for its plan's
maximum duration. The sequential rule (``slo.sequential``) looks at them as a live run would: at
each planned look (every 5 s from the first look, then 10% apart) the run up to then is judged by
``slogate.slo.evaluator.evaluate`` at that look's confidence, and the run stops at the first
settled verdict. Beside it, the fixed-horizon gate on the whole maximum duration at 95%.

Two plans: the default first look (20 s) with a 5-minute maximum, on every traffic; and, for
episode traffic, what the README recommends there: the spec's ``min_duration`` at the coverage
rule's 10 x the time between episode starts (10 min for episodes of ~3 s every ~60 s), which is
also the first look, with a maximum of 2.5 x that (25 min).

Which cells hold enough information is decided before any verdict, by the calibration
benchmark's rule (``Model.min_duration_s``): a decision at t covers slow episodes that begin at
least every t / 10, the same as a fixed run of length t, so a plan whose first look (a fixed run:
its length) comes before the traffic's ``min_duration`` is outside the guarantee: such cells are
shown, marked ``·``, and not counted. Inside it, each side's wrong verdicts (a pass of a truth over
the limit, a fail of one under it) should be at most 2.5%; a cell over that is marked ``*``.

One objective at a time, so each time to decision is that objective's: ``p99 <= T`` and
``error ratio <= 1%``, with the truth at 0.5x to 2x the limit.

    .venv/bin/python -m benchmarks.sequential            # ~2 min of CPU on each of 2 cores (8.5 busy)
    .venv/bin/python -m benchmarks.sequential --reps 10  # quicker, coarser
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from benchmarks.calibration import ERROR_RATIO, MODELS, Model, synthetic_run
from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult
from slogate.slo.sequential import clock, default_min_duration, planned_looks, record, settled
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import parse_spec

EVERY_S = 5.0
RATIOS = (0.5, 0.8, 0.9, 1.1, 1.25, 2.0)
OBJECTIVES = ("p99", "errors")
EPISODES = "episodes 3s 5% ×3"
LONG_FACTOR = 2.5
"""The recommended plan's maximum, in times its min_duration (the first look)."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """A run's first look (the spec's min_duration; None: the default, 20 slices) and maximum."""

    min_duration_s: float | None
    max_s: int

    def spec(self, objective: str) -> Spec:
        """A spec of this plan's min_duration and the one objective (YAML flow mapping)."""
        head = f"min_duration: {self.min_duration_s:g}s\n" if self.min_duration_s else ""
        return parse_spec(f"service: s\n{head}objectives:\n  - {objective}\n")

    @property
    def first_look_s(self) -> float:
        """When its first look comes on the synthetic runs' one-second slices."""
        return default_min_duration(self.spec(ERRORS), 1.0)


ERRORS = "{name: errors, kind: error_ratio, max: 1%}"
SHORT = Plan(None, 300)


def plans(model: Model) -> tuple[Plan, ...]:
    """The default plan; for traffic with episodes also the recommended one, first look at its
    ``min_duration`` and a maximum ``LONG_FACTOR`` times that."""
    if not model.min_duration_s:
        return (SHORT,)
    return SHORT, Plan(model.min_duration_s, round(LONG_FACTOR * model.min_duration_s))


@dataclasses.dataclass(frozen=True)
class Outcome:
    verdict: str
    """The sequential verdict: 'pass', 'fail', or 'inconclusive' at the maximum."""
    at_s: float
    """When it was settled (the maximum for a run that went the whole way)."""
    fixed: str
    """The fixed-horizon gate's verdict on the whole run."""


def sequential(spec: Spec, run: RunResult, max_s: float) -> tuple[str, float]:
    """The verdict and time of the first settled look; at the last look, whatever it says."""
    looks = planned_looks(default_min_duration(spec, run.slice_s), max_s, EVERY_S)
    for look in range(1, len(looks) + 1):
        evaluation = evaluate(spec, dataclasses.replace(run, until_decided=record(looks, look)), now=0.0)
        verdict = settled(evaluation)
        if verdict is not None or look == len(looks):
            return verdict or "inconclusive", looks[look - 1]
    raise AssertionError("unreachable: the last look always answers")


def one_cell(model_index: int, plan: Plan, ratio: float, reps: int, seed: int) -> dict[str, list[Outcome]]:
    model = MODELS[model_index]
    rng = np.random.default_rng(seed)
    threshold_ms = model.true_p99() / ratio / 1000.0
    specs = {
        "p99": plan.spec(f"{{name: p99, kind: latency, percentile: p99, threshold: {threshold_ms:.6f}ms}}"),
        "errors": plan.spec(ERRORS),
    }
    error_base = ERROR_RATIO * ratio / model.true_error_ratio(1.0)
    outcomes: dict[str, list[Outcome]] = {name: [] for name in OBJECTIVES}
    for _ in range(reps):
        run = synthetic_run(model, plan.max_s, error_base, rng)
        for name, spec in specs.items():
            verdict, at_s = sequential(spec, run, float(plan.max_s))
            outcomes[name].append(Outcome(verdict, at_s, evaluate(spec, run, now=0.0).verdict))
    return outcomes


def _shares(verdicts: list[str]) -> str:
    n = len(verdicts)
    return "/".join(f"{100.0 * verdicts.count(v) / n:.0f}" for v in ("pass", "fail", "inconclusive"))


def _wrong(by_ratio: dict[float, list[str]]) -> tuple[float, float]:
    """The false-pass and false-fail rates (%) over the truths beyond and within the limit."""
    over = [v for ratio, verdicts in by_ratio.items() if ratio > 1.0 for v in verdicts]
    under = [v for ratio, verdicts in by_ratio.items() if ratio < 1.0 for v in verdicts]
    return 100.0 * over.count("pass") / len(over), 100.0 * under.count("fail") / len(under)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=25, help="runs per cell (default 25; runs of 10 "
                        "minutes or more get 4 in 5 of that, at least 10)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    long_reps = max(10, args.reps * 4 // 5)
    started = time.monotonic()
    models = [m for m, model in enumerate(MODELS) if model.name in ("independent", "jitter ±10%", EPISODES)]
    cells = [(m, plan, ratio) for m in models for plan in plans(MODELS[m]) for ratio in RATIOS]
    reps = {cell: long_reps if cell[1].max_s >= 600 else args.reps for cell in cells}
    with ProcessPoolExecutor(args.workers) as pool:
        # The longest first: the pool's last minutes are not spent waiting on one long cell.
        futures = {cell: pool.submit(one_cell, *cell, reps[cell], 7919 * cell[0] + cell[1].max_s
                                     + int(cell[2] * 100))
                   for cell in sorted(cells, key=lambda c: -c[1].max_s)}
        results = {cell: futures[cell].result() for cell in cells}
    print(f"pass/fail/inconclusive % · median time to decision (a run undecided at its maximum counts as "
          f"the maximum); {args.reps} runs per cell ({long_reps} for runs of 10 min or more); · a plan "
          "whose first look (a fixed run: its length) comes before the traffic's min_duration (10 × the "
          "time between episode starts): outside the guarantee, not counted; * more than 2.5% wrong")
    print("\n| traffic | objective | run | " + " | ".join(f"{r:g}×" for r in RATIOS)
          + " | false pass / false fail |")
    print("|---|---|---|" + "---|" * len(RATIOS) + "---|")
    counted = marked = 0
    worst = 0.0
    for m in models:
        model = MODELS[m]
        for objective in OBJECTIVES:
            for plan in plans(model):
                outcomes = {ratio: results[(m, plan, ratio)][objective] for ratio in RATIOS}
                for label, first_s, verdicts, times in (
                    (f"until decided {clock(plan.first_look_s)}–{clock(plan.max_s)}", plan.first_look_s,
                     {r: [o.verdict for o in os] for r, os in outcomes.items()},
                     {r: [o.at_s for o in os] for r, os in outcomes.items()}),
                    (f"fixed {clock(plan.max_s)}", float(plan.max_s),
                     {r: [o.fixed for o in os] for r, os in outcomes.items()}, None),
                ):
                    # The rule, before any verdict: the earliest decision covers episodes every first/10.
                    enough = first_s >= model.min_duration_s
                    false_pass, false_fail = _wrong(verdicts)
                    counted += 2 * enough
                    marked += enough * ((false_pass > 2.5) + (false_fail > 2.5))
                    worst = max(worst, *(((false_pass, false_fail)) if enough else (0.0,)))
                    mark = ("*" if max(false_pass, false_fail) > 2.5 else "") if enough else " ·"
                    row = [_shares(verdicts[r]) + (f" · {statistics.median(times[r]):.0f} s" if times else "")
                           for r in RATIOS]
                    print(f"| {model.name} | {objective} | {label} | " + " | ".join(row)
                          + f" | {false_pass:.1f}% / {false_fail:.1f}%{mark} |")
    print(f"\nerror rates inside the rule: {counted} (false pass and false fail of each row); over 2.5%: "
          f"{marked}; worst: {worst:.1f}%")
    print(f"\n{time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
