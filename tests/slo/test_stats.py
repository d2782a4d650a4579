"""Intervals and tests of ``slo.stats`` against exact values and simulated coverage."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pytest

from slogate.slo.histogram import LatencyHistogram
from slogate.slo.stats import (
    critical_value,
    dispersion,
    mann_whitney,
    quantile_interval,
    regularized_beta,
    samples_to_separate,
    share_interval,
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
    # Sized for 80% power: there, the interval at z + z_0.8 just excludes the limit.
    critical = z_value(0.95) + 0.8416
    assert share_interval(0.985 * near, near, critical)[1] < 0.99
    assert share_interval(0.985 * near * 0.9, near * 0.9, critical)[1] > 0.99
    # Correlated slices (phi) need phi times as many; few events are sized by the exact interval.
    assert samples_to_separate(0.985, 0.99, inflation=4.0) == pytest.approx(4 * near, rel=0.01)
    few = samples_to_separate(0.0, 0.01)
    assert few is not None and 500 < few < 700  # exact: (1 - (1 - c) tail)^(1/n) reaches 1% near 600


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



def test_student_t_and_exact_binomial_against_tables() -> None:
    assert critical_value(0.95) == pytest.approx(1.95996, abs=1e-4)
    assert critical_value(0.95, 1) == pytest.approx(12.7062, abs=1e-3)
    assert critical_value(0.95, 4) == pytest.approx(2.7764, abs=1e-4)
    assert critical_value(0.95, 19) == pytest.approx(2.0930, abs=1e-4)
    # Clopper-Pearson with no events: the upper bound solves (1 - p)^n = 2.5%.
    low, high = share_interval(0, 100, critical_value(0.95))
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 100), rel=1e-6)
    # P(Bin(20, 0.3) >= 10) = 0.04796 (binomial table), as the regularized incomplete beta.
    assert regularized_beta(0.3, 10, 11) == pytest.approx(0.047962, rel=1e-4)


def test_batch_means_see_slices_that_vary_more_than_independent_requests() -> None:
    steady = dispersion([100.0] * 40, [1.0] * 40, 0.01 * 0.99 / 4000, 1.96)
    assert steady.inflation == 1.0 and steady.effective == 4000 and steady.dof is None
    # The same 40 bad requests all in 2 of 40 slices: an episode.
    bursty = dispersion([100.0] * 40, [0.0] * 19 + [20.0, 20.0] + [0.0] * 19, 0.01 * 0.99 / 4000, 1.96)
    # One episode is one observation of how episodes vary, however many batches it spans: two
    # batches carry all the deviation, so the variance has a few degrees of freedom, not B - 1 = 19.
    assert bursty.inflation > 10 and bursty.effective < 400 and bursty.dof == 5
    # Every other batch bad: the batches deviate alike, so B - 1.
    alternating = dispersion([100.0] * 40, [4.0, 4.0, 0.0, 0.0] * 10, 0.01 * 0.99 / 4000, 1.96)
    assert alternating.inflation > 1 and alternating.dof == 19
    shifted = dispersion([100.0] * 40, [0.0] * 20 + [2.0] * 20, 0.01 * 0.99 / 4000, 1.96)
    assert shifted.change is not None and shifted.change.second == pytest.approx(0.02)
