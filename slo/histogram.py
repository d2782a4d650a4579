"""A mergeable latency histogram with bounded relative error (a log-bucketed sketch).

Every value lands in bucket ``i = ceil(log_gamma(v))`` with ``gamma = (1 + a) / (1 - a)``; the
bucket's representative value is within a relative error ``a`` of every value in it. So a
quantile read from the histogram is within ``a`` of the exact nearest-rank quantile of the
recorded values, whatever their spread, and memory grows with the logarithm of the value range,
never with the number of values. Two histograms with the same accuracy merge by adding counts,
which is what makes Locust workers' histograms combine losslessly on the master.

Values are microseconds. Anything below one microsecond counts in a zero bucket.

Serialised form (:meth:`LatencyHistogram.to_dict`): plain JSON numbers for ``relative_accuracy``,
``count``, ``sum_us``, ``min_us``, ``max_us`` and ``zero_count``, and ``buckets`` in one of two forms,
both read by :meth:`LatencyHistogram.from_dict`:

- a list of ``[index, count]`` pairs, ascending by index (the only form of run schema 1, still written
  for histograms of fewer than ``PACK_MIN_BUCKETS`` buckets, where packing saves nothing, and for
  counts or gaps too large for 4 bytes);
- packed (``to_dict(packed=True)``, run schema 2): an object ``{"first": i0, "n": n, "gaps": G,
  "counts": C}``. ``G`` is the base64 (RFC 4648, padded) of the ``n - 1`` differences between
  consecutive bucket indices (each >= 1), ``C`` the base64 of the ``n`` counts, each an unsigned
  little-endian integer of 1, 2 or 4 bytes (the width is the byte length divided by the number of
  values: the narrowest that holds the largest). So the bucket indices are ``i0``, ``i0 + G[0]``,
  ``i0 + G[0] + G[1]``... The 280 buckets of a second of 1,000 requests take 800 characters instead
  of 2,850, and decode with two ``numpy.frombuffer`` calls rather than 560 JSON numbers.

A packed histogram read back stays packed in memory (two small arrays) until something needs its
buckets one by one; :meth:`LatencyHistogram.merged` adds many of them with numpy, a few numpy calls per
256 histograms rather than a dict update per bucket, which is what keeps evaluating an hour of
one-second slices in seconds.
"""

from __future__ import annotations

import binascii
import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

DEFAULT_RELATIVE_ACCURACY = 0.005
"""Half a percent: comfortably inside the 1% the design asks for at every percentile."""

PACK_MIN_BUCKETS = 9
"""Histograms with fewer buckets are written as [index, count] pairs even when packing: as short."""

_Indices = npt.NDArray[np.int64]
_Counts = npt.NDArray[np.integer[Any]]
_WIDTHS: dict[int, np.dtype[Any]] = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}
_MAX_FIRST = 1 << 52
_MAX_COUNT = 1 << 52
_EXACT_IN_FLOAT = 1 << 53
_NO_GAP = np.zeros(1, np.uint8)
_ceil, _log = math.ceil, math.log
_MERGE_CHUNK = 256
"""Packed histograms added per numpy pass: 256 seconds of one endpoint fit the CPU cache."""


class _PackedBuckets(NamedTuple):
    """Buckets as arrays: the first index, the n - 1 gaps to the next ones (>= 1), the n counts."""

    first: int
    gaps: npt.NDArray[np.integer[Any]]
    counts: _Counts

    @classmethod
    def of(cls, buckets: tuple[_Indices, _Counts]) -> _PackedBuckets | None:
        """Packed ascending unique buckets; None for none (a histogram of zero-count buckets)."""
        indices, counts = buckets
        return cls(int(indices[0]), np.diff(indices), counts) if len(indices) else None

    def indices(self) -> _Indices:
        indices = np.empty(len(self.counts), np.int64)
        indices[0] = self.first
        indices[1:] = self.gaps.cumsum(dtype=np.int64)
        indices[1:] += self.first
        return indices


class HistogramMismatchError(ValueError):
    """Raised when merging histograms recorded at different accuracies."""


class LatencyHistogram:
    """Counts of latency values (µs) in logarithmic buckets; quantiles with bounded error."""

    __slots__ = (
        "_buckets",
        "_gamma",
        "_log_gamma",
        "_packed",
        "count",
        "max",
        "min",
        "relative_accuracy",
        "sum",
        "zero_count",
    )

    def __init__(self, relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy must be in (0, 1), got {relative_accuracy!r}")
        self.relative_accuracy = relative_accuracy
        self._gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy)
        self._log_gamma = math.log(self._gamma)
        self._buckets: dict[int, int] = {}
        # Bucket indices (ascending, unique) and their counts, while the buckets are not in _buckets:
        # a histogram read packed or built by merged() stays two arrays until read bucket by bucket.
        self._packed: _PackedBuckets | None = None
        self.zero_count = 0
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    def _bucket_counts(self) -> dict[int, int]:
        """The buckets as a dict, unpacking them (once) if they are still arrays."""
        if self._packed is not None:
            self._buckets = dict(zip(self._packed.indices().tolist(), self._packed.counts.tolist(),
                                     strict=True))
            self._packed = None
        return self._buckets

    def _bucket_arrays(self) -> tuple[_Indices, _Counts]:
        """The buckets as (indices, counts) arrays, ascending, without unpacking a packed histogram."""
        if self._packed is not None:
            return self._packed.indices(), self._packed.counts
        indices = np.fromiter(sorted(self._buckets), np.int64, len(self._buckets))
        counts = np.fromiter((self._buckets[i] for i in indices.tolist()), np.int64, len(indices))
        return indices, counts

    # -- recording ---------------------------------------------------------------------------

    def record(self, value_us: float, count: int = 1) -> None:
        """Add ``count`` observations of ``value_us`` microseconds (negative values are errors)."""
        # Once per request of a run: the common case (>= 1 µs) tested first, math's functions bound.
        if value_us >= 1.0:
            buckets = self._buckets if self._packed is None else self._bucket_counts()
            index = _ceil(_log(value_us) / self._log_gamma)
            buckets[index] = buckets.get(index, 0) + count
        elif value_us >= 0.0:
            self.zero_count += count
        else:  # negative or NaN
            raise ValueError(f"latency must be a non-negative number of µs, got {value_us!r}")
        self.count += count
        self.sum += value_us * count
        if value_us < self.min:
            self.min = value_us
        if value_us > self.max:
            self.max = value_us

    def record_values(self, values_us: npt.NDArray[np.float64]) -> None:
        """Add one observation of each of ``values_us``: ``record`` of each, in bulk (numpy), for
        many values at once (a batch of streams' inter-token gaps)."""
        if not values_us.size:
            return
        low, high, total = float(values_us.min()), float(values_us.max()), float(values_us.sum())
        if not low >= 0.0 or math.isnan(total):
            raise ValueError(f"latencies must be non-negative numbers of µs, got {low!r}")
        positive = values_us[values_us >= 1.0]
        if positive.size:
            ratios = np.log(positive) / self._log_gamma
            indices = np.ceil(ratios)
            # numpy's log may differ from math's in the last bit: where that could move a value to
            # the next bucket (its ratio next to an integer), the bucket is found as record does.
            near = np.abs(ratios - np.rint(ratios)) < 1e-9
            if near.any():
                indices[near] = [_ceil(_log(value) / self._log_gamma) for value in positive[near].tolist()]
            found, counts = np.unique(indices.astype(np.int64), return_counts=True)
            buckets = self._buckets if self._packed is None else self._bucket_counts()
            for index, count in zip(found.tolist(), counts.tolist(), strict=True):
                buckets[index] = buckets.get(index, 0) + count
        self.zero_count += int(values_us.size - positive.size)
        self.count += int(values_us.size)
        self.sum += total
        if low < self.min:
            self.min = low
        if high > self.max:
            self.max = high

    def pack(self) -> None:
        """Keep the buckets as two small arrays instead of a dict (a closed slice's histograms,
        which will only be read or merged again). Recording into it later unpacks it."""
        if self._packed is None and len(self._buckets) >= PACK_MIN_BUCKETS:
            gaps_and_counts = _PackedBuckets.of(self._bucket_arrays())
            if gaps_and_counts is not None:
                gaps = gaps_and_counts.gaps
                narrow = gaps.astype(np.uint16) if int(gaps.max(initial=0)) < 65_536 else gaps
                self._packed = gaps_and_counts._replace(gaps=narrow)
                self._buckets = {}

    def merge(self, other: LatencyHistogram) -> None:
        """Add every observation of ``other`` to this histogram (lossless)."""
        self._check_accuracy(other)
        buckets = self._bucket_counts()
        if other._packed is not None:
            pairs: Iterable[tuple[int, int]] = zip(
                other._packed.indices().tolist(), other._packed.counts.tolist(), strict=True
            )
        else:
            pairs = other._buckets.items()
        for index, bucket_count in pairs:
            buckets[index] = buckets.get(index, 0) + bucket_count
        self._add_totals(other)

    @classmethod
    def merged(
        cls, histograms: Iterable[LatencyHistogram], relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY
    ) -> LatencyHistogram:
        """A new histogram of every observation of ``histograms`` (of ``relative_accuracy``).

        The same result as merging them one by one into an empty histogram, in their order (so even
        the float sum is identical), but the buckets are added in one numpy pass, not one dict
        update per bucket: for thousands of one-second slices this is most of an evaluation.
        """
        # The loop stays in Python only for the totals; the buckets of packed histograms are added
        # by numpy, a chunk at a time (so the arrays stay in the CPU cache, whatever the run length).
        steps: list[npt.NDArray[np.integer[Any]]] = []
        firsts: list[int] = []
        sizes: list[int] = []
        count_parts: list[_Counts] = []
        added: list[tuple[_Indices, _Counts]] = []
        loose_indices: list[int] = []
        loose_counts: list[int] = []
        zero_count = count = 0
        total_sum = 0.0
        low, high = math.inf, -math.inf
        for histogram in histograms:
            if histogram.relative_accuracy != relative_accuracy:
                raise HistogramMismatchError(
                    f"cannot merge histograms of accuracy {histogram.relative_accuracy} "
                    f"into {relative_accuracy}"
                )
            packed = histogram._packed
            if packed is not None:
                first, gaps, counts = packed
                steps += (_NO_GAP, gaps)
                firsts.append(first)
                sizes.append(len(counts))
                count_parts.append(counts)
                if len(firsts) == _MERGE_CHUNK:
                    added.append(_add_packed(steps, firsts, sizes, count_parts))
                    steps, firsts, sizes, count_parts = [], [], [], []
            else:
                loose_indices += histogram._buckets.keys()
                loose_counts += histogram._buckets.values()
            zero_count += histogram.zero_count
            count += histogram.count
            total_sum += histogram.sum
            # Same comparisons as min() and max() in merge(), so the same extremes.
            if histogram.min < low:
                low = histogram.min
            if histogram.max > high:
                high = histogram.max
        total = cls(relative_accuracy)
        total.zero_count, total.count, total.sum, total.min, total.max = (
            zero_count, count, total_sum, low, high
        )
        if firsts:
            added.append(_add_packed(steps, firsts, sizes, count_parts))
        if loose_indices:
            added.append((np.array(loose_indices, np.int64), np.array(loose_counts, np.int64)))
        if len(added) == 1 and not loose_indices:
            total._packed = _PackedBuckets.of(added[0])
        elif added:
            total._packed = _PackedBuckets.of(_add_buckets(
                np.concatenate([indices for indices, _ in added]),
                np.concatenate([counts for _, counts in added]),
            ))
        return total

    def _check_accuracy(self, other: LatencyHistogram) -> None:
        if other.relative_accuracy != self.relative_accuracy:
            raise HistogramMismatchError(
                f"cannot merge histograms of accuracy {other.relative_accuracy} "
                f"into {self.relative_accuracy}"
            )

    def _add_totals(self, other: LatencyHistogram) -> None:
        self.zero_count += other.zero_count
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> LatencyHistogram:
        clone = LatencyHistogram(self.relative_accuracy)
        clone.merge(self)
        return clone

    # -- reading -----------------------------------------------------------------------------

    def quantile(self, q: float) -> float | None:
        """The nearest-rank ``q`` quantile (0 < q <= 1) in µs, or None when empty."""
        if not 0.0 < q <= 1.0:
            raise ValueError(f"quantile must be in (0, 1], got {q!r}")
        if self.count == 0:
            return None
        rank = max(1, math.ceil(q * self.count - 1e-9))
        seen = self.zero_count
        if seen >= rank:
            return 0.0
        buckets = self._bucket_counts()
        for index in sorted(buckets):
            seen += buckets[index]
            if seen >= rank:
                # Clamping to the exact extremes makes p0/p100 exact and never hurts accuracy.
                return min(max(self._representative(index), self.min), self.max)
        return self.max  # unreachable unless counts were tampered with

    def count_at_or_below(self, value_us: float) -> int:
        """How many observations are at most ``value_us`` (bucket-exact, within the accuracy)."""
        if value_us < 1.0:
            return self.zero_count if value_us >= 0.0 else 0
        limit = math.ceil(math.log(value_us) / self._log_gamma)
        return self.zero_count + sum(c for i, c in self._bucket_counts().items() if i <= limit)

    def bucket_bounds_at(self, q: float) -> tuple[float, float]:
        """The bounds (lower, upper] in µs of the bucket holding the nearest-rank ``q`` quantile,
        within the exact extremes: every value of that rank lies between them."""
        if not 0.0 < q <= 1.0:
            raise ValueError(f"quantile must be in (0, 1], got {q!r}")
        if self.count == 0:
            raise ValueError("an empty histogram has no buckets")
        rank = max(1, math.ceil(q * self.count - 1e-9))
        if self.zero_count >= rank:
            return 0.0, min(1.0, self.max)
        indices, counts = self._bucket_arrays()
        position = int(np.searchsorted(np.cumsum(counts), rank - self.zero_count))
        index = int(indices[min(position, len(indices) - 1)])
        lower, upper = self._bucket_edges(index)
        return max(lower, self.min), min(upper, self.max)

    def split_at(self, value_us: float) -> tuple[int, int, int]:
        """(surely at or below, in the bucket holding ``value_us`` and so on either side, surely
        above): counted from bucket bounds, never from representative values."""
        if self.count == 0:
            return 0, 0, 0
        if self.max <= value_us:
            return self.count, 0, 0
        if self.min > value_us:
            return 0, 0, self.count
        if value_us < 1.0:
            return 0, self.zero_count, self.count - self.zero_count
        indices, counts = self._bucket_arrays()
        holding = math.ceil(math.log(value_us) / self._log_gamma)
        below = self.zero_count + int(counts[indices < holding].sum())
        straddling = int(counts[indices == holding].sum())
        if math.isclose(self._bucket_edges(holding)[1], value_us, rel_tol=1e-12):
            below, straddling = below + straddling, 0  # the value is the bucket's upper bound
        return below, straddling, self.count - below - straddling

    def bucket_of(self, value_us: float) -> tuple[float, float]:
        """The bounds (lower, upper] in µs of the bucket a value of ``value_us`` would land in."""
        if value_us < 1.0:
            return 0.0, 1.0
        return self._bucket_edges(math.ceil(math.log(value_us) / self._log_gamma))

    def _bucket_edges(self, index: int) -> tuple[float, float]:
        return math.exp((index - 1) * self._log_gamma), math.exp(index * self._log_gamma)

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def _representative(self, index: int) -> float:
        # The point of (gamma^(i-1), gamma^i] whose relative distance to both ends is equal.
        return 2.0 * math.exp(index * self._log_gamma) / (self._gamma + 1.0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyHistogram):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        buckets = len(self._packed.counts) if self._packed is not None else len(self._buckets)
        return f"LatencyHistogram(count={self.count}, buckets={buckets})"

    # -- stable JSON form --------------------------------------------------------------------

    def to_dict(self, *, packed: bool = False) -> dict[str, Any]:
        """The JSON form; ``packed`` writes the buckets packed (see the module doc) when it pays."""
        buckets: list[list[int]] | dict[str, Any] | None = None
        if packed:
            buckets = _pack(*self._bucket_arrays())
        if buckets is None:
            indices, counts = self._bucket_arrays()
            buckets = [[i, c] for i, c in zip(indices.tolist(), counts.tolist(), strict=True)]
        return {
            "relative_accuracy": self.relative_accuracy,
            "count": self.count,
            "sum_us": self.sum,
            "min_us": self.min if self.count else None,
            "max_us": self.max if self.count else None,
            "zero_count": self.zero_count,
            "buckets": buckets,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        """Rebuild a histogram from :meth:`to_dict` output (either form); ValueError on bad data."""
        try:
            histogram = cls(float(data.get("relative_accuracy", DEFAULT_RELATIVE_ACCURACY)))
            buckets: Any = data.get("buckets", [])
            if isinstance(buckets, Mapping):
                histogram._packed = _unpack(buckets)
                in_buckets = int(np.add.reduce(histogram._packed.counts, dtype=np.uint64))
            else:
                for index, bucket_count in buckets:
                    if int(bucket_count) < 0:
                        raise ValueError("negative bucket count")
                    # Merges add buckets as 64-bit integers: refuse what no run can hold.
                    if int(bucket_count) > _MAX_COUNT or abs(int(index)) > _MAX_FIRST:
                        raise ValueError(f"bucket [{index}, {bucket_count}] out of range")
                    histogram._buckets[int(index)] = int(bucket_count)
                in_buckets = sum(histogram._buckets.values())
            histogram.zero_count = int(data.get("zero_count", 0))
            histogram.count = int(data["count"])
            histogram.sum = float(data.get("sum_us", 0.0))
            if histogram.count:
                histogram.min = float(data["min_us"])
                histogram.max = float(data["max_us"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed histogram: {exc}") from exc
        if histogram.count != histogram.zero_count + in_buckets:
            raise ValueError("malformed histogram: count does not match its buckets")
        return histogram


def _add_packed(
    steps: list[npt.NDArray[np.integer[Any]]], firsts: list[int], sizes: list[int], counts: list[_Counts]
) -> tuple[_Indices, _Counts]:
    """The summed buckets of packed histograms, given as their gaps each behind a 0, their first
    indices, sizes and counts. Each one's indices are its first plus a cumulative sum of its gaps,
    so one cumulative sum over all of them, less what the earlier ones added, gives them all."""
    running = np.concatenate(steps, dtype=np.int64).cumsum()
    size_array = np.array(sizes, np.int64)
    starts = size_array.cumsum() - size_array
    indices = running + np.repeat(np.array(firsts, np.int64) - running[starts], size_array)
    return _add_buckets(indices, np.concatenate(counts))


def _add_buckets(indices: _Indices, counts: _Counts) -> tuple[_Indices, _Counts]:
    """Unique ascending bucket indices and their summed counts, from indices that may repeat."""
    low, high = int(indices.min()), int(indices.max())
    if high - low < 4 * len(indices) + 65_536:
        # Dense: one slot per bucket in the range (a few thousand at most for real latencies).
        unique, slots = None, indices - low
    else:
        # Indices spread too far for a dense array (only a very fine accuracy does this): sort them.
        unique, slots = np.unique(indices, return_inverse=True)
    if int(counts.sum(dtype=np.uint64)) < _EXACT_IN_FLOAT:
        # bincount adds in float64, exact below 2**53, and is several times faster than add.at.
        totals = np.bincount(slots, weights=counts).astype(np.int64)
    else:
        totals = np.zeros(int(slots.max()) + 1, np.int64)
        np.add.at(totals, slots, counts)
    if unique is not None:
        return unique, totals
    present = np.flatnonzero(totals)
    return present + low, totals[present]


def _width(largest: int) -> int | None:
    """The narrowest packed integer width (bytes) that holds ``largest``; None when none does."""
    for width in (1, 2, 4):
        if largest < 1 << (8 * width):
            return width
    return None


def _pack(indices: _Indices, counts: _Counts) -> dict[str, Any] | None:
    """The packed form of ascending buckets; None when pairs are as short or a value does not fit."""
    if len(indices) < PACK_MIN_BUCKETS:
        return None
    gaps = np.diff(indices)
    gap_width = _width(int(gaps.max()))
    count_width = _width(int(counts.max()))
    if gap_width is None or count_width is None or int(counts.min()) < 0:
        return None
    return {
        "first": int(indices[0]),
        "n": len(indices),
        "gaps": binascii.b2a_base64(gaps.astype(_WIDTHS[gap_width]).tobytes(), newline=False).decode(),
        "counts": binascii.b2a_base64(counts.astype(_WIDTHS[count_width]).tobytes(), newline=False)
        .decode(),
    }


def _unpack(packed: Mapping[str, Any]) -> _PackedBuckets:
    """Bucket indices and counts of the packed form; ValueError naming what is wrong."""
    first, size = packed["first"], packed["n"]
    if not isinstance(first, int) or isinstance(first, bool) or abs(first) > _MAX_FIRST:
        raise ValueError(f"packed buckets: 'first' must be an integer, got {first!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"packed buckets: 'n' must be a positive integer, got {size!r}")
    gaps = _decode(packed["gaps"], size - 1, "gaps")
    counts = _decode(packed["counts"], size, "counts")
    # One-byte gaps (the usual) are checked on their bytes: several times quicker than numpy's all().
    if b"\0" in gaps.tobytes() if gaps.itemsize == 1 else not np.logical_and.reduce(gaps):
        raise ValueError("packed buckets: a gap of 0 (bucket indices must increase)")
    return _PackedBuckets(first, gaps, counts)


def _decode(text: Any, values: int, field: str) -> npt.NDArray[np.unsignedinteger[Any]]:
    if not isinstance(text, str):
        raise ValueError(f"packed buckets: {field!r} must be a base64 string")
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error as exc:
        raise ValueError(f"packed buckets: {field!r} is not base64 ({exc})") from None
    if values == 0:
        if raw:
            raise ValueError(f"packed buckets: {field!r} holds {len(raw)} bytes for no values")
        return np.zeros(0, np.uint8)
    width, rest = divmod(len(raw), values)
    if rest or width not in _WIDTHS:
        raise ValueError(
            f"packed buckets: {field!r} holds {len(raw)} bytes, not 1, 2 or 4 per value of {values}"
        )
    return np.frombuffer(raw, _WIDTHS[width])
