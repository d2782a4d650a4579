"""Figures read out of a RunResult for tables and charts: per endpoint, per time slice, spectra.

Latency figures are those of successful requests, as the latency objectives judge them;
failures are counted, and their latency is not mixed in.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from slogate.slo.histogram import LatencyHistogram
from slogate.slo.run import EndpointWindow, RunResult, TimeSlice
from slogate.slo.spec import endpoint_matches

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
    p999_us: float | None
    max_us: float | None
    rate_limited: int = 0

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
    target_rate: tuple[float | None, ...] = ()
    """Open model: the arrival rate asked for per slice (None where not recorded)."""
    rate_limited_per_s: tuple[float, ...] = ()

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


def counts_as_request(name: str) -> bool:
    """Whether an endpoint key is requests of its own: a derived series of a stream ('#ttfb',
    '#ttft', '#itl', '#tpot') measures a request already counted under its route."""
    return endpoint_matches(None, name)


def total(per_endpoint: dict[str, EndpointWindow]) -> EndpointWindow:
    """All endpoints' requests merged (derived series left out: they would count requests twice)."""
    merged = EndpointWindow()
    for name, window in per_endpoint.items():
        if counts_as_request(name):
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
        p999_us=quantile(ok, 0.999),
        max_us=ok.max if ok.count else None,
        rate_limited=window.rate_limited,
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
            if name == endpoint or (endpoint is None and counts_as_request(name)):
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
    target: list[float | None] = []
    limited: list[float] = []
    for time_slice in coarsened(run.slices):
        seconds = _seconds(time_slice)
        counted = [w for name, w in time_slice.endpoints.items() if counts_as_request(name)]
        times.append(time_slice.start_s + time_slice.duration_s / 2.0)
        requests.append(sum(w.requests for w in counted) / seconds)
        failures.append(sum(w.failures for w in counted) / seconds)
        users.append(time_slice.users)
        target.append(time_slice.target_rate)
        limited.append(sum(w.rate_limited for w in counted) / seconds)
    return Throughput(tuple(times), tuple(requests), tuple(failures), tuple(users),
                      tuple(target), tuple(limited))


@dataclass(frozen=True)
class ErrorSeries:
    """Failed requests per second by error kind, per slice; the busiest kinds first."""

    times_s: tuple[float, ...]
    per_kind: dict[str, tuple[float, ...]]

    @property
    def empty(self) -> bool:
        return not any(v for values in self.per_kind.values() for v in values)


UNCLASSIFIED = "unclassified failure"
OTHER_KINDS = "other kinds"


def errors_over_time(run: RunResult, max_kinds: int = 6) -> ErrorSeries:
    """Failures per second by kind (``TimeSlice.errors``); failures a slice did not classify
    count as 'unclassified', and kinds beyond the ``max_kinds`` busiest as 'other kinds'."""
    slices = coarsened(run.slices)
    counted: list[dict[str, int]] = []
    totals: dict[str, int] = {}
    for time_slice in slices:
        kinds = dict(time_slice.errors)
        unclassified = time_slice.failures - sum(kinds.values())
        if unclassified > 0:
            kinds[UNCLASSIFIED] = unclassified
        counted.append(kinds)
        for kind, number in kinds.items():
            totals[kind] = totals.get(kind, 0) + number
    ranked = sorted((k for k in totals if totals[k] > 0), key=lambda k: (-totals[k], k))
    shown = ranked if len(ranked) <= max_kinds else ranked[: max_kinds - 1]
    names = shown + ([OTHER_KINDS] if len(ranked) > len(shown) else [])
    per_kind: dict[str, list[float]] = {name: [] for name in names}
    for time_slice, kinds in zip(slices, counted, strict=True):
        seconds = _seconds(time_slice)
        for name in shown:
            per_kind[name].append(kinds.get(name, 0) / seconds)
        if OTHER_KINDS in per_kind:
            rest = sum(n for k, n in kinds.items() if k not in shown)
            per_kind[OTHER_KINDS].append(rest / seconds)
    times = tuple(s.start_s + s.duration_s / 2.0 for s in slices)
    return ErrorSeries(times, {name: tuple(values) for name, values in per_kind.items()})


def errors_by_kind(run: RunResult, from_s: float = 0.0) -> list[tuple[str, int]]:
    """Failed requests by kind over the slices from ``from_s``, most frequent first."""
    totals: dict[str, int] = {}
    for time_slice in run.slices_from(from_s):
        for kind, number in time_slice.errors.items():
            totals[kind] = totals.get(kind, 0) + number
    return sorted(((k, n) for k, n in totals.items() if n > 0), key=lambda kn: (-kn[1], kn[0]))


@dataclass(frozen=True)
class ErrorGroupRow:
    """Failed requests of one route and kind whose messages differ only in their numbers."""

    endpoint: str
    kind: str
    message: str
    """The group's most frequent message."""
    count: int
    similar_messages: int
    """Other messages in the group (the same words, other numbers: '/content/17', port 8443...)."""


_NUMBERS = re.compile(r"\d+")


def error_groups(run: RunResult) -> list[ErrorGroupRow]:
    """The run's errors per route (its endpoint keys) and kind, most frequent first: a message
    naming the raw URL ('... for url: /content/17') would otherwise make one group per key."""
    groups: dict[tuple[str, str, str], dict[str, int]] = {}
    for error in run.errors:
        key = (error.endpoint, error.kind, _NUMBERS.sub("#", error.message))
        messages = groups.setdefault(key, {})
        messages[error.message] = messages.get(error.message, 0) + error.count
    rows = [
        ErrorGroupRow(endpoint, kind, min(messages, key=lambda m: (-messages[m], m)),
                      sum(messages.values()), len(messages) - 1)
        for (endpoint, kind, _shape), messages in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r.count, r.endpoint, r.kind, r.message))


def peak_generator_cpu(run: RunResult) -> float | None:
    """The highest load-generator CPU seen in any slice or reported by any worker."""
    values = [s.generator_cpu_percent for s in run.slices if s.generator_cpu_percent is not None]
    values += [w.max_cpu_percent for w in run.workers if w.max_cpu_percent is not None]
    return max(values) if values else None


def dispatch_totals(run: RunResult) -> tuple[int, int]:
    """Open model: (late, dropped) dispatches over the whole run."""
    return (sum(s.dispatch_late for s in run.slices), sum(s.dispatch_dropped for s in run.slices))


def _seconds(time_slice: TimeSlice) -> float:
    return time_slice.duration_s if time_slice.duration_s > 0 else 1.0


def coarsened(
    slices: Sequence[TimeSlice], max_points: int = MAX_TIME_POINTS
) -> Sequence[TimeSlice]:
    """At most ``max_points`` slices: runs of neighbours merged (histograms merge exactly, so
    each merged slice's percentiles are those of all its requests; users and CPU are the peak,
    the target rate the mean, errors and dispatch counts the sum)."""
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
        errors: dict[str, int] = {}
        for time_slice in group:
            for kind, number in time_slice.errors.items():
                errors[kind] = errors.get(kind, 0) + number
        start = group[0].start_s
        end = group[-1].start_s + group[-1].duration_s
        rates = [s.target_rate for s in group if s.target_rate is not None]
        cpus = [s.generator_cpu_percent for s in group if s.generator_cpu_percent is not None]
        merged.append(TimeSlice(
            start_s=start, duration_s=end - start, endpoints=endpoints,
            users=max(s.users for s in group),
            generator_cpu_percent=max(cpus) if cpus else None,
            errors=errors,
            target_rate=sum(rates) / len(rates) if rates else None,
            dispatch_late=sum(s.dispatch_late for s in group),
            dispatch_dropped=sum(s.dispatch_dropped for s in group),
        ))
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


MARKED_PERCENTILES: tuple[float, ...] = (50.0, 95.0, 99.0, 99.9)


def distribution(histogram: LatencyHistogram, bins: int = 40) -> tuple[list[float], list[int]]:
    """(bin edges µs, counts) of a histogram over logarithmic bins from its minimum to its maximum.

    Read through ``count_at_or_below``, so each count is exact to the histogram's accuracy.
    """
    if histogram.count == 0:
        return [], []
    low = max(1.0, histogram.min)
    high = max(low * 1.01, histogram.max)
    # Half-open bins (edge_i, edge_i+1]; the first edge sits just below the minimum.
    ratio = (high / (low * 0.99)) ** (1.0 / bins)
    edges = [low * 0.99 * ratio**i for i in range(bins + 1)]
    cumulative = [histogram.count_at_or_below(edge) for edge in edges]
    cumulative[-1] = histogram.count
    counts = [max(0, b - a) for a, b in itertools.pairwise(cumulative)]
    counts[0] += cumulative[0]
    return edges, counts


def marked_percentiles(histogram: LatencyHistogram) -> list[tuple[float, float]]:
    """(percentile, latency µs) for p50, p95, p99 and p99.9, those the sample count resolves."""
    marks: list[tuple[float, float]] = []
    for p in MARKED_PERCENTILES:
        if histogram.count * (1.0 - p / 100.0) < 1.0 and p > 50.0:
            continue  # fewer samples than the percentile needs: it would just be the maximum
        value = quantile(histogram, p / 100.0)
        if value is not None:
            marks.append((p, value))
    return marks


def endpoint_measurement(window: EndpointWindow, kind: str, percentile: float | None) -> float | None:
    """One endpoint's value in an objective's terms (seconds for latency, the failure ratio for
    an error ratio, the success ratio for availability); None for other kinds or without data."""
    if kind == "latency" and percentile is not None:
        value = quantile(window.ok, percentile / 100.0)
        return None if value is None else value / 1e6
    if kind in ("error_ratio", "availability") and window.requests:
        failed = window.failures / window.requests
        return 1.0 - failed if kind == "availability" else failed
    return None
