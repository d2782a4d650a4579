"""Every chart laid out with the longest labels a run gives them (endpoint and objective names cut
at the label limit, six-digit rates and latencies, seven-digit counts): each piece of text drawn
lies inside the figure, and each legend beside its plot, not over it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from slogate.reports import capacity, charts, llm_charts
from slogate.slo.capacity import CapacityResult, StepResult, Threshold
from slogate.slo.request_rows import RequestRow, RequestRows
from slogate.slo.run import ITL_SUFFIX, TPOT_SUFFIX, TTFT_SUFFIX, RunResult
from slogate.slo.spec import GoodputLimits, GoodputObjective, LatencyObjective, Spec
from tests.builders import START, make_run
from tests.reports.conftest import Judged, judge

ROUTE = "POST /api/v1/organizations/{organization_id}/projects/{project_id}/deployments/{deployment_id}"
ENDPOINTS = [f"{ROUTE}/{name}" for name in ("a", "b")]
NAME = "checkout-latency-of-the-organization-deployments-route-p99"


def long_run(latencies_ms: list[float], busy: int) -> RunResult:
    """Two long-named endpoints, ``busy`` more successes per slice at 50 s, failures of 3 kinds."""
    run = make_run({name: (latencies_ms, {"503": 3, "502": 2, "504": 1}) for name in ENDPOINTS},
                   slices=8)
    for time_slice in run.slices:
        time_slice.endpoints[ENDPOINTS[0]].ok.record(50_000_000.0, count=busy)
    return run


def long_spec() -> Spec:
    objectives = [LatencyObjective(name=f"{NAME}-{name[-1]}", percentile=99.9, threshold_s=45.0,
                                   endpoint=name) for name in ENDPOINTS]
    objectives.append(LatencyObjective(name=NAME, percentile=99.99, threshold_s=55.0))
    return Spec(service="svc", source="<long>", objectives=tuple(objectives), warmup_s=2.0)


@pytest.fixture(scope="module")
def wide() -> Judged:
    """Latencies from 1 ms to 60 s (log axes), 400,000 successes a slice."""
    return judge(long_run([1.0, 2.0, 60_000.0], 400_000), long_spec())


@pytest.fixture(scope="module")
def narrow() -> Judged:
    """Latencies of 50 to 60 s (linear axes with six-digit ticks)."""
    return judge(long_run([59_000.0, 60_000.0], 40_000), long_spec())


def streamed() -> Judged:
    route = ENDPOINTS[0]
    run = make_run({route: ([900.0] * 20, 0), route + TTFT_SUFFIX: ([150.0] * 19 + [60_000.0], 0),
                    route + ITL_SUFFIX: ([0.0] * 100 + [20.0] * 300, 0),
                    route + TPOT_SUFFIX: ([30.0] * 20, 0)})
    rows = [RequestRow(START + second + i / 20, route, True, 0.15, 0.03, 0.9)
            for second in range(10) for i in range(20)]
    run = dataclasses.replace(run, request_rows=RequestRows.of(rows))
    goodput = [GoodputObjective(name=f"{NAME}-{n}", target=0.9, endpoint=route,
                                limits=GoodputLimits(0.2, 0.05, 30.0)) for n in range(2)]
    return judge(run, Spec(service="s", source="<llm>", objectives=tuple(goodput)))


def knee() -> CapacityResult:
    steps = tuple(StepResult(load, "pass" if load < 5000 else "fail", "", achieved_rate=load * 0.9,
                             p50_s=0.1, p95_s=20.0, p99_s=60.0, error_ratio=0.5)
                  for load in (10, 100, 1000, 4000, 5000, 20_000, 100_000))
    bounds = tuple(Threshold(f"p99 ≤ 45s ({NAME}-{n})", 45.0, 99.0) for n in range(3))
    return CapacityResult("req/s", steps, start=10, stop=100_000, resolution=0.1, search_s=3600.0,
                          thresholds=(*bounds, Threshold(f"errors ≤ 1% ({NAME})", 0.01)))


@dataclasses.dataclass(frozen=True)
class Drawn:
    chart: str
    text: str
    box: Bbox
    page: Bbox
    beside_plot: bool | None
    """For a legend's text: whether the legend starts right of its axes."""


@pytest.fixture()
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Drawn]:
    """Every non-empty text drawn into a chart's SVG (tick labels out of view never are), where
    the renderer put it, as the charts are rendered."""
    found: list[Drawn] = []
    chart = {"key": ""}
    to_svg, draw = charts._to_svg, Text.draw

    def keep_key(figure: Figure, key: str) -> Any:
        chart["key"] = key
        return to_svg(figure, key)

    def record(text: Text, renderer: Any) -> None:
        draw(text, renderer)
        if text.get_visible() and text.get_text():
            figure = text.get_figure(root=True)
            assert isinstance(figure, Figure)
            legend = next((ax.get_legend() for ax in figure.axes if ax.get_legend() is not None
                           and text in ax.get_legend().get_texts()), None)
            beside = None if legend is None else (
                legend.get_window_extent(renderer).x0 >= legend.axes.bbox.x1)
            found.append(Drawn(chart["key"], text.get_text(), text.get_window_extent(renderer),
                               figure.bbox.frozen(), beside))

    for module in (charts, llm_charts, capacity):
        monkeypatch.setattr(module, "_to_svg", keep_key)
    monkeypatch.setattr(Text, "draw", record)
    return found


def test_every_chart_keeps_its_longest_labels_inside(
        wide: Judged, narrow: Judged, windowed: Judged, drawn: list[Drawn]) -> None:
    llm = streamed()
    windows = [o for o in windowed.evaluation.objectives if o.window_s is not None]
    charts.render_charts(wide.run, wide.evaluation, baseline=wide.run)
    charts.latency_chart(narrow.run, narrow.evaluation)
    llm_charts.llm_charts(llm.run, llm.evaluation)
    charts.window_chart(windows[0], windowed.evaluation, "windows")
    capacity.knee_chart(knee())
    assert {d.chart for d in drawn} == {"latency", "distribution", "spectrum", "throughput", "errors",
                                        "baseline", "llm-timings", "llm-distribution", "llm-goodput",
                                        "windows", "knee"}
    for text in drawn:
        box, page = text.box, text.page
        inside = (box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5
                  and box.y0 >= page.y0 - 0.5 and box.y1 <= page.y1 + 0.5)
        assert inside, f"{text.chart}: {text.text!r} at {box.bounds} outside {page.bounds}"
        assert text.beside_plot in (None, True), f"{text.chart}: legend over the plot: {text.text!r}"
