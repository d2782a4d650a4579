"""Every chart laid out with the longest labels a run gives them (endpoint and objective names cut
at the label limit, six-digit rates and latencies, seven-digit counts): each piece of text drawn
lies inside the figure, and each legend beside its plot, not over it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

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
                   slices=30)
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


@pytest.fixture()
def figures(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Figure]]:
    """The figures the charts turn into SVG, by key, as laid out for it."""
    seen: dict[str, Figure] = {}
    to_svg = charts._to_svg

    def keep(figure: Figure, key: str) -> Any:
        seen[key] = figure
        return to_svg(figure, key)

    for module in (charts, llm_charts, capacity):
        monkeypatch.setattr(module, "_to_svg", keep)
    yield seen


def drawn_texts(figure: Figure, monkeypatch: pytest.MonkeyPatch) -> list[Text]:
    """Every non-empty text a draw of ``figure`` puts on the page (tick labels out of view are
    never drawn)."""
    drawn: list[Text] = []
    draw = Text.draw

    def record(text: Text, renderer: Any) -> None:
        if text.get_visible() and text.get_text():
            drawn.append(text)
        draw(text, renderer)

    with monkeypatch.context() as patch:
        patch.setattr(Text, "draw", record)
        FigureCanvasAgg(figure)
        figure.draw_without_rendering()
    return drawn


def assert_inside(key: str, figure: Figure, monkeypatch: pytest.MonkeyPatch) -> None:
    renderer = FigureCanvasAgg(figure).get_renderer()
    page = figure.bbox
    texts = drawn_texts(figure, monkeypatch)
    assert texts, key
    for text in texts:
        box = text.get_window_extent(renderer)
        inside = (box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5
                  and box.y0 >= page.y0 - 0.5 and box.y1 <= page.y1 + 0.5)
        assert inside, f"{key}: {text.get_text()!r} at {box.bounds} outside {page.bounds}"
    for ax in figure.axes:
        legend = ax.get_legend()
        if legend is not None:
            assert legend.get_window_extent(renderer).x0 >= ax.bbox.x1, key


Charts = Callable[[], object]


def test_every_chart_keeps_its_longest_labels_inside(
        wide: Judged, narrow: Judged, windowed: Judged, figures: dict[str, Figure],
        monkeypatch: pytest.MonkeyPatch) -> None:
    llm = streamed()
    windows = [o for o in windowed.evaluation.objectives if o.window_s is not None]
    renders: dict[str, Charts] = {
        "wide": lambda: charts.render_charts(wide.run, wide.evaluation, baseline=wide.run),
        "narrow": lambda: charts.latency_chart(narrow.run, narrow.evaluation),
        "llm": lambda: llm_charts.llm_charts(llm.run, llm.evaluation),
        "windows": lambda: charts.window_chart(windows[0], windowed.evaluation, "windows"),
        "knee": lambda: capacity.knee_chart(knee()),
    }
    expected = {
        "wide": {"latency", "distribution", "spectrum", "throughput", "errors", "baseline"},
        "narrow": {"latency"},
        "llm": {"llm-timings", "llm-distribution", "llm-goodput"},
        "windows": {"windows"},
        "knee": {"knee"},
    }
    for name, render in renders.items():
        figures.clear()
        render()
        assert set(figures) == expected[name], name
        for key, figure in figures.items():
            assert_inside(f"{name} {key}", figure, monkeypatch)
