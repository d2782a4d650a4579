"""A mergeable latency histogram with bounded relative error (a log-bucketed sketch).

Every value lands in bucket ``i = ceil(log_gamma(v))`` with ``gamma = (1 + a) / (1 - a)``; the
bucket's representative value is within a relative error ``a`` of every value in it. So a
quantile read from the histogram is within ``a`` of the exact nearest-rank quantile of the
recorded values, whatever their spread, and memory grows with the logarithm of the value range,
never with the number of values. Two histograms with the same accuracy merge by adding counts,
which is what makes Locust workers' histograms combine losslessly on the master.

Values are microseconds. Anything below one microsecond counts in a zero bucket.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_RELATIVE_ACCURACY = 0.005
"""Half a percent: comfortably inside the 1% the design asks for at every percentile."""


class HistogramMismatchError(ValueError):
    """Raised when merging histograms recorded at different accuracies."""


class LatencyHistogram:
    """Counts of latency values (µs) in logarithmic buckets; quantiles with bounded error."""

    __slots__ = (
        "_buckets",
        "_gamma",
        "_log_gamma",
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
        self.zero_count = 0
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    # -- recording ---------------------------------------------------------------------------

    def record(self, value_us: float, count: int = 1) -> None:
        """Add ``count`` observations of ``value_us`` microseconds (negative values are errors)."""
        if not value_us >= 0.0:  # also rejects NaN
            raise ValueError(f"latency must be a non-negative number of µs, got {value_us!r}")
        if value_us < 1.0:
            self.zero_count += count
        else:
            index = math.ceil(math.log(value_us) / self._log_gamma)
            self._buckets[index] = self._buckets.get(index, 0) + count
        self.count += count
        self.sum += value_us * count
        if value_us < self.min:
            self.min = value_us
        if value_us > self.max:
            self.max = value_us

    def merge(self, other: LatencyHistogram) -> None:
        """Add every observation of ``other`` to this histogram (lossless)."""
        if other.relative_accuracy != self.relative_accuracy:
            raise HistogramMismatchError(
                f"cannot merge histograms of accuracy {other.relative_accuracy} "
                f"into {self.relative_accuracy}"
            )
        for index, bucket_count in other._buckets.items():
            self._buckets[index] = self._buckets.get(index, 0) + bucket_count
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
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= rank:
                # Clamping to the exact extremes makes p0/p100 exact and never hurts accuracy.
                return min(max(self._representative(index), self.min), self.max)
        return self.max  # unreachable unless counts were tampered with

    def count_at_or_below(self, value_us: float) -> int:
        """How many observations are at most ``value_us`` (bucket-exact, within the accuracy)."""
        if value_us < 1.0:
            return self.zero_count if value_us >= 0.0 else 0
        limit = math.ceil(math.log(value_us) / self._log_gamma)
        return self.zero_count + sum(c for i, c in self._buckets.items() if i <= limit)

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
        return f"LatencyHistogram(count={self.count}, buckets={len(self._buckets)})"

    # -- stable JSON form --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "relative_accuracy": self.relative_accuracy,
            "count": self.count,
            "sum_us": self.sum,
            "min_us": self.min if self.count else None,
            "max_us": self.max if self.count else None,
            "zero_count": self.zero_count,
            "buckets": [[i, self._buckets[i]] for i in sorted(self._buckets)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        """Rebuild a histogram from :meth:`to_dict` output; raises ValueError on bad data."""
        try:
            histogram = cls(float(data.get("relative_accuracy", DEFAULT_RELATIVE_ACCURACY)))
            pairs: Iterable[Any] = data.get("buckets", [])
            for index, bucket_count in pairs:
                if int(bucket_count) < 0:
                    raise ValueError("negative bucket count")
                histogram._buckets[int(index)] = int(bucket_count)
            histogram.zero_count = int(data.get("zero_count", 0))
            histogram.count = int(data["count"])
            histogram.sum = float(data.get("sum_us", 0.0))
            if histogram.count:
                histogram.min = float(data["min_us"])
                histogram.max = float(data["max_us"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed histogram: {exc}") from exc
        if histogram.count != histogram.zero_count + sum(histogram._buckets.values()):
            raise ValueError("malformed histogram: count does not match its buckets")
        return histogram
