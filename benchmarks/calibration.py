"""Calibration of the gate's verdicts on runs of known truth (the README's table).

Synthetic runs are written with the project's own model (``RunResult`` of one-second slices, each
with its ``LatencyHistogram``) and judged by ``slogate.slo.evaluator.evaluate``, exactly what
``slogate gate`` runs. 200 requests/s, lognormal latencies (sigma 0.5); four regime models:

- independent: every slice alike;
- jitter: each slice's median scaled by U(0.9, 1.1);
- episodes: slow episodes of ~3 s (geometric) covering 5% of the time, latency x3, errors x5;
- rare: slow episodes of ~20 s covering 3% of the time, latency x5, errors x5.

The true long-run p99 (and error ratio) is computed exactly from the mixture, and each objective's
threshold is set so the truth is 0.8x to 1.25x of it. Objectives: ``p99 <= T``, ``99% under T``
(budget form), ``error ratio <= 1%`` and ``p99 <= T in every 30 s window`` (truth: the long-run
value, which is the windowed objective's own only without episodes: on episode traffic a window
holding an episode truly misses, so those cells are shown, marked ``†``, not counted). A verdict
is wrong when it passes a truth over the limit or fails one under it; at exactly the limit a pass
is counted wrong too (what a gate must not wave through), as in issue 12.

Which cells hold enough information is decided before any verdict, by the README's rule: a run
covers slow episodes that begin at least every ``run length / COVERAGE_CYCLES``; so traffic whose
episodes begin every c seconds on average (episode length / share of time) needs
``min_duration = COVERAGE_CYCLES x c``, traffic without episodes none. A cell whose run is shorter
is outside the guarantee (shown, marked ``·``, not counted): many of its runs met no episode, and
no statistic of such a run can know. Inside it, a cell with more than 2.5% wrong verdicts is
marked ``*``. Each run's own effective-sample rule (inconclusive with too little information)
applies everywhere.

    .venv/bin/python -m benchmarks.calibration             # the README's table, ~25 minutes on 2 cores
    .venv/bin/python -m benchmarks.calibration --reps 100  # finer, about 2.5 times as long
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from slogate.slo.evaluator import evaluate
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.judge import COVERAGE_CYCLES
from slogate.slo.run import EndpointWindow, RunResult, TimeSlice
from slogate.slo.specfile.load import parse_spec

RATE = 200
SIGMA = 0.5
MEDIAN_US = 50_000.0
ERROR_RATIO = 0.01
RATIOS = (0.8, 0.9, 1.0, 1.1, 1.25)
LENGTHS = (30, 120, 600)
LONG_S = 7200
"""Rare 20 s episodes begin every 11 min on average: only a run of about two hours covers them."""
OBJECTIVES = ("p99", "budget", "errors", "windowed")
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Model:
    name: str
    episode_s: float = 0.0
    share: float = 0.0
    slow: float = 1.0
    jitter: float = 0.0

    @property
    def min_duration_s(self) -> float:
        """What the README's rule asks for this traffic: ``COVERAGE_CYCLES`` times the mean time
        between episode starts (0 without episodes)."""
        return COVERAGE_CYCLES * self.episode_s / self.share if self.share else 0.0

    @property
    def lengths(self) -> tuple[int, ...]:
        return LENGTHS if self.min_duration_s <= LENGTHS[-1] else (*LENGTHS, LONG_S)

    def latency_cdf(self, value_us: float) -> float:
        """The long-run share of requests at or under ``value_us`` (the mixture, exactly)."""
        def lognormal(median: float) -> float:
            return _NORMAL.cdf((math.log(value_us) - math.log(median)) / SIGMA)
        if self.jitter:
            grid = np.linspace(1 - self.jitter, 1 + self.jitter, 401)
            return float(np.mean([lognormal(MEDIAN_US * g) for g in grid]))
        return (1 - self.share) * lognormal(MEDIAN_US) + self.share * lognormal(MEDIAN_US * self.slow)

    def true_p99(self) -> float:
        low, high = MEDIAN_US, MEDIAN_US * 100
        for _ in range(100):
            middle = (low + high) / 2
            low, high = (middle, high) if self.latency_cdf(middle) < 0.99 else (low, middle)
        return high

    def true_error_ratio(self, base: float) -> float:
        return base * ((1 - self.share) + self.share * 5.0) if self.share else base

    def regimes(self, seconds: int, rng: np.random.Generator) -> Iterator[tuple[float, bool]]:
        """(median scale, in an episode) per second: a two-state Markov chain for episodes."""
        if not self.share:
            for _ in range(seconds):
                yield (rng.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else 1.0), False
            return
        leave = 1.0 / self.episode_s
        enter = leave * self.share / (1 - self.share)
        slow = rng.random() < self.share
        for _ in range(seconds):
            yield (self.slow if slow else 1.0), slow
            slow = (rng.random() >= leave) if slow else (rng.random() < enter)


MODELS = (
    Model("independent"),
    Model("jitter ±10%", jitter=0.1),
    Model("episodes 3s 5% ×3", episode_s=3.0, share=0.05, slow=3.0),
    Model("rare 20s 3% ×5", episode_s=20.0, share=0.03, slow=5.0),
)

_GAMMA_LOG = math.log((1 + 0.005) / (1 - 0.005))


def _histogram(values_us: np.ndarray) -> LatencyHistogram:
    histogram = LatencyHistogram()
    indices, counts = np.unique(np.ceil(np.log(values_us) / _GAMMA_LOG).astype(np.int64), return_counts=True)
    for index, count in zip(indices.tolist(), counts.tolist(), strict=True):
        # The bucket's representative value lands in that bucket: the histogram of the sample.
        histogram.record(2.0 * math.exp(index * _GAMMA_LOG) / (math.exp(_GAMMA_LOG) + 1.0), count)
    return histogram


def synthetic_run(model: Model, seconds: int, error_base: float, rng: np.random.Generator) -> RunResult:
    slices = []
    for second, (scale, episode) in enumerate(model.regimes(seconds, rng)):
        requests = rng.poisson(RATE)
        errors = rng.binomial(requests, min(1.0, error_base * (5.0 if episode else 1.0)))
        ok = requests - errors
        values = np.exp(rng.normal(math.log(MEDIAN_US * scale), SIGMA, ok))
        failed = LatencyHistogram()
        if errors:
            failed.record(5_000.0, int(errors))
        window = EndpointWindow(ok=_histogram(values), failed=failed,
                                statuses={"200": int(ok), **({"503": int(errors)} if errors else {})})
        slices.append(TimeSlice(start_s=float(second), duration_s=1.0, endpoints={"GET /x": window}))
    return RunResult(run_id="calibration", target="http://synthetic", scenario="synthetic",
                     load_model={"model": "open", "rate_per_s": RATE}, started_at=0.0,
                     ended_at=float(seconds), slice_s=1.0, slices=tuple(slices), slogate_version="bench")


def one_cell(model_index: int, seconds: int, ratio: float, reps: int, seed: int) -> dict[str, list[str]]:
    """Verdicts of ``reps`` runs whose truth is ``ratio`` times each objective's limit."""
    model = MODELS[model_index]
    rng = np.random.default_rng(seed)
    threshold_ms = model.true_p99() / ratio / 1000.0
    # The error ratio's truth, ratio x 1%: the base rate that gives it through the episodes.
    error_base = ERROR_RATIO * ratio / model.true_error_ratio(1.0)
    spec = parse_spec(
        "service: calibration\nobjectives:\n"
        f"  - {{name: p99, kind: latency, percentile: p99, threshold: {threshold_ms:.6f}ms}}\n"
        f"  - {{name: budget, kind: latency, target: 99%, threshold: {threshold_ms:.6f}ms}}\n"
        "  - {name: errors, kind: error_ratio, max: 1%}\n"
        f"  - {{name: windowed, kind: latency, percentile: p99, threshold: {threshold_ms:.6f}ms, "
        "window: 30s}\n")
    verdicts: dict[str, list[str]] = {name: [] for name in OBJECTIVES}
    for _ in range(reps):
        evaluation = evaluate(spec, synthetic_run(model, seconds, error_base, rng), now=0.0)
        for result in evaluation.objectives:
            verdicts[result.name].append(result.verdict)
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=40, help="runs per cell (runs of an hour or more "
                        "get a fifth, at least 10)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.monotonic()
    cells = [(m, seconds, ratio) for m, model in enumerate(MODELS) for seconds in model.lengths
             for ratio in RATIOS]
    reps = {cell: max(10, args.reps // 5) if cell[1] >= 3600 else args.reps for cell in cells}
    with ProcessPoolExecutor(args.workers) as pool:
        # The longest first: the pool's last minutes are not spent waiting on one long cell.
        futures = {cell: pool.submit(one_cell, *cell, reps[cell], hash(cell) & 0xFFFF_FFFF)
                   for cell in sorted(cells, key=lambda c: -c[1])}
        results = {cell: futures[cell].result() for cell in cells}
    print("pass / fail / inconclusive % by truth (× the limit); runs per cell: "
          f"{args.reps} ({max(10, args.reps // 5)} for 2 h); * more than 2.5% wrong verdicts in a cell "
          "with enough information; · a run shorter than the rule's min_duration for its traffic "
          f"({COVERAGE_CYCLES} × the time between episode starts): outside the guarantee; † a windowed "
          "objective on episode traffic, whose windows with an episode truly miss (not counted)")
    for name in OBJECTIVES:
        print(f"\n{name}\n\n| traffic | run | " + " | ".join(f"{r:g}×" for r in RATIOS) + " |")
        print("|---|---|" + "---|" * len(RATIOS))
        counted = marked = 0
        worst = 0.0
        for m, model in enumerate(MODELS):
            for seconds in model.lengths:
                # A window that holds an episode truly misses 'every 30 s window': the long-run
                # truth is the windowed objective's own only for traffic without episodes.
                per_window = name == "windowed" and model.share > 0
                enough = seconds >= model.min_duration_s and not per_window
                row = []
                for ratio in RATIOS:
                    verdicts = results[(m, seconds, ratio)][name]
                    n = len(verdicts)
                    shares = [100.0 * verdicts.count(v) / n for v in ("pass", "fail", "inconclusive")]
                    wrong = shares[0] if ratio >= 1.0 else shares[1]
                    counted += enough
                    marked += enough and wrong > 2.5
                    worst = max(worst, wrong if enough else 0.0)
                    mark = ("*" if wrong > 2.5 else "") if enough else "†" if per_window else "·"
                    row.append(f"{shares[0]:.0f}/{shares[1]:.0f}/{shares[2]:.0f}{mark}")
                print(f"| {model.name} | {_length(seconds)} | " + " | ".join(row) + " |")
        print(f"\ncells with enough information: {counted} of {len(cells)}; with more than 2.5% wrong: "
              f"{marked}; worst: {worst:.1f}%")
    print(f"\n{time.monotonic() - started:.0f}s")


def _length(seconds: int) -> str:
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


if __name__ == "__main__":
    main()
