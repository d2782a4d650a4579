"""Figures read out of a RunResult for tables and charts: per endpoint, per time slice, spectra.

Latency figures are those of successful requests, as the latency objectives judge them;
failures are counted, and their latency is not mixed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from slo.histogram import LatencyHistogram
from slo.run import EndpointWindow, RunResult, TimeSlice

ALL_ENDPOINTS = "all endpoints"
TIME_PERCENTILES: tuple[float, ...] = (50.0, 95.0, 99.0)
MAX_TIME_POINTS = 600
"""Longer runs are charted over merged neighbouring slices, so a soak test stays a small page."""


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint (or all) over a window: counts and latency of successful requests (µs)."""

    name: str
    requests: int
    failures: int
    p50_us: float | None
    p95_us: float | None
    p99_us: float | None
    max_us: float | None

    @property
    def failure_ratio(self) -> float | None:
        return self.failures / self.requests if self.requests else None


@dataclass(frozen=True)
class LatencySeries:
    """Percentiles of successful requests' latency per time slice; None where a slice had none."""

    name: str
    times_s: tuple[float, ...]
    percentiles: dict[float, tuple[float | None, ...]]

    @property
    def empty(self) -> bool:
        return all(v is None for values in self.percentiles.values() for v in values)


@dataclass(frozen=True)
class Throughput:
    times_s: tuple[float, ...]
    requests_per_s: tuple[float, ...]
    failures_per_s: tuple[float, ...]
    users: tuple[int, ...]

    @property
    def empty(self) -> bool:
        return not any(self.requests_per_s)


def windows(run: RunResult, from_s: float = 0.0) -> dict[str, EndpointWindow]:
    """Each endpoint's requests merged over the slices starting at ``from_s`` or later."""
    merged: dict[str, EndpointWindow] = {}
    for time_slice in run.slices_from(from_s):
        for name, window in time_slice.endpoints.items():
            merged.setdefault(name, EndpointWindow()).merge(window)
    return merged


def total(per_endpoint: dict[str, EndpointWindow]) -> EndpointWindow:
    merged = EndpointWindow()
    for window in per_endpoint.values():
        merged.merge(window)
    return merged


def stats(name: str, window: EndpointWindow) -> EndpointStats:
    ok = window.ok
    return EndpointStats(
        name=name,
        requests=window.requests,
        failures=window.failures,
        p50_us=quantile(ok, 0.50),
        p95_us=quantile(ok, 0.95),
        p99_us=quantile(ok, 0.99),
        max_us=ok.max if ok.count else None,
    )


def endpoint_stats(run: RunResult, from_s: float = 0.0) -> tuple[list[EndpointStats], EndpointStats]:
    """Per endpoint (by name) and overall, over the slices from ``from_s``."""
    per_endpoint = windows(run, from_s)
    rows = [stats(name, per_endpoint[name]) for name in sorted(per_endpoint)]
    return rows, stats(ALL_ENDPOINTS, total(per_endpoint))


def by_traffic(run: RunResult) -> list[str]:
    """Endpoint names, busiest first (ties by name)."""
    counts = {name: window.requests for name, window in windows(run).items()}
    return sorted(counts, key=lambda name: (-counts[name], name))


def quantile(histogram: LatencyHistogram, q: float) -> float | None:
    return histogram.quantile(q) if histogram.count else None


def latency_over_time(
    run: RunResult, endpoint: str | None = None, percentiles: Sequence[float] = TIME_PERCENTILES
) -> LatencySeries:
    """Per slice, the percentiles of one endpoint (or of all when ``endpoint`` is None)."""
    times: list[float] = []
    values: dict[float, list[float | None]] = {p: [] for p in percentiles}
    for time_slice in coarsened(run.slices):
        histogram = LatencyHistogram()
        for name, window in time_slice.endpoints.items():
            if endpoint is None or name == endpoint:
                histogram.merge(window.ok)
        times.append(time_slice.start_s + time_slice.duration_s / 2.0)
        for p in percentiles:
            values[p].append(quantile(histogram, p / 100.0))
    return LatencySeries(
        name=ALL_ENDPOINTS if endpoint is None else endpoint,
        times_s=tuple(times),
        percentiles={p: tuple(v) for p, v in values.items()},
    )


def throughput(run: RunResult) -> Throughput:
    times: list[float] = []
    requests: list[float] = []
    failures: list[float] = []
    users: list[int] = []
    for time_slice in coarsened(run.slices):
        seconds = time_slice.duration_s if time_slice.duration_s > 0 else 1.0
        times.append(time_slice.start_s + time_slice.duration_s / 2.0)
        requests.append(time_slice.requests / seconds)
        failures.append(time_slice.failures / seconds)
        users.append(time_slice.users)
    return Throughput(tuple(times), tuple(requests), tuple(failures), tuple(users))


def coarsened(
    slices: Sequence[TimeSlice], max_points: int = MAX_TIME_POINTS
) -> Sequence[TimeSlice]:
    """At most ``max_points`` slices: runs of neighbours merged (histograms merge exactly, so
    each merged slice's percentiles are those of all its requests; users is the peak)."""
    size = math.ceil(len(slices) / max_points) if max_points > 0 else 1
    if size <= 1:
        return slices
    merged: list[TimeSlice] = []
    for first in range(0, len(slices), size):
        group = slices[first:first + size]
        endpoints: dict[str, EndpointWindow] = {}
        for time_slice in group:
            for name, window in time_slice.endpoints.items():
                endpoints.setdefault(name, EndpointWindow()).merge(window)
        start = group[0].start_s
        end = group[-1].start_s + group[-1].duration_s
        merged.append(TimeSlice(start_s=start, duration_s=end - start, endpoints=endpoints,
                                users=max(s.users for s in group)))
    return merged


def spectrum_quantiles(samples: int, points: int = 48, highest: float = 0.999) -> list[float]:
    """Quantiles from p50 up to p99.9, evenly spaced in 1/(1-q), and never past what
    ``samples`` can resolve (the top one still has a sample beyond it)."""
    if samples < 2:
        return []
    top = min(highest, 1.0 - 1.0 / samples)
    if top <= 0.5:
        return [0.5]
    low, high = 2.0, 1.0 / (1.0 - top)
    ratio = (high / low) ** (1.0 / (points - 1))
    return [1.0 - 1.0 / (low * ratio**i) for i in range(points)]


def spectrum(histogram: LatencyHistogram) -> tuple[list[float], list[float]]:
    """(quantiles, latency µs) of a histogram for the percentile spectrum chart."""
    qs = spectrum_quantiles(histogram.count)
    latencies = [histogram.quantile(q) for q in qs]
    return qs, [v for v in latencies if v is not None]
