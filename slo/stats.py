"""The statistics behind a verdict: intervals that know their uncertainty, and the tests of a baseline.

Pure standard library (``statistics.NormalDist``); numpy only merges histograms (slo.histogram).

- Ratios (error ratio, availability, the share of requests under a latency threshold) get a
  Wilson score interval, which stays sane at 0 and at n events where the normal one collapses.
- A percentile gets the distribution-free order-statistic interval: the q-quantile lies between
  the order statistics of ranks ``n * L`` and ``n * U``, where (L, U) is the binomial interval of q
  with n trials, whatever the latency distribution. Read from the histogram, each bound is also
  within the histogram's relative accuracy.
- Baselines: a two-proportion z-test for ratios, a Mann-Whitney U test (normal approximation
  with tie correction) over two histograms for latency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from slogate.slo.histogram import LatencyHistogram
from slogate.slo.spec import DEFAULT_CONFIDENCE

_NORMAL = NormalDist()


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (0.95 -> 1.96)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return _NORMAL.inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(events: int, trials: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``events / trials``; (0, 1) with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = events / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def samples_to_separate(observed: float, limit: float, confidence: float = DEFAULT_CONFIDENCE) -> int | None:
    """How many events would make an interval around ``observed`` exclude ``limit``, approximately.

    Uses the normal half-width ``z * sqrt(p (1 - p) / n)`` at the limit; None when the observed
    proportion sits exactly on the limit (no sample count decides it).
    """
    gap = abs(observed - limit)
    if gap <= 1e-12:
        return None
    variance = max(limit * (1.0 - limit), 1.0 / 1e9)
    return math.ceil(z_value(confidence) ** 2 * variance / (gap * gap))


@dataclass(frozen=True)
class QuantileInterval:
    """A percentile's estimate and its confidence interval, all in µs (None bounds: unbounded)."""

    estimate: float
    low: float
    high: float | None
    """None when the upper rank is beyond the sample: too few samples to bound it from above."""


def quantile_interval(
    histogram: LatencyHistogram, q: float, confidence: float = DEFAULT_CONFIDENCE
) -> QuantileInterval | None:
    """The order-statistic interval of the ``q`` quantile (0 < q < 1); None for an empty histogram."""
    n = histogram.count
    estimate = histogram.quantile(q)
    if n == 0 or estimate is None:
        return None
    low_p, high_p = wilson_interval_around(q, n, confidence)
    low_rank = math.floor(low_p * n)
    high_rank = math.ceil(high_p * n) + 1
    low = histogram.quantile(low_rank / n) if low_rank >= 1 else histogram.min
    high = histogram.quantile(high_rank / n) if high_rank <= n else None
    return QuantileInterval(estimate, low if low is not None else 0.0, high)


def wilson_interval_around(q: float, n: int, confidence: float) -> tuple[float, float]:
    """The binomial interval of the share of n samples at or below the true q-quantile."""
    z = z_value(confidence)
    half = z * math.sqrt(q * (1.0 - q) / n)
    return max(0.0, q - half), min(1.0, q + half)


@dataclass(frozen=True)
class TestResult:
    """A significance test: its name, statistic and one-sided p-value (small: 'worse' is real)."""

    test: str
    statistic: float
    p_value: float


def two_proportion_z(bad_a: int, n_a: int, bad_b: int, n_b: int) -> TestResult | None:
    """Is the proportion of ``b`` (candidate) greater than that of ``a`` (baseline)? One-sided."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (bad_a + bad_b) / (n_a + n_b)
    variance = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    difference = bad_b / n_b - bad_a / n_a
    if variance <= 0.0:
        return TestResult("two-proportion z-test", 0.0, 1.0 if difference <= 0 else 0.0)
    z = difference / math.sqrt(variance)
    return TestResult("two-proportion z-test", z, 1.0 - _NORMAL.cdf(z))


def mann_whitney(baseline: LatencyHistogram, candidate: LatencyHistogram) -> TestResult | None:
    """Is the candidate's latency stochastically greater than the baseline's? One-sided U test.

    Works on histogram buckets as tied groups (mid-ranks), so its cost is the number of buckets,
    not of requests; the normal approximation with tie correction is exact enough at the sample
    sizes a gate needs.
    """
    n_a, n_b = baseline.count, candidate.count
    if n_a == 0 or n_b == 0:
        return None
    groups = _bucket_groups(baseline, candidate)
    rank_sum_b = 0.0
    seen = 0
    tie_term = 0.0
    for count_a, count_b in groups:
        size = count_a + count_b
        mid_rank = seen + (size + 1) / 2.0
        rank_sum_b += count_b * mid_rank
        tie_term += size**3 - size
        seen += size
    n = n_a + n_b
    u_b = rank_sum_b - n_b * (n_b + 1) / 2.0
    mean = n_a * n_b / 2.0
    variance = n_a * n_b / 12.0 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0.0:
        return TestResult("Mann-Whitney U", u_b, 1.0)
    z = (u_b - mean) / math.sqrt(variance)
    return TestResult("Mann-Whitney U", z, 1.0 - _NORMAL.cdf(z))


def _bucket_groups(a: LatencyHistogram, b: LatencyHistogram) -> Sequence[tuple[int, int]]:
    """(count in a, count in b) per bucket, ascending; the zero bucket first."""
    counts_a = {int(i): int(c) for i, c in a.to_dict()["buckets"]}
    counts_b = {int(i): int(c) for i, c in b.to_dict()["buckets"]}
    groups = [(a.zero_count, b.zero_count)]
    for index in sorted(set(counts_a) | set(counts_b)):
        groups.append((counts_a.get(index, 0), counts_b.get(index, 0)))
    return groups
