"""The recorder's histogram against exact nearest-rank percentiles of known samples."""

from __future__ import annotations

import math
import random

import pytest

from slo.histogram import LatencyHistogram

PERCENTILES = (0.5, 0.9, 0.95, 0.99, 0.999)


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def assert_within_one_percent(histogram: LatencyHistogram, values: list[float]) -> None:
    for q in PERCENTILES:
        exact = exact_quantile(values, q)
        measured = histogram.quantile(q)
        assert measured is not None
        assert abs(measured - exact) <= 0.01 * exact, (q, measured, exact)


@pytest.mark.parametrize(
    "name, draw",
    [
        # Sub-millisecond: 20 µs to 900 µs.
        ("sub_ms", lambda rng: rng.uniform(20.0, 900.0)),
        # Multi-second: 1.5 s to 40 s.
        ("multi_s", lambda rng: rng.uniform(1.5e6, 4.0e7)),
        # A long-tailed mix across seven decades.
        ("lognormal", lambda rng: rng.lognormvariate(math.log(20_000.0), 1.5)),
    ],
)
def test_percentiles_within_one_percent_of_exact(name: str, draw: object) -> None:
    rng = random.Random(42)
    values = [draw(rng) for _ in range(50_000)]  # type: ignore[operator]
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)
    assert histogram.count == len(values)
    assert_within_one_percent(histogram, values)
    assert histogram.quantile(1.0) == max(values)


def test_merge_is_lossless() -> None:
    rng = random.Random(7)
    values = [rng.expovariate(1 / 5000.0) for _ in range(20_000)]
    whole = LatencyHistogram()
    parts = [LatencyHistogram() for _ in range(4)]
    for index, value in enumerate(values):
        whole.record(value)
        parts[index % 4].record(value)
    merged = LatencyHistogram()
    for part in parts:
        merged.merge(LatencyHistogram.from_dict(part.to_dict()))
    assert merged.count == whole.count
    for q in PERCENTILES:
        assert merged.quantile(q) == whole.quantile(q)
    assert merged.min == whole.min and merged.max == whole.max


def test_memory_is_bounded_by_value_range_not_count() -> None:
    histogram = LatencyHistogram()
    rng = random.Random(1)
    for _ in range(200_000):
        histogram.record(rng.uniform(1_000.0, 10_000.0))
    # One decade at 0.5% accuracy needs about ln(10)/ln(1.01005) ≈ 230 buckets.
    assert len(histogram.to_dict()["buckets"]) < 240


def test_zero_and_empty() -> None:
    histogram = LatencyHistogram()
    assert histogram.quantile(0.99) is None
    histogram.record(0.2)
    assert histogram.quantile(0.5) == 0.0
    with pytest.raises(ValueError):
        histogram.record(-1.0)
    with pytest.raises(ValueError):
        histogram.record(float("nan"))


def test_count_at_or_below() -> None:
    histogram = LatencyHistogram()
    for value in (100.0, 200.0, 300.0, 400.0):
        histogram.record(value)
    assert histogram.count_at_or_below(250.0) == 2
    assert histogram.count_at_or_below(1e9) == 4


def test_malformed_serialisation_is_a_value_error() -> None:
    good = LatencyHistogram()
    good.record(5.0)
    data = good.to_dict()
    data["count"] = 3
    with pytest.raises(ValueError, match="count does not match"):
        LatencyHistogram.from_dict(data)
    with pytest.raises(ValueError):
        LatencyHistogram.from_dict({"buckets": "x"})


def test_merge_refuses_other_accuracy() -> None:
    with pytest.raises(ValueError):
        LatencyHistogram(0.01).merge(LatencyHistogram(0.005))
