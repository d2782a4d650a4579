"""The recorder's histogram against exact nearest-rank percentiles of known samples."""

from __future__ import annotations

import base64
import json
import math
import random

import numpy as np
import pytest

from slogate.slo.histogram import LatencyHistogram

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


# -- the packed form (run schema 2) -------------------------------------------------------------


def lognormal_histogram(seed: int, count: int = 5_000) -> LatencyHistogram:
    rng = random.Random(seed)
    histogram = LatencyHistogram()
    for _ in range(count):
        histogram.record(rng.lognormvariate(math.log(8_000.0), 0.8))
    histogram.record(0.5)  # the zero bucket travels apart from the packed buckets
    return histogram


def test_packed_round_trip_is_exact() -> None:
    original = lognormal_histogram(1)
    data = original.to_dict(packed=True)
    packed = data["buckets"]
    assert isinstance(packed, dict) and set(packed) == {"first", "n", "gaps", "counts"}
    assert packed["n"] == len(original.to_dict()["buckets"])
    back = LatencyHistogram.from_dict(json.loads(json.dumps(data)))
    assert back == original
    assert back.to_dict() == original.to_dict()  # the pairs form is unchanged
    assert back.to_dict(packed=True) == data
    for q in PERCENTILES:
        assert back.quantile(q) == original.quantile(q)
    assert back.count_at_or_below(10_000.0) == original.count_at_or_below(10_000.0)
    back.record(3_000.0)  # a packed histogram read back still records
    assert back.count == original.count + 1


def test_packed_is_smaller_and_small_histograms_stay_pairs() -> None:
    histogram = lognormal_histogram(2)
    assert len(json.dumps(histogram.to_dict(packed=True))) < len(json.dumps(histogram.to_dict())) / 2
    few = LatencyHistogram()
    for value in (100.0, 5_000.0, 9e6):
        few.record(value)
    assert few.to_dict(packed=True) == few.to_dict()


@pytest.mark.parametrize("per_bucket, width", [(300, 2), (70_000, 4), (1 << 33, None)])
def test_packed_counts_take_the_narrowest_width(per_bucket: int, width: int | None) -> None:
    histogram = LatencyHistogram()
    for value in range(1_000, 1_200, 10):
        histogram.record(float(value), per_bucket)
    data = histogram.to_dict(packed=True)
    if width is None:  # too large for 4 bytes: written as pairs, still exact
        assert isinstance(data["buckets"], list)
    else:
        packed = data["buckets"]
        assert len(base64.b64decode(packed["counts"])) == width * packed["n"]
    assert LatencyHistogram.from_dict(data) == histogram


def test_merged_equals_merging_one_by_one() -> None:
    parts = [lognormal_histogram(seed, 800) for seed in range(6)]
    far = LatencyHistogram()
    far.record(3e7)  # a dict-held histogram with a bucket far from the others
    parts.append(far)
    parts.append(LatencyHistogram())
    packed = [LatencyHistogram.from_dict(p.to_dict(packed=True)) if i % 2 else p for i, p in enumerate(parts)]
    one_by_one = LatencyHistogram()
    for part in parts:
        one_by_one.merge(part)
    merged = LatencyHistogram.merged(packed)
    assert merged == one_by_one
    assert merged.sum == one_by_one.sum  # the same additions in the same order: bit-identical
    # Hundreds of packed histograms: numpy adds them a chunk at a time, the result is the same.
    many = [LatencyHistogram.from_dict(parts[i % 6].to_dict(packed=True)) for i in range(600)]
    expected = LatencyHistogram()
    for part in many:
        expected.merge(part)
    assert LatencyHistogram.merged(many) == expected
    assert LatencyHistogram.merged([]) == LatencyHistogram()
    with pytest.raises(ValueError, match="accuracy"):
        LatencyHistogram.merged([LatencyHistogram(0.01)])


@pytest.mark.parametrize(
    "change, message",
    [
        ({"counts": "not base64!"}, "'counts' is not base64"),
        ({"gaps": 7}, "'gaps' must be a base64 string"),
        ({"n": 0}, "'n' must be a positive integer"),
        ({"n": 8}, "not 1, 2 or 4 per value"),
        ({"first": 1.5}, "'first' must be an integer"),
        ({"gaps": base64.b64encode(bytes(20)).decode()}, "a gap of 0"),
        ({"counts": base64.b64encode(bytes(21)).decode()}, "count does not match"),
    ],
)
def test_malformed_packed_buckets_are_value_errors(change: dict[str, object], message: str) -> None:
    data = LatencyHistogram()
    for k in range(21):
        data.record(1_000.0 * 1.05**k)  # 21 buckets, 5% apart
    serialised = data.to_dict(packed=True)
    assert serialised["buckets"]["n"] == 21
    serialised["buckets"] = {**serialised["buckets"], **change}
    with pytest.raises(ValueError, match="malformed histogram") as raised:
        LatencyHistogram.from_dict(serialised)
    assert message in str(raised.value)
    with pytest.raises(ValueError, match="malformed histogram"):
        LatencyHistogram.from_dict({**serialised, "buckets": {"first": 1}})
    with pytest.raises(ValueError, match="out of range"):  # pairs no merge could add
        LatencyHistogram.from_dict({"count": 10**30, "buckets": [[5, 10**30]]})


def test_values_recorded_in_bulk_equal_recorded_one_by_one() -> None:
    # Random latencies, zeros and sub-µs values, and values on bucket edges (where numpy's log and
    # math's may part in the last bit): the same buckets, counts, extremes as record's.
    rng = random.Random(5)
    one_by_one = LatencyHistogram()
    edges = [one_by_one._gamma ** index for index in range(1, 1200, 7)]
    values = [rng.lognormvariate(9, 2) for _ in range(3000)] + [0.0, 0.4, 1.0] + edges
    values += [math.nextafter(edge, 0) for edge in edges] + [math.nextafter(edge, math.inf) for edge in edges]
    for value in values:
        one_by_one.record(value)
    bulk = LatencyHistogram()
    bulk.record_values(np.array(values[:1000]))
    bulk.record_values(np.array(values[1000:]))
    assert bulk._bucket_counts() == one_by_one._bucket_counts()
    assert (bulk.count, bulk.zero_count, bulk.min, bulk.max) == (
        one_by_one.count, one_by_one.zero_count, one_by_one.min, one_by_one.max)
    assert bulk.sum == pytest.approx(one_by_one.sum, rel=1e-12)
    for bad in ([1.0, -2.0], [math.nan, 1.0]):
        with pytest.raises(ValueError, match="non-negative"):
            LatencyHistogram().record_values(np.array(bad))
