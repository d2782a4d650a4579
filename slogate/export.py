"""A run bundle as a table: a pandas DataFrame, CSV or Parquet files, or Locust's ``--csv`` files.

One row per time slice and endpoint (:func:`run_frame`): the slice's UTC start and end, the
endpoint's requests, failures, rate-limited requests, responses by status class, and latency
percentiles read from the slice's histograms, in milliseconds. In a notebook::

    from slogate.export import load_bundle_frame
    df = load_bundle_frame("out/runs/<id>")

Latencies are those of successful requests, the ones slogate's objectives and reports judge
(Locust's own files mix failures' times in); a slice without any has NaN percentiles (an empty
cell in CSV, where times have three decimals: the microsecond). Every endpoint of the run has a
row in every slice (zero requests where it had none), so a time series has no silent gaps.
``#ttfb`` rows (time to first byte of a streamed response, ``ttfb`` True) are requests already
counted under their own endpoint: leave them out when adding requests up.

``locust`` writes ``<prefix>_stats.csv`` and ``<prefix>_stats_history.csv`` with the columns of
Locust 2.x's ``--csv`` (and ``--csv-full-history``) output, so tools that read Locust's files read
these, with slogate's percentiles (within the histogram's accuracy, not Locust's two significant
digits) in place of Locust's. Times are milliseconds with three decimals; a value slogate does
not have (response sizes, latencies of an endpoint with no successful request) is ``N/A``, as
Locust writes a percentile it has no data for.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from slogate.slo.bundle import file_stem, read_run, write_atomic
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.run import TTFB_SUFFIX, EndpointWindow, RunResult, TimeSlice

ExportFormat = Literal["csv", "parquet", "locust"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)

FRAME_PERCENTILES: dict[str, float] = {
    "p50_ms": 0.50, "p90_ms": 0.90, "p95_ms": 0.95, "p99_ms": 0.99, "p99_9_ms": 0.999,
}
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
"""Status classes counted per row; anything else (``none``: no HTTP response) is ``status_other``."""

FRAME_COLUMNS: dict[str, str] = {
    "slice_start": "datetime64[ns, UTC]",
    "slice_end": "datetime64[ns, UTC]",
    "offset_s": "float64",
    "endpoint": "str",
    "ttfb": "bool",
    "users": "int64",
    "requests": "int64",
    "failures": "int64",
    "rate_limited": "int64",
    **{f"status_{name}": "int64" for name in (*STATUS_CLASSES, "other")},
    "mean_ms": "float64",
    **{column: "float64" for column in FRAME_PERCENTILES},
    "max_ms": "float64",
}
"""The frame's columns, in order, with their dtypes (an empty run gives an empty frame of these)."""

LOCUST_PERCENTILES = (0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
"""Locust's ``PERCENTILES_TO_REPORT``: its percentile columns, named '50%' ... '100%'."""
_LOCUST_PERCENTILE_NAMES = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%",
                            "100%"]
# Copied from locust/stats.py (StatsCSV, StatsCSVFileWriter) rather than imported: importing locust
# monkey-patches the process with gevent. The tests compare them with the installed Locust's.
LOCUST_STATS_COLUMNS = [
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time", "Average Response Time",
    "Min Response Time", "Max Response Time", "Average Content Size", "Requests/s", "Failures/s",
    *_LOCUST_PERCENTILE_NAMES,
]
LOCUST_HISTORY_COLUMNS = [
    "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", *_LOCUST_PERCENTILE_NAMES,
    "Total Request Count", "Total Failure Count", "Total Median Response Time",
    "Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
    "Total Average Content Size",
]
LOCUST_AGGREGATED = "Aggregated"
NOT_AVAILABLE = "N/A"

_Cell = str | int | float


class ExportError(Exception):
    """An export that cannot be made (a missing optional dependency): the message says what to do."""


def load_bundle_frame(bundle: str | os.PathLike[str]) -> pd.DataFrame:
    """The :func:`run_frame` of a bundle folder (or of its ``run.json``); raises BundleError."""
    return run_frame(read_run(Path(bundle)))


def run_frame(run: RunResult) -> pd.DataFrame:
    """One row per time slice and endpoint of ``run`` (columns: :data:`FRAME_COLUMNS`)."""
    endpoints = run.endpoints
    rows = [
        _frame_row(run, time_slice, name, time_slice.endpoints.get(name) or EndpointWindow())
        for time_slice in run.slices
        for name in endpoints
    ]
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    for column in ("slice_start", "slice_end"):
        # To the microsecond: run times are time.time() floats, and their last bits are noise.
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True).dt.round("us")
    return frame.astype(FRAME_COLUMNS)


def _frame_row(run: RunResult, time_slice: TimeSlice, name: str, window: EndpointWindow) -> list[object]:
    start = run.started_at + time_slice.start_s
    latencies = window.ok
    classes = dict.fromkeys((*STATUS_CLASSES, "other"), 0)
    for status, count in window.statuses.items():
        status_class = f"{status[0]}xx" if len(status) == 3 and status.isdigit() else ""
        classes[status_class if status_class in STATUS_CLASSES else "other"] += count
    return [
        start, start + time_slice.duration_s, time_slice.start_s, name, name.endswith(TTFB_SUFFIX),
        time_slice.users, window.requests, window.failures, window.rate_limited, *classes.values(),
        _ms(latencies.mean), *(_ms(latencies.quantile(q)) for q in FRAME_PERCENTILES.values()),
        _ms(latencies.max if latencies.count else None),
    ]


def _ms(value_us: float | None) -> float:
    return math.nan if value_us is None else value_us / 1000.0


def export_bundle(bundle: Path, out: Path | str | None, fmt: ExportFormat) -> list[Path]:
    """Write the run of ``bundle`` (a bundle folder or its run.json) as ``fmt`` to ``out``;
    returns the files written.

    ``out`` is the file (csv, parquet) or the prefix of the two files (locust, as Locust's
    ``--csv PREFIX``); an existing folder, or a path ending in a separator, is a folder to write
    into, the files named after the run id; None is the bundle's folder. Raises BundleError for an
    unreadable bundle and ExportError when parquet's engine (pyarrow) is not installed.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        _require_pyarrow()
    run = read_run(bundle)
    if out is None:
        out = bundle if bundle.is_dir() else bundle.parent
    into_folder = str(out).endswith(("/", os.sep)) or Path(out).is_dir()
    base = Path(out) / file_stem(run.run_id) if into_folder else Path(out)
    if fmt == "locust":
        stats, history = Path(f"{base}_stats.csv"), Path(f"{base}_stats_history.csv")
        write_atomic(stats, _csv_text([LOCUST_STATS_COLUMNS, *locust_stats_rows(run)]))
        write_atomic(history, _csv_text([LOCUST_HISTORY_COLUMNS, *locust_history_rows(run)]))
        return [stats, history]
    path = base.with_name(f"{base.name}.{fmt}") if into_folder else base
    frame = run_frame(run)
    if fmt == "csv":
        # To the microsecond, the histogram's floor: more digits would be the estimate's noise.
        write_atomic(path, frame.to_csv(index=False, float_format="%.3f"))
    else:
        write_atomic(path, frame.to_parquet(None, engine="pyarrow", index=False))
    return [path]


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401  (only whether it can be imported)
    except ImportError:
        raise ExportError(
            "--format parquet needs pyarrow, which is not installed: pip install 'slogate[parquet]' "
            "(or use --format csv)"
        ) from None


def _csv_text(rows: Iterable[Sequence[_Cell]]) -> str:
    # csv.writer's default \r\n line ends, as in the files Locust writes.
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def locust_stats_rows(run: RunResult) -> list[list[_Cell]]:
    """The data rows of Locust's ``_stats.csv``: each endpoint over the whole run (warm-up
    included, as in Locust), sorted as Locust sorts them, then ``Aggregated`` (without ``#ttfb``)."""
    by_endpoint: dict[str, list[EndpointWindow]] = {}
    for time_slice in run.slices:
        for name, window in time_slice.endpoints.items():
            by_endpoint.setdefault(name, []).append(window)
    whole = _with_aggregated({name: EndpointWindow.merged(windows) for name, windows in by_endpoint.items()})
    seconds = run.duration_s
    return [
        [*_locust_name(name), *_locust_totals(window), *_per_second(window, seconds),
         *_locust_percentiles(window.ok)]
        for name, window in whole.items()
    ]


def locust_history_rows(run: RunResult) -> list[list[_Cell]]:
    """The data rows of Locust's ``_stats_history.csv`` with ``--csv-full-history``: per slice,
    each endpoint seen so far and ``Aggregated``. Rates and percentiles are the slice's; the
    ``Total`` columns count from the run's start to the slice's end, as Locust's do."""
    rows: list[list[_Cell]] = []
    none = EndpointWindow()
    so_far: dict[str, EndpointWindow] = {}
    for time_slice in run.slices:
        in_slice = _with_aggregated(time_slice.endpoints)
        # merged(), not merge(): it adds the buckets with numpy instead of one at a time.
        so_far = _with_aggregated({
            name: EndpointWindow.merged([so_far.get(name, none), in_slice.get(name, none)])
            for name in {*so_far, *time_slice.endpoints} - {LOCUST_AGGREGATED}
        })
        timestamp = math.floor(run.started_at + time_slice.start_s + time_slice.duration_s)
        for name, total in so_far.items():
            window = in_slice.get(name, none)
            rows.append([
                timestamp, time_slice.users, *_locust_name(name),
                *(f"{rate:f}" for rate in _per_second(window, time_slice.duration_s)),
                *_locust_percentiles(window.ok), *_locust_totals(total),
            ])
    return rows


def _with_aggregated(windows: Mapping[str, EndpointWindow]) -> dict[str, EndpointWindow]:
    """Endpoints as Locust sorts its entries (by name, then method), then the Aggregated entry:
    the other endpoints merged, without ``#ttfb`` ones (their requests are counted already)."""
    ordered = dict(sorted(windows.items(), key=lambda item: _locust_name(item[0])[::-1]))
    aggregated = EndpointWindow.merged(w for name, w in ordered.items() if not name.endswith(TTFB_SUFFIX))
    return {**ordered, LOCUST_AGGREGATED: aggregated}


def _locust_name(endpoint: str) -> tuple[str, str]:
    """Locust's Type and Name of an endpoint key ('GET /content/{id}' is 'GET', '/content/{id}')."""
    if endpoint == LOCUST_AGGREGATED:
        return "", LOCUST_AGGREGATED
    method, _, name = endpoint.partition(" ")
    return (method, name) if name else ("", endpoint)


def _locust_totals(window: EndpointWindow) -> list[_Cell]:
    """Request Count, Failure Count, Median, Average, Min, Max response time, Average Content Size."""
    latencies = window.ok
    extremes = (latencies.min, latencies.max) if latencies.count else (None, None)
    times = (latencies.quantile(0.5), latencies.mean, *extremes)
    return [window.requests, window.failures, *(_locust_ms(value) for value in times), NOT_AVAILABLE]


def _per_second(window: EndpointWindow, seconds: float) -> tuple[float, float]:
    if seconds <= 0:
        return 0.0, 0.0
    return window.requests / seconds, window.failures / seconds


def _locust_percentiles(latencies: LatencyHistogram) -> list[_Cell]:
    # Locust's 100% is the maximum, which the histogram keeps exactly (its top bucket's estimate is not).
    return [_locust_ms(latencies.max if q == 1.0 and latencies.count else latencies.quantile(q))
            for q in LOCUST_PERCENTILES]


def _locust_ms(value_us: float | None) -> _Cell:
    return NOT_AVAILABLE if value_us is None else round(value_us / 1000.0, 3)
