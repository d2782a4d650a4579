"""Percentile and confidence-interval accuracy against exact values (numpy) on held samples.

For several latency shapes: the histogram's percentile against numpy's exact nearest-rank one
(relative error), and how often the 95% order-statistic interval covers the true percentile of
the distribution (estimated from a large held-out sample) over repeated smaller runs.

    .venv/bin/python -m benchmarks.evaluate_accuracy
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from slogate.slo.histogram import LatencyHistogram
from slogate.slo.stats import quantile_interval

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
Sampler = Callable[[np.random.Generator, int], np.ndarray]

SHAPES: dict[str, Sampler] = {
    "lognormal 20ms σ0.6": lambda rng, n: rng.lognormal(np.log(20_000), 0.6, n),
    "bimodal cache 2ms/80ms": lambda rng, n: np.where(rng.random(n) < 0.8, rng.normal(2_000, 300, n).clip(50),
                                                      rng.lognormal(np.log(80_000), 0.4, n)),
    "uniform 1..100ms": lambda rng, n: rng.uniform(1_000, 100_000, n),
    "pareto tail": lambda rng, n: 5_000 * (1 + rng.pareto(2.5, n)),
}


def histogram_of(values: np.ndarray) -> LatencyHistogram:
    histogram = LatencyHistogram()
    for value in values.tolist():
        histogram.record(value)
    return histogram


def main() -> None:
    rng = np.random.default_rng(42)
    print("percentile accuracy (n = 200,000; relative error vs numpy's exact 'inverted_cdf')")
    print(f"{'shape':<24}" + "".join(f"{'p' + format(p, 'g'):>9}" for p in PERCENTILES))
    for name, sample in SHAPES.items():
        values = sample(rng, 200_000)
        histogram = histogram_of(values)
        errors = []
        for p in PERCENTILES:
            exact = float(np.percentile(values, p, method="inverted_cdf"))
            errors.append(abs((histogram.quantile(p / 100) or 0.0) - exact) / exact)
        print(f"{name:<24}" + "".join(f"{e * 100:>8.3f}%" for e in errors))

    trials, n = 200, 5_000
    print(f"\n95% interval coverage of the true percentile ({trials} runs of n = {n:,}; goal ~95%)")
    print(f"{'shape':<24}" + "".join(f"{'p' + format(p, 'g'):>9}" for p in PERCENTILES))
    for name, sample in SHAPES.items():
        truth = np.percentile(sample(rng, 4_000_000), PERCENTILES)
        covered = np.zeros(len(PERCENTILES))
        for _ in range(trials):
            histogram = histogram_of(sample(rng, n))
            for i, p in enumerate(PERCENTILES):
                interval = quantile_interval(histogram, p / 100)
                assert interval is not None
                high = interval.high if interval.high is not None else float("inf")
                # The bounds are bucket values: grant the histogram's own relative accuracy.
                if interval.low * (1 - 0.005) <= truth[i] <= high * (1 + 0.005):
                    covered[i] += 1
        print(f"{name:<24}" + "".join(f"{c / trials * 100:>8.1f}%" for c in covered))


if __name__ == "__main__":
    main()
