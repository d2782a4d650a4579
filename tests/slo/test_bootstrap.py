"""The block bootstrap over batches of slices: intervals that see episodes and shrink with data."""

from __future__ import annotations

import numpy as np

from benchmarks.baseline_false_alarms import ENDPOINT, MODELS, simulated_run
from slogate.slo.bootstrap import MIN_BATCHES, batches, percentile_change
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.run import RunResult

INDEPENDENT, EPISODES, _ = MODELS


def batch_latencies(run: RunResult) -> list[LatencyHistogram]:
    return [LatencyHistogram.merged(s.endpoints[ENDPOINT].ok for s in group) for group in batches(run.slices)]


def test_batches_are_consecutive_and_even() -> None:
    groups = batches(list(range(45)), 20)
    assert [x for group in groups for x in group] == list(range(45))
    assert len(groups) == 20 and {len(g) for g in groups} == {2, 3}
    assert batches([1, 2, 3], 20) == [[1], [2], [3]]
    assert batches([], 20) == []


def test_the_same_run_twice_is_no_change() -> None:
    run = batch_latencies(simulated_run(120, EPISODES, np.random.default_rng(1)))
    change = percentile_change(run, run, 0.99, alpha=0.05)
    assert change is not None and change.test == "block bootstrap, batch rank test"
    assert change.effect == 0.0 and change.low < 0.0 < change.high and change.p_value > 0.3


def test_a_slower_candidate_is_a_significant_change() -> None:
    rng = np.random.default_rng(2)
    before = batch_latencies(simulated_run(120, INDEPENDENT, rng))
    after = batch_latencies(simulated_run(120, INDEPENDENT, rng, p99_factor=1.5))
    change = percentile_change(before, after, 0.99, alpha=0.05)
    assert change is not None
    assert 0.35 < change.effect < 0.65 and 0.0 < change.low < change.effect < change.high
    assert change.p_value < 0.01
    assert percentile_change(before, [LatencyHistogram()], 0.99, alpha=0.05) is None


def test_the_interval_shrinks_with_more_data() -> None:
    rng = np.random.default_rng(3)

    def width(seconds: int) -> float:
        before, after = (batch_latencies(simulated_run(seconds, EPISODES, rng)) for _ in range(2))
        change = percentile_change(before, after, 0.99, alpha=0.05)
        assert change is not None
        return change.high - change.low

    short, long = width(120), width(1200)
    assert long < 0.6 * short  # ten times the data: about a third of the width


def test_episodes_widen_the_interval_beyond_independent_samples() -> None:
    rng = np.random.default_rng(4)
    widths = {}
    for regimes in (INDEPENDENT, EPISODES):
        before, after = (batch_latencies(simulated_run(600, regimes, rng)) for _ in range(2))
        change = percentile_change(before, after, 0.99, alpha=0.05)
        assert change is not None
        widths[regimes.name] = change.high - change.low
    assert widths[EPISODES.name] > 2 * widths[INDEPENDENT.name]


def test_too_few_batches_resample_the_requests_as_independent() -> None:
    rng = np.random.default_rng(5)
    before, after = (batch_latencies(simulated_run(MIN_BATCHES - 1, INDEPENDENT, rng)) for _ in range(2))
    change = percentile_change(before, after, 0.99, alpha=0.05)
    assert change is not None and change.test == "bootstrap"
    assert change.low < change.effect < change.high  # not degenerate: the requests' own noise
