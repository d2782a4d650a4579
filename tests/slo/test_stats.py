"""Intervals and tests of ``slo.stats`` against exact values and simulated coverage."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pytest

from slogate.slo.histogram import LatencyHistogram
from slogate.slo.stats import (
    mann_whitney,
    quantile_interval,
    samples_to_separate,
    two_proportion_z,
    wilson_interval,
    z_value,
)


def test_wilson_interval_is_sane_at_zero_and_contains_the_estimate() -> None:
    low, high = wilson_interval(0, 1000)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(3.84 / 1003.84, rel=0.01)  # about the rule of three's 3/n
    low, high = wilson_interval(50, 1000)
    assert low < 0.05 < high
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_samples_to_separate_shrinks_with_the_gap() -> None:
    near = samples_to_separate(0.985, 0.99)
    far = samples_to_separate(0.95, 0.99)
    assert near is not None and far is not None and near > far
    assert samples_to_separate(0.99, 0.99) is None
    # With the needed samples, the normal half-width at the limit equals the gap.
    assert z_value(0.95) * math.sqrt(0.99 * 0.01 / near) == pytest.approx(0.005, rel=0.01)


def test_percentile_interval_covers_the_true_value() -> None:
    # Lognormal latencies: the true p99 is known exactly; a 95% interval must cover it ~95% of runs.
    rng = random.Random(7)
    mu, sigma, q, n = math.log(20_000.0), 0.6, 0.99, 3000
    truth = math.exp(mu + sigma * NormalDist().inv_cdf(q))
    covered = 0
    trials = 60
    for _ in range(trials):
        histogram = LatencyHistogram()
        for _ in range(n):
            histogram.record(rng.lognormvariate(mu, sigma))
        interval = quantile_interval(histogram, q)
        assert interval is not None and interval.high is not None
        assert interval.low <= interval.estimate <= interval.high
        # The bounds are histogram values: allow the histogram's own relative accuracy.
        if interval.low * 0.995 <= truth <= interval.high * 1.005:
            covered += 1
    assert covered / trials >= 0.88, covered


def test_percentile_interval_is_open_above_without_enough_samples() -> None:
    histogram = LatencyHistogram()
    for value in range(1, 101):
        histogram.record(float(value))
    interval = quantile_interval(histogram, 0.999)
    assert interval is not None and interval.high is None
    assert quantile_interval(LatencyHistogram(), 0.5) is None


def test_two_proportion_z_test() -> None:
    worse = two_proportion_z(10, 10_000, 40, 10_000)
    assert worse is not None and worse.p_value < 0.001 and worse.statistic > 3
    same = two_proportion_z(10, 10_000, 10, 10_000)
    assert same is not None and same.p_value == pytest.approx(0.5)
    assert two_proportion_z(0, 0, 1, 10) is None


def test_mann_whitney_over_histograms() -> None:
    rng = random.Random(3)
    baseline, slower, same = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for _ in range(2000):
        baseline.record(rng.lognormvariate(math.log(10_000), 0.5))
        slower.record(rng.lognormvariate(math.log(11_000), 0.5))
        same.record(rng.lognormvariate(math.log(10_000), 0.5))
    shifted = mann_whitney(baseline, slower)
    assert shifted is not None and shifted.p_value < 0.001
    unchanged = mann_whitney(baseline, same)
    assert unchanged is not None and unchanged.p_value > 0.01
    assert mann_whitney(baseline, LatencyHistogram()) is None

