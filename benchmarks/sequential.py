"""``--until-decided`` on runs of known truth: its error rates and how soon it decides (the README's table).

Synthetic runs come from ``benchmarks.calibration`` (200 req/s, one-second slices, lognormal
latencies; independent, jittered and 3-second-episode traffic), each written for the maximum
duration, 5 minutes. The sequential rule (``slo.sequential``) looks at them as a live run would:
at each planned look (every 5 s from the default first look, 20 s, then 10% apart) the run up to
then is judged by ``slogate.slo.evaluator.evaluate`` at that look's confidence, and the run stops
at the first settled verdict. Beside it, the fixed-horizon gate on the whole 5 minutes at 95%.

One objective at a time, so each time to decision is that objective's: ``p99 <= T`` and
``error ratio <= 1%``, with the truth at 0.5x to 2x the limit. A pass of a truth over the limit is
a false pass, a fail of one under it a false fail (nominal: at most 2.5% each).

    .venv/bin/python -m benchmarks.sequential            # ~5 minutes on 2 cores
    .venv/bin/python -m benchmarks.sequential --reps 10  # quicker, coarser
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from benchmarks.calibration import ERROR_RATIO, MODELS, synthetic_run
from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult
from slogate.slo.sequential import default_min_duration, planned_looks, record, settled
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import parse_spec

MAX_S = 300
EVERY_S = 5.0
RATIOS = (0.5, 0.8, 0.9, 1.1, 1.25, 2.0)
MODEL_NAMES = ("independent", "jitter ±10%", "episodes 3s 5% ×3")
OBJECTIVES = ("p99", "errors")


@dataclasses.dataclass(frozen=True)
class Outcome:
    verdict: str
    """The sequential verdict: 'pass', 'fail', or 'inconclusive' at the maximum."""
    at_s: float
    """When it was settled (the maximum for a run that went the whole way)."""
    fixed: str
    """The fixed-horizon gate's verdict on the whole run."""


def sequential(spec: Spec, run: RunResult) -> tuple[str, float]:
    """The verdict and time of the first settled look; at the last look, whatever it says."""
    looks = planned_looks(default_min_duration(spec, run.slice_s), float(MAX_S), EVERY_S)
    for look in range(1, len(looks) + 1):
        evaluation = evaluate(spec, dataclasses.replace(run, until_decided=record(looks, look)), now=0.0)
        verdict = settled(evaluation)
        if verdict is not None or look == len(looks):
            return verdict or "inconclusive", looks[look - 1]
    raise AssertionError("unreachable: the last look always answers")


def one_cell(model_index: int, ratio: float, reps: int, seed: int) -> dict[str, list[Outcome]]:
    model = next(m for m in MODELS if m.name == MODEL_NAMES[model_index])
    rng = np.random.default_rng(seed)
    threshold_ms = model.true_p99() / ratio / 1000.0
    specs = {
        "p99": parse_spec("service: s\nobjectives:\n  - {name: p99, kind: latency, percentile: p99, "
                          f"threshold: {threshold_ms:.6f}ms}}\n"),
        "errors": parse_spec("service: s\nobjectives:\n  - {name: errors, kind: error_ratio, max: 1%}\n"),
    }
    error_base = ERROR_RATIO * ratio / model.true_error_ratio(1.0)
    outcomes: dict[str, list[Outcome]] = {name: [] for name in OBJECTIVES}
    for _ in range(reps):
        run = synthetic_run(model, MAX_S, error_base, rng)
        for name, spec in specs.items():
            verdict, at_s = sequential(spec, run)
            outcomes[name].append(Outcome(verdict, at_s, evaluate(spec, run, now=0.0).verdict))
    return outcomes


def _shares(verdicts: list[str]) -> str:
    n = len(verdicts)
    return "/".join(f"{100.0 * verdicts.count(v) / n:.0f}" for v in ("pass", "fail", "inconclusive"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=25, help="runs per cell (default 25)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.monotonic()
    cells = [(m, ratio) for m in range(len(MODEL_NAMES)) for ratio in RATIOS]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = {cell: pool.submit(one_cell, *cell, args.reps, 7919 * cell[0] + int(cell[1] * 100))
                   for cell in cells}
        results = {cell: future.result() for cell, future in futures.items()}
    print(f"sequential (first look 20 s, looks every 5 s then 10% apart, max {MAX_S // 60} min) vs the "
          f"fixed {MAX_S // 60}-minute gate; pass/fail/inconclusive %, {args.reps} runs per cell")
    print("| traffic | objective | truth | until decided | median time to decision | undecided at max "
          "| fixed 5 min |")
    print("|---|---|---|---|---|---|---|")
    for m, name in enumerate(MODEL_NAMES):
        for objective in OBJECTIVES:
            wrong = {"pass": 0, "fail": 0}
            counted = {"pass": 0, "fail": 0}
            for ratio in RATIOS:
                outcomes = results[(m, ratio)][objective]
                verdicts = [o.verdict for o in outcomes]
                side = "pass" if ratio > 1.0 else "fail"
                wrong[side] += verdicts.count(side)
                counted[side] += len(verdicts)
                median = statistics.median(o.at_s for o in outcomes)
                at_max = 100.0 * verdicts.count("inconclusive") / len(verdicts)
                print(f"| {name} | {objective} | {ratio:g}× | {_shares(verdicts)} | {median:.0f} s of "
                      f"{MAX_S} s | {at_max:.0f}% | {_shares([o.fixed for o in outcomes])} |")
            print(f"| {name} | {objective} | **errors** | false pass "
                  f"{100.0 * wrong['pass'] / counted['pass']:.1f}%, false fail "
                  f"{100.0 * wrong['fail'] / counted['fail']:.1f}% | | | |")
    print(f"\n{time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
