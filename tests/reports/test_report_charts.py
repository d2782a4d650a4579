"""The charts: inline SVG from matplotlib's Agg backend, sensible with odd or missing data."""

from __future__ import annotations

import matplotlib
import pytest

from slogate.reports import charts, series
from tests.reports.conftest import MESSAGES, Judged, judge, make_run

MANY_SPEC = """\
service: many
objectives:
  - {name: e7-p50, kind: latency, endpoint: GET /e7, percentile: p50, threshold: 10ms}
  - {name: all-p99, kind: latency, percentile: p99, threshold: 1s}
"""


def test_backend_is_agg() -> None:
    assert matplotlib.get_backend().lower() == "agg"


def test_charts_are_deterministic(failing: Judged) -> None:
    first = charts.render_charts(failing.run, failing.evaluation)
    second = charts.render_charts(failing.run, failing.evaluation)
    assert [c.svg for c in first] == [c.svg for c in second]
    assert all(c.svg is not None and c.svg.startswith("<svg") for c in first)
    assert [c.key for c in first] == ["latency", "distribution", "spectrum", "throughput", "errors"]


def test_many_endpoints_get_at_most_four_panels_objectives_first() -> None:
    # e0 is the busiest and e9 the quietest; only e7 has an objective of its own.
    run = make_run({f"GET /e{i}": ([5.0] * (20 - i), 0) for i in range(10)}, slices=3)
    judged = judge(run, MANY_SPEC)
    chosen = charts._panel_endpoints(run, charts._latency_objectives(judged.evaluation))
    assert len(chosen) == charts.MAX_ENDPOINT_PANELS
    assert "GET /e7" in chosen and "GET /e0" in chosen and "GET /e9" not in chosen
    chart = charts.latency_chart(run, judged.evaluation)
    assert chart.svg is not None
    assert chart.svg.count("GET /e") == charts.MAX_ENDPOINT_PANELS  # one panel title each


def test_a_single_request_charts_latency_but_no_spectrum() -> None:
    judged = judge(make_run({MESSAGES: ([12.0], 0)}, slices=1))
    rendered = {c.key: c for c in charts.render_charts(judged.run, judged.evaluation)}
    assert rendered["latency"].svg is not None and rendered["throughput"].svg is not None
    for key in ("spectrum", "distribution"):
        assert rendered[key].svg is None and "No data" in rendered[key].note
    assert rendered["errors"].svg is None and "No errors" in rendered["errors"].note


def test_wide_latency_range_uses_a_log_axis_with_plain_labels() -> None:
    judged = judge(make_run({MESSAGES: ([0.5] * 90 + [4000.0] * 10, 0)}, slices=3))
    rendered = charts.render_charts(judged.run, judged.evaluation)
    assert [c.key for c in rendered if c.svg is None] == ["errors"]  # nothing failed
    for chart in rendered:
        assert "mathdefault" not in (chart.svg or "") and "$" not in (chart.svg or "")


@pytest.mark.parametrize(("samples", "top"), [(1, None), (2, 0.5), (10, 0.9), (10**6, 0.999)])
def test_spectrum_stops_where_the_samples_do(samples: int, top: float | None) -> None:
    quantiles = series.spectrum_quantiles(samples)
    if top is None:
        assert quantiles == []
    else:
        assert quantiles[0] == pytest.approx(0.5)
        assert quantiles[-1] == pytest.approx(top)
        assert quantiles == sorted(quantiles)


def test_long_runs_are_charted_over_merged_slices() -> None:
    run = make_run({MESSAGES: ([1.0, 2.0, 3.0], 1)}, slices=1500)
    merged = series.coarsened(run.slices)
    assert len(merged) <= series.MAX_TIME_POINTS
    assert sum(s.requests for s in merged) == sum(s.requests for s in run.slices)
    assert merged[0].start_s == 0.0 and merged[-1].start_s + merged[-1].duration_s == 1500.0
    data = series.throughput(run)
    assert data.requests_per_s[0] == pytest.approx(4.0)  # 3 ok + 1 failed per second
    assert data.failures_per_s[0] == pytest.approx(1.0)
    latency = series.latency_over_time(run)
    assert len(latency.times_s) == len(merged)
    assert latency.percentiles[99.0][0] == pytest.approx(3000.0, rel=0.01)
    assert latency.percentiles[50.0][0] == pytest.approx(2000.0, rel=0.01)
