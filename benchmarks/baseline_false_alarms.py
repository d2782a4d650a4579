"""False alarms and power of ``slogate gate --baseline`` on pairs of synthetic runs of known truth.

Each pair is two independent runs of one process (so any regression flagged is a false alarm), at
200 requests/s in 1 s slices, under three regime models: independent samples; episodes of ~3 s
covering 5% of the time with latency ×3; rare episodes of ~20 s covering 3% of the time, ×5. In an
episode the error ratio also rises (0.2% -> 2%). Power: the candidate's tail is stretched so its
p99 is ×1.3 while its median (and p95) stay put. Both runs are judged by ``slo.baseline.compare``
(the block bootstrap and batch rank test of the percentile, the batch permutation test of the
bad-event ratio over batches that outlast the slices' correlation) and by the rule it replaced
(the percentile worse beyond the tolerance and a one-sided Mann-Whitney U test over the
histograms; the plain two-proportion z-test), at the default 10% tolerance and alpha = 5%.

    .venv/bin/python -m benchmarks.baseline_false_alarms [--pairs 200]
"""

from __future__ import annotations

import argparse
import binascii
import math
import time
from dataclasses import dataclass

import numpy as np

from slogate.slo.baseline import DEFAULT_ALPHA, DEFAULT_TOLERANCE, compare
from slogate.slo.evaluator import evaluate, judged_counts
from slogate.slo.histogram import DEFAULT_RELATIVE_ACCURACY, LatencyHistogram
from slogate.slo.run import EndpointWindow, RunResult, TimeSlice
from slogate.slo.spec import Spec
from slogate.slo.specfile.load import parse_spec
from slogate.slo.stats import mann_whitney, two_proportion_z

ENDPOINT = "GET /content/{id}"
RATE = 200
MEDIAN_MS = 20.0
SIGMA = 0.5
ERRORS = (0.002, 0.02)
"""The error ratio in the normal regime and in an episode."""
LOG_GAMMA = math.log((1 + DEFAULT_RELATIVE_ACCURACY) / (1 - DEFAULT_RELATIVE_ACCURACY))

SPEC = parse_spec(f"""\
service: bench
objectives:
  - {{name: p99, kind: latency, percentile: p99, threshold: 10s, endpoint: "{ENDPOINT}"}}
  - {{name: errors, kind: error_ratio, max: 50%}}
""")


@dataclass(frozen=True)
class Regimes:
    """Slices switch between a normal and a degraded regime: a two-state Markov chain per slice."""

    name: str
    episode_s: float = 1.0
    share: float = 0.0
    slowdown: float = 1.0

    def degraded(self, slices: int, rng: np.random.Generator) -> np.ndarray:
        """Which slices are in an episode (stationary from the first)."""
        if self.share <= 0.0:
            return np.zeros(slices, bool)
        leave = 1.0 / self.episode_s
        enter = self.share / (1.0 - self.share) * leave
        state = rng.random() < self.share
        states = np.empty(slices, bool)
        draws = rng.random(slices)
        for index in range(slices):
            states[index] = state
            state = draws[index] >= leave if state else draws[index] < enter
        return states


MODELS = (
    Regimes("independent samples"),
    Regimes("episodes ~3s, 5%, ×3", episode_s=3.0, share=0.05, slowdown=3.0),
    Regimes("rare episodes ~20s, 3%, ×5", episode_s=20.0, share=0.03, slowdown=5.0),
)


def tail_stretch(p99_factor: float) -> float:
    """How much to stretch latencies above the p95 so the p99 grows ``p99_factor`` times (the p95
    and the median do not move)."""
    z95, z99 = 1.6448536269514722, 2.3263478740408408
    q95, q99 = math.exp(SIGMA * z95), math.exp(SIGMA * z99)
    return (p99_factor * q99 - q95) / (q99 - q95)


def simulated_run(
    seconds: int, regimes: Regimes, rng: np.random.Generator, *, p99_factor: float = 1.0, run_id: str = "run"
) -> RunResult:
    """A run of ``seconds`` one-second slices of ``RATE`` requests of lognormal latency, the
    degraded slices ``regimes.slowdown`` times slower; the tail stretched for ``p99_factor``."""
    degraded = regimes.degraded(seconds, rng)
    relative = rng.lognormal(0.0, SIGMA, (seconds, RATE))
    if p99_factor != 1.0:
        knee = math.exp(SIGMA * 1.6448536269514722)
        relative = np.where(relative > knee, knee + (relative - knee) * tail_stretch(p99_factor), relative)
    latency_us = relative * MEDIAN_MS * 1000.0 * np.where(degraded, regimes.slowdown, 1.0)[:, None]
    failed = rng.random((seconds, RATE)) < np.where(degraded, ERRORS[1], ERRORS[0])[:, None]
    slices = tuple(
        TimeSlice(start_s=float(second), duration_s=1.0, endpoints={ENDPOINT: EndpointWindow(
            ok=histogram_of(latency_us[second][~failed[second]]),
            failed=histogram_of(latency_us[second][failed[second]]),
            statuses={"200": int((~failed[second]).sum()), "503": int(failed[second].sum())},
        )})
        for second in range(seconds)
    )
    return RunResult(run_id=run_id, target="http://bench", scenario="bench", load_model={},
                     started_at=0.0, ended_at=float(seconds), slice_s=1.0, slices=slices)


def histogram_of(values_us: np.ndarray) -> LatencyHistogram:
    """The histogram of ``values_us`` (all >= 1 µs), bucketed by numpy and read in its packed form."""
    if not len(values_us):
        return LatencyHistogram()
    buckets, counts = np.unique(np.ceil(np.log(values_us) / LOG_GAMMA).astype(np.int64), return_counts=True)
    return LatencyHistogram.from_dict({
        "count": len(values_us), "sum_us": float(values_us.sum()), "min_us": float(values_us.min()),
        "max_us": float(values_us.max()), "zero_count": 0,
        "buckets": {"first": int(buckets[0]), "n": len(buckets), "gaps": _base64(np.diff(buckets)),
                    "counts": _base64(counts)},
    })


def _base64(values: np.ndarray) -> str:
    return binascii.b2a_base64(values.astype("<u4").tobytes(), newline=False).decode()


def flagged(spec: Spec, candidate: RunResult, baseline: RunResult) -> dict[str, tuple[bool, bool]]:
    """Per objective: (flagged by the old rule, flagged by ``compare``)."""
    compared = compare(evaluate(spec, candidate), spec, candidate, baseline)
    new = {o.name: bool(o.regression) for o in compared.objectives}
    now, before = judged_counts(spec, candidate), judged_counts(spec, baseline)
    old: dict[str, bool] = {}
    for name in new:
        a, b = before[name], now[name]
        if name == "p99":
            assert a.latency is not None and b.latency is not None
            test = mann_whitney(a.latency, b.latency)
            p99_a, p99_b = a.latency.quantile(0.99) or 0.0, b.latency.quantile(0.99) or 0.0
            worse = p99_b > p99_a * (1 + DEFAULT_TOLERANCE)
        else:
            test = two_proportion_z(a.bad, a.total, b.bad, b.total)
            worse = b.bad / b.total > a.bad / a.total * (1 + DEFAULT_TOLERANCE)
        old[name] = worse and test is not None and test.p_value < DEFAULT_ALPHA
    return {name: (old[name], new[name]) for name in new}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200, help="pairs of runs per cell")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{args.pairs} pairs per cell; share of pairs flagged as a regression "
          f"(tolerance {DEFAULT_TOLERANCE:.0%}, alpha {DEFAULT_ALPHA:.0%}); old = Mann-Whitney U / plain z, "
          "new = block bootstrap + batch rank test / batch permutation test\n")
    print("| regime model | run | p99 same: old | p99 same: new | errors same: old | errors same: new "
          "| p99 ×1.3 tail-only: old | p99 ×1.3 tail-only: new |")
    print("|---|---|---|---|---|---|---|---|")
    started = time.perf_counter()
    for regimes in MODELS:
        for minutes in (2, 10):
            seconds = minutes * 60
            same = np.zeros((2, 2))
            power = np.zeros(2)
            for _ in range(args.pairs):
                baseline = simulated_run(seconds, regimes, rng)
                result = flagged(SPEC, simulated_run(seconds, regimes, rng), baseline)
                same[0] += result["p99"]
                same[1] += result["errors"]
                power += flagged(SPEC, simulated_run(seconds, regimes, rng, p99_factor=1.3), baseline)["p99"]
            cells = [*(same[0] / args.pairs), *(same[1] / args.pairs), *(power / args.pairs)]
            shown = " | ".join(f"{c:.1%}" for c in cells)
            print(f"| {regimes.name} | {minutes} min | {shown} |", flush=True)
    print(f"\n({time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
