"""The statistics behind a verdict: intervals that know their uncertainty, and the tests of a baseline.

Pure standard library (``statistics.NormalDist``, ``math.lgamma``); numpy only merges histograms.

- Ratios (error ratio, availability, the share of requests over a latency threshold) get a Wilson
  score interval, which stays sane at 0 and at n events where the normal one collapses; with few
  events (fewer than ``EXACT_BELOW`` on either side) the exact Clopper-Pearson interval, from the
  binomial distribution computed exactly (the regularized incomplete beta function, in log space).
- Requests of one run are not independent: slow episodes cover consecutive slices. ``dispersion``
  measures it by batch means (about 20 batches of consecutive slices): the inflation of the
  variance over the binomial one (phi) divides n into the effective sample size n / phi, and the
  interval then uses Student's t (its variance was estimated) with B - 1 degrees of freedom, fewer
  when a few batches carry most of the variation (one episode met is one observation of episodes).
- A percentile's interval is distribution-free: the q-quantile lies between the order statistics of
  ranks ``n * L`` and ``n * U``, (L, U) the binomial interval of q, read from the histogram at the
  lower bound of the low bucket and the upper bound of the high one (never inside the rounding).
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

EXACT_BELOW = 50
"""Fewer events than this on either side of a share: the exact binomial interval, not Wilson's."""

BATCHES = 20
"""Batches of consecutive slices the between-slice variance is estimated from (fewer slices: one each)."""

POWER = 0.8
"""``more_samples_needed`` is sized so a fresh run of that size decides with this probability."""


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (0.95 -> 1.96)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return _NORMAL.inv_cdf(0.5 + confidence / 2.0)


def critical_value(confidence: float, dof: int | None = None) -> float:
    """The two-sided quantile: normal, or Student's t with ``dof`` degrees of freedom."""
    z = z_value(confidence)
    if dof is None:
        return z
    if dof < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {dof!r}")
    # Bisection on the exact two-sided t mass: it is increasing in t, and t >= z.
    low, high = z, z
    while _t_mass(high, dof) < confidence:
        high *= 2.0
    for _ in range(100):
        middle = (low + high) / 2.0
        low, high = (middle, high) if _t_mass(middle, dof) < confidence else (low, middle)
    return high


def t_cdf(t: float, dof: int | None) -> float:
    """P(T <= t) for Student's t with ``dof`` degrees of freedom (None: the normal)."""
    if dof is None:
        return _NORMAL.cdf(t)
    mass = _t_mass(abs(t), dof)
    return 0.5 + mass / 2.0 if t >= 0 else 0.5 - mass / 2.0


def _t_mass(t: float, dof: int) -> float:
    """P(|T| <= t), the closed form for whole degrees of freedom (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(dof))
    cos2 = math.cos(theta) ** 2
    if dof % 2:
        series, term = 0.0, math.cos(theta)
        for k in range(1, (dof - 1) // 2 + 1):
            series += term
            term *= cos2 * (2 * k) / (2 * k + 1)
        return (2.0 / math.pi) * (theta + math.sin(theta) * series) if dof > 1 else 2.0 * theta / math.pi
    series, term = 0.0, 1.0
    for k in range(1, dof // 2 + 1):
        series += term
        term *= cos2 * (2 * k - 1) / (2 * k)
    return math.sin(theta) * series


# -- shares ----------------------------------------------------------------------------------------


def wilson_interval(events: float, trials: float, confidence: float = DEFAULT_CONFIDENCE, *,
                    critical: float | None = None) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``events / trials``; (0, 1) with no trials.

    ``critical`` replaces the normal quantile (Student's t, when the variance was estimated)."""
    if trials <= 0:
        return 0.0, 1.0
    z = z_value(confidence) if critical is None else critical
    p = events / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denominator
    half = z * math.sqrt(max(0.0, p * (1.0 - p)) / trials + z * z / (4.0 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def share_interval(events: float, trials: float, critical: float) -> tuple[float, float]:
    """The interval of a share at a two-sided ``critical`` value: exact (Clopper-Pearson) when
    fewer than ``EXACT_BELOW`` events are on either side, Wilson otherwise. ``events`` and
    ``trials`` may be effective (fractional) counts."""
    return (share_bound(events, trials, critical, upper=False),
            share_bound(events, trials, critical, upper=True))


def share_bound(events: float, trials: float, critical: float, *, upper: bool) -> float:
    """One end of ``share_interval`` (each end costs a bisection when exact: compute only the one used)."""
    if trials <= 0:
        return 1.0 if upper else 0.0
    if min(events, trials - events) >= EXACT_BELOW:
        return wilson_interval(events, trials, critical=critical)[1 if upper else 0]
    tail = 1.0 - _NORMAL.cdf(critical)
    if upper:
        return 1.0 if events >= trials else beta_quantile(1.0 - tail, events + 1.0, trials - events)
    return 0.0 if events <= 0 else beta_quantile(tail, events, trials - events + 1.0)


def excess_p_value(events: float, trials: float, limit: float, dof: int | None) -> float:
    """One-sided p-value of 'the true share is at most ``limit``' given ``events`` of ``trials``:
    the score test Wilson's interval inverts, or the exact binomial tail with few events, on the
    t scale when ``dof`` is given. Small: the share is beyond the limit."""
    if trials <= 0 or limit >= 1.0:
        return 1.0
    if limit <= 0.0:
        return 0.0 if events > 0 else 1.0
    if min(events, trials - events) >= EXACT_BELOW:
        z = (events / trials - limit) / math.sqrt(limit * (1.0 - limit) / trials)
    else:
        tail = 1.0 if events <= 0 else regularized_beta(limit, events, trials - events + 1.0)
        if tail <= 0.0:
            return 0.0
        z = _NORMAL.inv_cdf(min(1.0 - 1e-16, max(1e-300, 1.0 - tail)))
    return 1.0 - t_cdf(z, dof)


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularized incomplete beta function (so the binomial and Clopper-Pearson
    exactly: P(Bin(n, p) >= k) = I_p(k, n - k + 1)), by its continued fraction in log space."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                 + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(1.0 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of I_x(a, b) by the modified Lentz method (Numerical Recipes 6.4)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 100_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1.0) < 1e-13:
            break
    return result


def beta_quantile(probability: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = ``probability`` (bisection: I is increasing in x)."""
    low, high = 0.0, 1.0
    for _ in range(45):  # to 3e-14: far below any share a verdict turns on
        middle = (low + high) / 2.0
        low, high = (middle, high) if regularized_beta(middle, a, b) < probability else (low, middle)
    return (low + high) / 2.0


def samples_to_separate(observed: float, limit: float, confidence: float = DEFAULT_CONFIDENCE, *,
                        inflation: float = 1.0, dof: int | None = None, power: float = POWER) -> int | None:
    """How many requests a fresh run needs for its interval around ``observed`` to exclude ``limit``
    with probability ``power`` (about 80%): the least n whose interval (the verdict's own: exact
    or Wilson, on n / ``inflation`` effective samples) at the critical value plus z_power excludes
    the limit. That is (z_(1-a/2) + z_power)^2 * phi * p(1 - p) / gap^2 where the normal
    approximation holds, and right where it does not (few events). None only when the share sits
    exactly on the limit (no sample size decides it)."""
    if abs(observed - limit) <= 1e-12:
        return None
    critical = critical_value(confidence, dof) + _NORMAL.inv_cdf(power)

    def separates(n: int) -> bool:
        effective = n / inflation
        if observed < limit:
            return share_bound(observed * effective, effective, critical, upper=True) < limit
        return share_bound(observed * effective, effective, critical, upper=False) > limit

    # Bracket from the normal approximation's size, so the exact bounds are computed a few times only.
    guess = critical ** 2 * inflation * max(observed * (1.0 - observed), 1e-12) / (observed - limit) ** 2
    high = max(1, math.ceil(guess))
    while not separates(high):
        high *= 2
        if high > 1 << 50:
            return None
    low = high // 2
    while low >= 1 and separates(low):
        high, low = low, low // 2
    while high - low > max(1, high // 100):  # to a percent: an estimate, not a promise
        middle = (low + high) // 2
        low, high = (low, middle) if separates(middle) else (middle, high)
    return high


# -- correlation between slices --------------------------------------------------------------------


@dataclass(frozen=True)
class Dispersion:
    """How much independent information a run's total holds, from the variation between slices.

    ``inflation`` (phi >= 1) is the batch-means variance of the share (or rate) over the binomial
    (Poisson) one: slices that vary more than independent requests would. ``effective`` is n / phi.
    ``dof`` is that of the variance estimated from B batches when phi > 1 (``variance_dof``: B - 1,
    fewer when a few batches carry the deviation), else None (normal).
    """

    samples: float
    effective: float
    inflation: float
    batches: int
    dof: int | None
    change: RegimeChange | None = None
    variance: float | None = None
    """The batch-means variance of the ratio itself (None: fewer than two batches)."""


@dataclass(frozen=True)
class RegimeChange:
    """The first and second halves of a run differ beyond their batch-means intervals."""

    first: float
    second: float


INDEPENDENT = Dispersion(samples=0.0, effective=0.0, inflation=1.0, batches=0, dof=None)


def batches(weights: Sequence[float], amounts: Sequence[float], count: int = BATCHES
            ) -> list[tuple[float, float]]:
    """(weight, amount) of ``count`` batches of consecutive slices with weight (all of them, one
    each, when fewer); slices without weight (no request of the objective) are skipped."""
    kept = [(w, a) for w, a in zip(weights, amounts, strict=True) if w > 0]
    size = min(count, len(kept))
    grouped: list[tuple[float, float]] = []
    for b in range(size):
        part = kept[b * len(kept) // size:(b + 1) * len(kept) // size]
        grouped.append((sum(w for w, _ in part), sum(a for _, a in part)))
    return grouped


def ratio_variance(groups: Sequence[tuple[float, float]]) -> float | None:
    """Batch-means variance of the ratio estimator sum(amount) / sum(weight):
    sum_b (w_b / w_mean)^2 (r_b - r)^2 / (B (B - 1)); None with fewer than two batches."""
    count = len(groups)
    total = sum(w for w, _ in groups)
    if count < 2 or total <= 0:
        return None
    ratio = sum(a for _, a in groups) / total
    mean = total / count
    spread = sum((w / mean) ** 2 * (a / w - ratio) ** 2 for w, a in groups)
    return spread / (count * (count - 1))


def variance_dof(groups: Sequence[tuple[float, float]]) -> int:
    """Degrees of freedom of the batch-means variance (``ratio_variance``): B - 1 when the batches
    deviate like normal ones, fewer when a few batches carry most of the deviation (a run that met
    one or two slow episodes has seen one or two of them, whatever its batch count).

    Satterthwaite's chi-square match with the batches' own kurtosis k = B sum(d^4) / sum(d^2)^2
    (floored at the normal 3): Var(s^2) = sigma^4 (2 / (B - 1) + (k - 3) / B), so
    dof = 2 / (2 / (B - 1) + (k - 3) / B), rounded down, at least 1."""
    count = len(groups)
    total = sum(w for w, _ in groups)
    if count < 2 or total <= 0:
        return 1
    ratio = sum(a for _, a in groups) / total
    mean = total / count
    squares = [((w / mean) * (a / w - ratio)) ** 2 for w, a in groups]
    spread = sum(squares)
    if spread <= 0.0:
        return count - 1
    kurtosis = max(3.0, count * sum(s * s for s in squares) / spread ** 2)
    return max(1, min(count - 1, math.floor(2.0 / (2.0 / (count - 1) + (kurtosis - 3.0) / count) + 1e-9)))


def dispersion(weights: Sequence[float], amounts: Sequence[float], independent_variance: float,
               critical: float) -> Dispersion:
    """phi, n_eff and the degrees of freedom of a ratio sum(amount) / sum(weight) whose variance
    would be ``independent_variance`` if every request were independent (p(1 - p) / n for a share,
    n / seconds^2 for a rate); ``critical`` tests the halves for a regime change."""
    groups = batches(weights, amounts)
    samples = float(sum(weights))
    observed = ratio_variance(groups)
    if observed is None or independent_variance <= 0.0:
        return Dispersion(samples, samples, 1.0, len(groups), None)
    inflation = max(1.0, observed / independent_variance)
    dof = variance_dof(groups) if inflation > 1.0 else None
    return Dispersion(samples, samples / inflation, inflation, len(groups), dof,
                      _regime_change(groups, independent_variance * samples, critical), observed)


def _regime_change(groups: Sequence[tuple[float, float]], unit_variance: float, critical: float
                   ) -> RegimeChange | None:
    """The halves' ratios when they differ by more than ``critical`` of their combined standard
    error (each half's batch-means variance, never below the independent one)."""
    half = len(groups) // 2
    if half < 2:
        return None
    parts = (groups[:half], groups[half:])
    ratios, variances = [], []
    for part in parts:
        weight = sum(w for w, _ in part)
        ratios.append(sum(a for _, a in part) / weight)
        variances.append(max(ratio_variance(part) or 0.0, unit_variance / weight))
    difference = abs(ratios[1] - ratios[0])
    if difference <= critical * math.sqrt(variances[0] + variances[1]):
        return None
    return RegimeChange(ratios[0], ratios[1])


# -- percentiles -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantileInterval:
    """A percentile's estimate and its confidence interval, all in µs (None bounds: unbounded)."""

    estimate: float
    low: float
    high: float | None
    """None when the upper rank is beyond the sample: too few samples to bound it from above."""


def quantile_interval(
    histogram: LatencyHistogram, q: float, confidence: float = DEFAULT_CONFIDENCE, *,
    effective: float | None = None, critical: float | None = None,
) -> QuantileInterval | None:
    """The order-statistic interval of the ``q`` quantile (0 < q < 1); None for an empty histogram.

    The ranks come from the interval of the share q at ``effective`` samples (n by default;
    exact with few samples beyond the quantile) at ``critical`` (normal by default); the bounds are
    read at the lower edge of the low rank's bucket and the upper edge of the high rank's.
    """
    n = histogram.count
    estimate = histogram.quantile(q)
    if n == 0 or estimate is None:
        return None
    trials = float(n) if effective is None else max(1.0, min(float(n), effective))
    low_p, high_p = share_interval(q * trials, trials,
                                   z_value(confidence) if critical is None else critical)
    low_rank = math.floor(low_p * n)
    high_rank = math.ceil(high_p * n) + 1
    low = histogram.bucket_bounds_at(low_rank / n)[0] if low_rank >= 1 else histogram.min
    high = histogram.bucket_bounds_at(high_rank / n)[1] if high_rank <= n else None
    return QuantileInterval(estimate, low, high)


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
