"""A bundle with known latencies, exported to every format and read back as its readers read it."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest

from slogate.export import (
    FRAME_COLUMNS,
    LOCUST_HISTORY_COLUMNS,
    LOCUST_PERCENTILES,
    LOCUST_STATS_COLUMNS,
    ExportError,
    export_bundle,
    load_bundle_frame,
    run_frame,
)
from slogate.slo.bundle import BundleError, write_run
from slogate.slo.run import TTFB_SUFFIX, RunResult
from tests.builders import CONTENT, MESSAGES, START, make_run

TTFB = MESSAGES + TTFB_SUFFIX
SLICES = 6
MESSAGES_MS = [float(v) for v in range(1, 101)]
CONTENT_MS = [0.4] * 150 + [20.0] * 45 + [300.0] * 5
TTFB_MS = [v / 4 for v in MESSAGES_MS]
SLOW_SLICE = 2
"""In this slice messages take ten times longer."""
IDLE_SLICE = 4
"""No content request in this slice."""
ACCURACY = 0.01


def messages_ms(i: int) -> list[float]:
    return [10 * v for v in MESSAGES_MS] if i == SLOW_SLICE else MESSAGES_MS


def known_run() -> RunResult:
    """Per slice: messages 1..100 ms and one 503; messages' TTFB; content 0.4/20/300 ms, one 404
    and one request without response; two 429s per endpoint; one slice ten times slower for
    messages, one without any content request."""
    return make_run([
        {MESSAGES: (messages_ms(i), 1), TTFB: (TTFB_MS, 0)}
        | ({} if i == IDLE_SLICE else {CONTENT: (CONTENT_MS, {"404": 1, "none": 1})})
        for i in range(SLICES)
    ], rate_limited=2)


def whole_run_ms(endpoint: str) -> list[float]:
    """Every successful latency of an endpoint over the run."""
    if endpoint == MESSAGES:
        return [ms for i in range(SLICES) for ms in messages_ms(i)]
    if endpoint == CONTENT:
        return CONTENT_MS * (SLICES - 1)
    return TTFB_MS * SLICES


def exact(values: Sequence[float], q: float) -> float:
    """The nearest-rank quantile, which the histogram estimates."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered) - 1e-9)) - 1]


def assert_close(measured: float, expected: float) -> None:
    assert abs(measured - expected) <= ACCURACY * expected, (measured, expected)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle")
    write_run(folder / "run.json", known_run())
    return folder


# -- the frame ---------------------------------------------------------------------------------


def test_frame_has_a_row_per_slice_and_endpoint_with_the_documented_columns(bundle: Path) -> None:
    frame = load_bundle_frame(str(bundle))
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert len(frame) == SLICES * 3
    assert {str(frame[column].dtype) for column in ("slice_start", "slice_end")} == {"datetime64[ns, UTC]"}
    first = frame[frame.endpoint == MESSAGES].iloc[0]
    assert first.slice_start == pd.Timestamp(START, unit="s", tz="UTC")
    assert first.slice_end == pd.Timestamp(START + 1, unit="s", tz="UTC")
    assert frame.ttfb.tolist() == [name == TTFB for name in frame.endpoint]


def test_frame_percentiles_are_the_histograms_within_their_accuracy() -> None:
    frame = run_frame(known_run())
    for i in range(SLICES):
        row = frame[(frame.offset_s == i) & (frame.endpoint == MESSAGES)].iloc[0]
        assert (row.requests, row.failures) == (101, 1)
        for column, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p95_ms", 0.95), ("p99_ms", 0.99),
                          ("p99_9_ms", 0.999)):
            assert_close(row[column], exact(messages_ms(i), q))
        assert row.max_ms == max(messages_ms(i))
        assert row.mean_ms == pytest.approx(sum(messages_ms(i)) / 100)
    content = frame[(frame.offset_s == 0) & (frame.endpoint == CONTENT)].iloc[0]
    assert_close(content.p50_ms, 0.4)
    assert_close(content.p99_ms, 300.0)


def test_frame_counts_statuses_by_class_and_rate_limited_apart() -> None:
    frame = run_frame(known_run())
    content = frame[(frame.offset_s == 0) & (frame.endpoint == CONTENT)].iloc[0]
    assert (content.requests, content.failures, content.rate_limited) == (202, 2, 2)
    statuses = [content[f"status_{name}"] for name in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")]
    assert statuses == [0, 200, 0, 1, 0, 1]


def test_an_endpoint_without_requests_in_a_slice_has_zeros_and_no_percentiles() -> None:
    frame = run_frame(known_run())
    idle = frame[(frame.offset_s == IDLE_SLICE) & (frame.endpoint == CONTENT)].iloc[0]
    assert (idle.requests, idle.failures, idle.status_2xx) == (0, 0, 0)
    assert all(math.isnan(idle[column]) for column in ("mean_ms", "p50_ms", "p99_9_ms", "max_ms"))


def test_an_empty_run_gives_an_empty_frame_of_the_same_columns() -> None:
    frame = run_frame(make_run({}, slices=0))
    assert frame.empty
    assert dict(frame.dtypes.astype(str)) == {**FRAME_COLUMNS, "endpoint": str(frame.endpoint.dtype)}


def test_loading_a_folder_that_is_not_a_bundle_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"run\.json: missing"):
        load_bundle_frame(tmp_path)


# -- csv and parquet ---------------------------------------------------------------------------


def test_csv_reads_back_as_the_frame(bundle: Path, tmp_path: Path) -> None:
    [path] = export_bundle(bundle, tmp_path / "slices.csv", "csv")
    assert path == tmp_path / "slices.csv"
    read = pd.read_csv(path, parse_dates=["slice_start", "slice_end"])
    expected = run_frame(known_run())
    assert read.endpoint.tolist() == expected.endpoint.tolist()
    assert (read.slice_start == expected.slice_start).all()
    for column in ("requests", "failures", "rate_limited", "status_4xx", "status_other"):
        assert read[column].tolist() == expected[column].tolist()
    for column in ("p50_ms", "p99_9_ms", "max_ms"):
        pd.testing.assert_series_equal(read[column], expected[column], check_exact=False, atol=0.0005)


def test_parquet_reads_back_as_the_frame(bundle: Path, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    [path] = export_bundle(bundle, tmp_path / "slices.parquet", "parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), run_frame(known_run()))


def test_parquet_without_pyarrow_names_the_extra_and_writes_nothing(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what 'import pyarrow' sees when not installed
    with pytest.raises(ExportError, match=r"pip install 'slogate\[parquet\]'"):
        export_bundle(bundle, tmp_path / "slices.parquet", "parquet")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_as_out_gets_files_named_after_the_run(bundle: Path, tmp_path: Path) -> None:
    run_id = known_run().run_id
    assert export_bundle(bundle, tmp_path, "csv") == [tmp_path / f"{run_id}.csv"]
    assert export_bundle(bundle, None, "csv") == [bundle / f"{run_id}.csv"]
    assert export_bundle(bundle / "run.json", None, "csv") == [bundle / f"{run_id}.csv"]
    new_folder = f"{tmp_path}/exports/"
    assert export_bundle(bundle, new_folder, "locust") == [
        tmp_path / "exports" / f"{run_id}_stats.csv", tmp_path / "exports" / f"{run_id}_stats_history.csv"
    ]


# -- Locust's files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def locust_files(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    prefix = tmp_path_factory.mktemp("locust") / "proxy"
    stats, history = export_bundle(bundle, prefix, "locust")
    assert (stats.name, history.name) == ("proxy_stats.csv", "proxy_stats_history.csv")
    return {kind: list(csv.DictReader(path.open(newline="")))
            for kind, path in (("stats", stats), ("history", history))}


def test_locust_headers_are_the_installed_locusts() -> None:
    # In a child process: importing locust here would monkey-patch the test process with gevent.
    script = (
        "import json, os, sys, tempfile\n"
        "from locust.env import Environment\n"
        "from locust.stats import PERCENTILES_TO_REPORT, StatsCSVFileWriter\n"
        "writer = StatsCSVFileWriter(Environment(), PERCENTILES_TO_REPORT,"
        " os.path.join(tempfile.mkdtemp(), 'x'))\n"
        "writer.close_files()\n"
        "json.dump([writer.requests_csv_columns, writer.stats_history_csv_columns,"
        " PERCENTILES_TO_REPORT], sys.stdout)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          check=True)
    stats_columns, history_columns, percentiles = json.loads(done.stdout)
    assert stats_columns == LOCUST_STATS_COLUMNS
    assert history_columns == LOCUST_HISTORY_COLUMNS
    assert percentiles == list(LOCUST_PERCENTILES)


def test_locust_files_have_locusts_headers_and_line_ends(bundle: Path, tmp_path: Path) -> None:
    stats, history = export_bundle(bundle, tmp_path / "x", "locust")
    assert stats.read_bytes().startswith(",".join(LOCUST_STATS_COLUMNS).encode() + b"\r\n")
    assert history.read_bytes().startswith(",".join(LOCUST_HISTORY_COLUMNS).encode() + b"\r\n")


def test_locust_stats_hold_the_whole_run_per_endpoint(locust_files: dict[str, list[dict[str, str]]]) -> None:
    rows = {(row["Type"], row["Name"]): row for row in locust_files["stats"]}
    assert list(rows) == [("GET", "/content/{id}"), ("POST", "/v1/messages"),
                          ("POST", "/v1/messages#ttfb"), ("", "Aggregated")]
    messages = rows["POST", "/v1/messages"]
    assert (messages["Request Count"], messages["Failure Count"]) == (str(101 * SLICES), str(SLICES))
    assert float(messages["Requests/s"]) == pytest.approx(101 * SLICES / SLICES)
    percentile_columns = LOCUST_STATS_COLUMNS[-len(LOCUST_PERCENTILES):]
    for endpoint in (MESSAGES, CONTENT, TTFB):
        method, name = endpoint.split(" ")
        row, latencies = rows[method, name], whole_run_ms(endpoint)
        assert_close(float(row["Median Response Time"]), exact(latencies, 0.5))
        for q, column in zip(LOCUST_PERCENTILES, percentile_columns, strict=True):
            assert_close(float(row[column]), exact(latencies, q))
        assert float(row["Min Response Time"]) == min(latencies)
        assert float(row["Max Response Time"]) == float(row["100%"]) == max(latencies)
        assert row["Average Content Size"] == "N/A"


def test_locust_aggregated_leaves_time_to_first_byte_out(
    locust_files: dict[str, list[dict[str, str]]],
) -> None:
    aggregated = locust_files["stats"][-1]
    assert int(aggregated["Request Count"]) == 101 * SLICES + 202 * (SLICES - 1)
    assert int(aggregated["Failure Count"]) == SLICES + 2 * (SLICES - 1)
    latencies = whole_run_ms(MESSAGES) + whole_run_ms(CONTENT)
    for column, q in (("50%", 0.5), ("95%", 0.95), ("99.9%", 0.999)):
        assert_close(float(aggregated[column]), exact(latencies, q))


def test_locust_history_has_each_slices_percentiles_and_running_totals(
    locust_files: dict[str, list[dict[str, str]]],
) -> None:
    history = locust_files["history"]
    assert len(history) == SLICES * 4
    by_slice = [history[i * 4:(i + 1) * 4] for i in range(SLICES)]
    for i, rows in enumerate(by_slice):
        assert [row["Name"] for row in rows] == ["/content/{id}", "/v1/messages", "/v1/messages#ttfb",
                                                 "Aggregated"]
        assert {row["Timestamp"] for row in rows} == {str(int(START) + i + 1)}
        assert {row["User Count"] for row in rows} == {str(10 + i)}
        messages, aggregated = rows[1], rows[3]
        assert messages["Requests/s"] == "101.000000"
        assert_close(float(messages["95%"]), exact(messages_ms(i), 0.95))
        assert messages["Total Request Count"] == str(101 * (i + 1))
        so_far = [ms for j in range(i + 1) for ms in messages_ms(j)]
        assert_close(float(messages["Total Median Response Time"]), exact(so_far, 0.5))
        content_requests = 202 * (i + 1 - (i >= IDLE_SLICE))
        assert aggregated["Total Request Count"] == str(101 * (i + 1) + content_requests)
    idle_content = by_slice[IDLE_SLICE][0]
    assert (idle_content["Requests/s"], idle_content["50%"]) == ("0.000000", "N/A")
    assert idle_content["Total Request Count"] == str(202 * IDLE_SLICE)


def test_an_endpoint_with_only_failures_has_no_latency_in_locusts_files(tmp_path: Path) -> None:
    run = make_run({MESSAGES: ([], 3)}, slices=2)
    write_run(tmp_path / "run.json", run)
    stats, _ = export_bundle(tmp_path, tmp_path / "failing", "locust")
    rows = list(csv.DictReader(stats.open(newline="")))
    assert [(row["Name"], row["Request Count"], row["Failure Count"]) for row in rows] == [
        ("/v1/messages", "6", "6"), ("Aggregated", "6", "6")]
    assert {rows[0][column] for column in ("Median Response Time", "Min Response Time", "50%", "100%")} == {
        "N/A"}

