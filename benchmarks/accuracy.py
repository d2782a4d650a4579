"""Accuracy of the gate's percentiles at both ends of the latency range, against exact numpy values.

The recorder keeps microseconds in a log-bucketed histogram (slo.histogram); the design promises at
most 1% relative error at every percentile up to p99.9. This checks p50/p95/p99/p99.9 on
sub-millisecond distributions (a cache hit on loopback: tens to hundreds of µs, where one bucket
is a fraction of a microsecond) and multi-second ones (an LLM completion: seconds to a minute),
each recorded exactly as the recorder does (``LatencyHistogram.record`` of µs values), against
numpy's exact nearest-rank percentile of the same values. The mid-range shapes and the
confidence-interval coverage are in benchmarks/evaluate_accuracy.py.

    .venv/bin/python -m benchmarks.accuracy [--n 200000]
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.evaluate_accuracy import Sampler, histogram_of

PERCENTILES = (50.0, 95.0, 99.0, 99.9)
GOAL = 0.01

SHAPES: dict[str, Sampler] = {
    # Sub-millisecond: values in µs.
    "sub-ms lognormal 150µs σ0.5": lambda rng, n: rng.lognormal(np.log(150), 0.5, n),
    "sub-ms uniform 20..900µs": lambda rng, n: rng.uniform(20, 900, n),
    "sub-ms exponential 80µs+": lambda rng, n: 30 + rng.exponential(80, n),
    # Multi-second.
    "multi-s lognormal 3s σ0.4": lambda rng, n: rng.lognormal(np.log(3e6), 0.4, n),
    "multi-s uniform 1..30s": lambda rng, n: rng.uniform(1e6, 30e6, n),
    "multi-s bimodal 2s/20s": lambda rng, n: np.where(rng.random(n) < 0.9, rng.normal(2e6, 2e5, n).clip(1e5),
                                                      rng.lognormal(np.log(20e6), 0.3, n)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    heads = "".join(f"{'p' + format(p, 'g'):>25}" for p in PERCENTILES)
    print(f"n = {args.n:,} per shape; histogram value / exact (numpy 'inverted_cdf'), relative error")
    print(f"{'shape':<30}{heads}")
    worst = 0.0
    for name, sample in SHAPES.items():
        values = sample(rng, args.n)
        histogram = histogram_of(values)
        cells = []
        for p in PERCENTILES:
            exact = float(np.percentile(values, p, method="inverted_cdf"))
            measured = histogram.quantile(p / 100) or 0.0
            error = abs(measured - exact) / exact
            worst = max(worst, error)
            cells.append(f"{_shown(measured)}/{_shown(exact)} {error * 100:5.2f}%")
        print(f"{name:<30}" + "".join(f"{c:>25}" for c in cells))
    print(f"worst relative error {worst * 100:.3f}% (goal <= {GOAL * 100:g}%): "
          f"{'met' if worst <= GOAL else 'NOT met'}")


def _shown(value_us: float) -> str:
    if value_us >= 1e6:
        return f"{value_us / 1e6:.3f}s"
    if value_us >= 1e3:
        return f"{value_us / 1e3:.2f}ms"
    return f"{value_us:.1f}µs"


if __name__ == "__main__":
    main()
