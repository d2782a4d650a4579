"""How two runs differ when a run's requests are not independent: a block bootstrap over its slices.

Requests arrive in episodes (a GC pause, a noisy neighbour, a cache refill): a few seconds of slow
requests hold far less information about the tail than as many independent ones. So the unit of
resampling is not the request but a *batch* of consecutive slices, about ``BATCHES`` of them per run,
long enough that what happens in one batch says little about the next:

- a percentile's change between two runs (:func:`percentile_change`): its interval from each
  run's batches resampled with replacement, ``RESAMPLES`` times, independently for the two runs;
  its p-value from a permutation test of the rank sum of the batches' own percentiles (the pooled
  batches of both runs dealt out again at random), which knows that one slow batch could as well
  have fallen in either run. Each
  resample's percentile is read from the summed bucket counts: the batches' counts are one matrix
  over a bucket index shared by both runs, so a resample is one row of multiplicities times that
  matrix; 1,000 resamples and 1,000 permutations of a 10-minute run take tens of milliseconds.

A run of fewer than ``MIN_BATCHES`` batches cannot show how its slices vary: its requests are then
resampled as if independent (a multinomial over its whole histogram), and the method says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from slogate.slo.histogram import LatencyHistogram
from slogate.slo.units import format_duration

BATCHES = 20
"""Batches of consecutive slices per run: enough resampling units for a stable interval, each long
enough (30 s of a 10-minute run) to hold an episode whole."""

MIN_BATCHES = 5
"""Fewer batches than this show nothing of the variation between slices."""

SPAN = 10
"""A ratio's batches last at least this many correlation times beyond one (``ratio_batch_count``):
then an episode that straddles two batches couples them by about 5% only, and batches of two runs
of one process can be dealt out as exchangeable."""

RESAMPLES = 1000
SEED = 0
"""Resampling is seeded: the same two runs always get the same verdict."""

_Item = TypeVar("_Item")
_Matrix = npt.NDArray[np.float64]


def batches(items: Sequence[_Item], count: int = BATCHES) -> list[list[_Item]]:
    """``items`` (in time order) as at most ``count`` groups of consecutive ones, sizes differing by
    at most one; as many groups as items when there are fewer."""
    groups = min(count, len(items))
    if groups == 0:
        return []
    size, extra = divmod(len(items), groups)
    bounds = [i * size + min(i, extra) for i in range(groups + 1)]
    return [list(items[bounds[i]:bounds[i + 1]]) for i in range(groups)]


@dataclass(frozen=True)
class Change:
    """The relative change of a statistic from a baseline run to a candidate, ``candidate /
    baseline - 1`` (positive: the candidate is worse), with an interval and a one-sided p-value."""

    effect: float
    low: float
    """The one-sided lower bound at the test's level: above 0 means 'worse' is not chance."""
    high: float
    confidence: float
    """Of the two-sided interval (low, high): 1 - 2 alpha, so its lower end is the one-sided bound."""
    p_value: float
    """One-sided: how plausible 'the candidate is not worse' is."""
    test: str


def percentile_change(
    baseline: Sequence[LatencyHistogram],
    candidate: Sequence[LatencyHistogram],
    q: float,
    *,
    alpha: float,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Change | None:
    """The change of the ``q`` quantile from ``baseline`` to ``candidate``, each given as one
    histogram per batch (:func:`batches`), by bootstrap; None when either run has no latencies."""
    if not (sum(h.count for h in baseline) and sum(h.count for h in candidate)):
        return None
    index = _BucketIndex.of([*baseline, *candidate])
    rng = np.random.default_rng(seed)
    runs = [index.matrix(baseline), index.matrix(candidate)]
    before, after = (_resampled_quantiles(run, index.values, q, resamples, rng) for run in runs)
    point_before, point_after = (_quantiles(run.sum(axis=0, keepdims=True), index.values, q) for run in runs)
    changes = _relative(after, before)
    low, high = (float(v) for v in np.quantile(changes, [alpha, 1.0 - alpha], method="inverted_cdf"))
    effect = float(_relative(point_after, point_before)[0])
    if min(len(baseline), len(candidate)) >= MIN_BATCHES:
        p_value = _permutation_p(runs, index.values, q, resamples, rng)
        test = "block bootstrap, batch rank test"
    else:
        p_value = (int(np.count_nonzero(changes <= 0.0)) + 1) / (resamples + 1)
        test = "bootstrap"
    return Change(effect=effect, low=low, high=high, confidence=1.0 - 2.0 * alpha, p_value=p_value,
                  test=test)


def ratio_batch_count(*runs: tuple[Sequence[float], Sequence[float]]) -> int:
    """How many batches the ratio comparison cuts each run into: ``BATCHES``, fewer (never below
    ``MIN_BATCHES``) when the runs' slices are correlated, so each batch lasts ``SPAN`` times the
    slices' integrated correlation time beyond one (``correlation_time``). Each run is given as
    (events, bad events) per slice; the shorter run and the longer correlation decide."""
    counts = []
    for events, bad in runs:
        excess = correlation_time(events, bad) - 1.0
        counts.append(len(events) if excess <= 0.0 else math.floor(len(events) / (SPAN * excess)))
    return max(MIN_BATCHES, min(BATCHES, *counts))


def correlation_time(events: Sequence[float], bad: Sequence[float]) -> float:
    """The integrated autocorrelation time, in slices, of the bad events' excess over the run's
    ratio: 1 + 2 (rho_1 + rho_2 + ...), summed while the autocorrelations stay positive (Geyer's
    initial positive sequence) and up to a quarter of the run. 1 for independent slices."""
    weights, amounts = np.asarray(events, np.float64), np.asarray(bad, np.float64)
    if weights.sum() <= 0.0 or len(weights) < 8:
        return 1.0
    excess = amounts - weights * (amounts.sum() / weights.sum())
    variance = float(excess @ excess)
    if variance <= 0.0:
        return 1.0
    total = 1.0
    for lag in range(1, len(excess) // 4):
        rho = float(excess[:-lag] @ excess[lag:]) / variance
        if rho <= 0.0:
            break
        total += 2.0 * rho
    return total


def ratio_change(
    baseline: Sequence[tuple[float, float]],
    candidate: Sequence[tuple[float, float]],
    *,
    alpha: float,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Change | None:
    """The change of a bad-event ratio from ``baseline`` to ``candidate``, each given as (events,
    bad events) per batch (:func:`batches`), relative to the baseline's ratio (infinite from 0);
    None when either run has no events or fewer than ``MIN_BATCHES`` batches.

    The p-value is a permutation test of the difference of the two ratios, the pooled batches of
    both runs dealt out again at random: exact when the batches are exchangeable (two runs of one
    process), however unevenly slow episodes fall among them. The interval resamples each run's
    batches with replacement, independently."""
    if min(len(baseline), len(candidate)) < MIN_BATCHES:
        return None
    runs = [np.asarray(run, np.float64).reshape(-1, 2) for run in (baseline, candidate)]
    if not (runs[0][:, 0].sum() > 0 and runs[1][:, 0].sum() > 0):
        return None
    rng = np.random.default_rng(seed)
    before, after = (_resampled_ratios(run, resamples, rng) for run in runs)
    changes = _relative(after, before)
    low, high = (float(v) for v in np.quantile(changes, [alpha, 1.0 - alpha], method="inverted_cdf"))
    point = [run[:, 1].sum() / run[:, 0].sum() for run in runs]
    pooled = np.vstack(runs)
    dealt = rng.random((resamples, len(pooled))).argsort(axis=1)
    taken = np.zeros((resamples, len(pooled)), np.float64)
    np.put_along_axis(taken, dealt[:, :len(runs[1])], 1.0, axis=1)
    differences = _ratio_difference(taken, pooled)
    observed = point[1] - point[0]
    p_value = (int(np.count_nonzero(differences >= observed - 1e-12)) + 1) / (resamples + 1)
    effect = float(_relative(np.array([point[1]]), np.array([point[0]]))[0])
    return Change(effect=effect, low=low, high=high, confidence=1.0 - 2.0 * alpha, p_value=p_value,
                  test="block bootstrap, batch permutation test")


def _resampled_ratios(run: _Matrix, resamples: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """The bad-event ratio of ``resamples`` resamples of a run's batches (rows: events, bad)."""
    groups = len(run)
    chosen = rng.multinomial(groups, np.full(groups, 1.0 / groups), size=resamples).astype(np.float64)
    events, bad = chosen @ run[:, 0], chosen @ run[:, 1]
    return np.asarray(np.where(events > 0, bad / np.maximum(events, 1.0), 0.0))


def _ratio_difference(taken: _Matrix, pooled: _Matrix) -> npt.NDArray[np.float64]:
    """Per row of ``taken`` (1: the batch goes to the candidate): the candidate's ratio minus the
    baseline's, of the pooled batches (rows: events, bad)."""
    events, bad = taken @ pooled[:, 0], taken @ pooled[:, 1]
    rest_events, rest_bad = pooled[:, 0].sum() - events, pooled[:, 1].sum() - bad
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = (np.where(events > 0, bad / events, 0.0)
                      - np.where(rest_events > 0, rest_bad / rest_events, 0.0))
    return np.asarray(difference)


def batch_description(batch_count: int, batch_s: float) -> str:
    """'20 batches of 30s' (or 'requests as independent' below ``MIN_BATCHES``)."""
    if batch_count < MIN_BATCHES:
        return "requests as independent (too few slices to see their variation)"
    return f"{batch_count} batches of {format_duration(batch_s)}"


# -- the resampling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _BucketIndex:
    """The buckets of several histograms on one axis: column 0 is the zero bucket, then every bucket
    index any of them holds, ascending; ``values`` is each column's representative latency (µs)."""

    columns: dict[int, int]
    values: npt.NDArray[np.float64]

    @classmethod
    def of(cls, histograms: Sequence[LatencyHistogram]) -> _BucketIndex:
        indices = sorted({int(i) for h in histograms for i, _ in _buckets(h)})
        gamma = (1.0 + histograms[0].relative_accuracy) / (1.0 - histograms[0].relative_accuracy)
        # The histogram's own representative value: equally far, relatively, from both bucket ends.
        values = np.concatenate(([0.0], 2.0 * gamma ** np.array(indices, np.float64) / (gamma + 1.0)))
        return cls({index: column + 1 for column, index in enumerate(indices)}, values)

    def matrix(self, histograms: Sequence[LatencyHistogram]) -> _Matrix:
        """One row of bucket counts per histogram (float64: exact below 2**53, and BLAS multiplies it)."""
        rows = np.zeros((len(histograms), len(self.values)), np.float64)
        for row, histogram in enumerate(histograms):
            rows[row, 0] = histogram.zero_count
            for index, count in _buckets(histogram):
                rows[row, self.columns[int(index)]] = count
        return rows


def _buckets(histogram: LatencyHistogram) -> list[Any]:
    buckets: list[Any] = histogram.to_dict()["buckets"]
    return buckets


def _resampled_quantiles(
    counts: _Matrix, values: npt.NDArray[np.float64], q: float, resamples: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """The ``q`` quantile of ``resamples`` resamples of a run whose batches are the rows of ``counts``."""
    groups = len(counts)
    if groups >= MIN_BATCHES:
        # Each resample draws ``groups`` batches with replacement: how often each is drawn, times its counts.
        chosen = rng.multinomial(groups, np.full(groups, 1.0 / groups), size=resamples).astype(np.float64)
        return _quantiles(*_around_quantiles(counts, values, q), q, chosen)
    whole = counts.sum(axis=0)
    drawn = rng.multinomial(int(whole.sum()), whole / whole.sum(), size=resamples).astype(np.float64)
    return _quantiles(drawn, values, q)


def _permutation_p(
    runs: list[_Matrix], values: npt.NDArray[np.float64], q: float, resamples: int, rng: np.random.Generator
) -> float:
    """Are the candidate's batches slower at the ``q`` quantile than the baseline's? A permutation
    test of the rank sum of each batch's own quantile: exact when the batches of the two runs are
    exchangeable, which is what 'the same process' means. Unlike the bootstrap, it knows that one
    slow batch could as well have fallen in either run."""
    per_batch = [_quantiles(run, values, q) for run in runs]
    before, after = (quantiles[~np.isnan(quantiles)] for quantiles in per_batch)
    pooled = np.concatenate((before, after))
    if not len(before) or not len(after):
        return 1.0
    # Average ranks, so tied batches (the same bucket) count alike.
    _, inverse, counts = np.unique(pooled, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    observed = ranks[len(before):].sum()
    dealt = rng.random((resamples, len(pooled))).argsort(axis=1)[:, :len(after)]
    return (int(np.count_nonzero(ranks[dealt].sum(axis=1) >= observed - 1e-9)) + 1) / (resamples + 1)


def _around_quantiles(
    counts: _Matrix, values: npt.NDArray[np.float64], q: float
) -> tuple[_Matrix, npt.NDArray[np.float64]]:
    """``counts`` with the buckets below every batch's own ``q`` quantile added into one, and those
    above every batch's into one. A sum of batches has its quantile between the lowest and the
    highest of theirs, so no resample's quantile changes, and a resample reads tens of buckets
    rather than hundreds."""
    filled = counts[counts.sum(axis=1) > 0]
    if not len(filled):
        return counts, values
    columns = _quantile_columns(filled, q)
    low, high = int(columns.min()), int(columns.max())
    kept = np.hstack([counts[:, :low].sum(axis=1, keepdims=True), counts[:, low:high + 1],
                      counts[:, high + 1:].sum(axis=1, keepdims=True)])
    return kept, np.concatenate(([values[low]], values[low:high + 1], [values[high]]))


def _quantiles(
    counts: _Matrix, values: npt.NDArray[np.float64], q: float, weights: _Matrix | None = None
) -> npt.NDArray[np.float64]:
    """The nearest-rank ``q`` quantile of each row of bucket counts, or of each row of ``weights``
    times the counts (NaN for an empty row)."""
    summed = counts if weights is None else weights @ counts
    return np.where(summed.sum(axis=1) > 0, values[_quantile_columns(summed, q)], np.nan)


def _quantile_columns(counts: _Matrix, q: float) -> npt.NDArray[np.intp]:
    """The bucket (column) of the nearest-rank ``q`` quantile of each row of counts."""
    ranks = np.maximum(1.0, np.ceil(q * counts.sum(axis=1) - 1e-9))
    return np.asarray((counts.cumsum(axis=1) >= ranks[:, None]).argmax(axis=1))


def _relative(after: npt.NDArray[np.float64], before: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``after / before - 1``; +inf where only the baseline is 0, 0 where both are (or either is NaN:
    an empty resample shows no change)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(before > 0.0, after / before - 1.0, np.where(after > 0.0, np.inf, 0.0))
    return np.nan_to_num(change, nan=0.0, posinf=np.inf)

