"""The report's charts, drawn with matplotlib (Agg, no display) and returned as inline SVG.

The charts: latency percentiles over time with the objectives' thresholds, the latency
distribution of the judged window with its percentiles marked, the percentile spectrum with the
objectives as points, achieved and target rate with users over time, failures over time by
error kind, and, when a baseline run is given, the spectra of both runs side by side. A chart
without data comes back as a note instead of an empty plot.

Text from the run (endpoint and objective names) reaches the SVG as ``<text>`` elements, which
matplotlib escapes; it is also redacted, stripped of controls, shortened, and kept away from
mathtext (``text.parse_math`` off) so a ``$`` in a route cannot break rendering.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import matplotlib
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox

from slogate.reports import series
from slogate.reports.format import duration, one_line

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType
from slogate.slo.evaluation import Evaluation, ObjectiveResult
from slogate.slo.run import RunResult
from slogate.slo.units import significant

# Explicit: never a display, whatever MPLBACKEND says. The charts use Figure objects directly
# (no pyplot), so nothing here depends on global figure state.
matplotlib.use("Agg")

PERCENTILE_COLORS = {50.0: "#1f77b4", 95.0: "#ff7f0e", 99.0: "#d62728"}
OTHER_COLOR = "#7f7f7f"
SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MAX_ENDPOINT_PANELS = 4
MAX_SPECTRUM_ENDPOINTS = 6
LABEL_LIMIT = 60
SPECTRUM_TICKS = ((50.0, "p50"), (75.0, "p75"), (90.0, "p90"), (95.0, "p95"), (99.0, "p99"),
                  (99.5, "p99.5"), (99.9, "p99.9"), (99.99, "p99.99"))

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text stays text (searchable, small), escaped by matplotlib
    "text.parse_math": False,
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
_SVG_METADATA: dict[str, str | None] = {
    key: None for key in ("Creator", "Date", "Format", "Type")
}
_PAD_IN = 0.04
"""Between the outermost text and the figure's edge, and between panels (constrained layout's)."""
_PROLOG = re.compile(r"\A.*?(?=<svg[\s>])", re.DOTALL)
_TAG = re.compile(r"<[^<>]+>")
_ID = re.compile(r'(?<=\s)id="([^"]*)"')
_ID_REFERENCE = re.compile(r'((?:href="|url\()#)([^")]*)')


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    caption: str
    svg: Markup | None
    note: str = ""


def render_charts(
    run: RunResult, evaluation: Evaluation, baseline: RunResult | None = None
) -> list[Chart]:
    charts = [
        latency_chart(run, evaluation),
        distribution_chart(run, evaluation),
        spectrum_chart(run, evaluation),
        throughput_chart(run, evaluation),
        errors_chart(run, evaluation),
    ]
    if baseline is not None:
        charts.append(baseline_chart(run, evaluation, baseline))
    return charts


# -- latency over time ---------------------------------------------------------------------------


def latency_chart(run: RunResult, evaluation: Evaluation) -> Chart:
    title = "Latency over time"
    caption = (
        "p50, p95 and p99 of successful requests per time slice, all endpoints together and per "
        f"endpoint (at most {MAX_ENDPOINT_PANELS}: those with objectives first, then the busiest); "
        "dashed lines are the latency objectives' thresholds."
    )
    overall = series.latency_over_time(run)
    if overall.empty:
        return Chart("latency", title, caption, None, "No data: no successful request was recorded.")
    objectives = _latency_objectives(evaluation)
    endpoints = run.endpoints
    panels: list[tuple[series.LatencySeries, list[ObjectiveResult]]] = []
    if len(endpoints) == 1:
        panels.append((overall, objectives))
    else:
        panels.append((overall, [o for o in objectives if o.endpoint is None]))
        for name in _panel_endpoints(run, objectives):
            matching = [o for o in objectives if o.endpoint is not None
                        and name in o.matched_endpoints]
            panels.append((series.latency_over_time(run, name), matching))

    with _drawing():
        figure = Figure(figsize=(9.0, 0.6 + 2.3 * len(panels)), )
        axes = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (line, thresholds) in zip(axes, panels, strict=True):
            _draw_latency_panel(ax, line, thresholds, evaluation.window_start_s)
        axes[-1].set_xlabel("seconds since start")
        svg = _to_svg(figure, "latency")
    return Chart("latency", title, caption, svg)


def _panel_endpoints(run: RunResult, objectives: Sequence[ObjectiveResult]) -> list[str]:
    """All endpoints when few; else those with an objective of their own, then the busiest."""
    endpoints = series.by_traffic(run)
    if len(endpoints) <= MAX_ENDPOINT_PANELS:
        return sorted(endpoints)
    wanted = {name for o in objectives if o.endpoint is not None for name in o.matched_endpoints}
    chosen = [name for name in endpoints if name in wanted][:MAX_ENDPOINT_PANELS]
    chosen += [name for name in endpoints if name not in chosen]
    return sorted(chosen[:MAX_ENDPOINT_PANELS])


def _draw_latency_panel(
    ax: Axes, line: series.LatencySeries, objectives: Sequence[ObjectiveResult], warmup_s: float
) -> None:
    ax.set_title(_label(line.name), loc="left", fontsize=9)
    _shade_warmup(ax, warmup_s)
    values_ms: list[float] = []
    marker = "o" if len(line.times_s) <= 60 else None
    for percentile, values in line.percentiles.items():
        ms = [math.nan if v is None else v / 1000.0 for v in values]
        values_ms += [v for v in ms if not math.isnan(v)]
        ax.plot(line.times_s, ms, label=f"p{percentile:g}", marker=marker, markersize=2.5,
                linewidth=1.3, color=PERCENTILE_COLORS.get(percentile, OTHER_COLOR))
    for objective in objectives:
        threshold_ms = objective.threshold * 1000.0
        values_ms.append(threshold_ms)
        color = PERCENTILE_COLORS.get(objective.percentile or -1.0, OTHER_COLOR)
        ax.axhline(threshold_ms, linestyle="--", linewidth=1.0, color=color,
                   label=_label(f"{objective.name}: {_objective_bound(objective)}"))
    _latency_scale(ax, values_ms)
    ax.set_ylabel("latency (ms)")
    if line.empty:
        ax.text(0.5, 0.5, "no successful requests", transform=ax.transAxes, ha="center",
                va="center", color=OTHER_COLOR)
    _legend(ax)


# -- percentile spectrum -------------------------------------------------------------------------


def spectrum_chart(run: RunResult, evaluation: Evaluation) -> Chart:
    title = "Percentile spectrum"
    caption = (
        f"Latency of successful requests at each percentile from p50 up, in the judged window "
        f"({_window(evaluation)}); the x axis is 1/(1-q), so each step right is a rarer tail. "
        "Crosses are the latency objectives: a curve must pass at or below its cross."
    )
    per_endpoint = series.windows(run, evaluation.window_start_s)
    overall = series.total(per_endpoint).ok
    if overall.count < 2:
        return Chart("spectrum", title, caption, None,
                     "No data: fewer than two successful requests in the judged window.")
    curves = [(series.ALL_ENDPOINTS, overall, "#222222")]
    if len(per_endpoint) > 1:
        busiest = [n for n in series.by_traffic(run) if n in per_endpoint]
        for index, name in enumerate(busiest[:MAX_SPECTRUM_ENDPOINTS]):
            if per_endpoint[name].ok.count >= 2:
                curves.append((name, per_endpoint[name].ok,
                               SERIES_COLORS[index % len(SERIES_COLORS)]))
    colors = {name: color for name, _, color in curves}

    with _drawing():
        figure = Figure(figsize=(9.0, 4.2), )
        ax = figure.add_subplot()
        values_ms: list[float] = []
        xs: list[float] = [1.0 / (1.0 - p / 100.0) for p, _ in SPECTRUM_TICKS[:7]]
        for name, histogram, color in curves:
            qs, latencies = series.spectrum(histogram)
            ms = [v / 1000.0 for v in latencies]
            values_ms += ms
            width = 2.0 if name == series.ALL_ENDPOINTS else 1.2
            ax.plot([1.0 / (1.0 - q) for q in qs], ms, color=color, linewidth=width,
                    label=_label(f"{name} (n={histogram.count:,})"))
        for objective in _latency_objectives(evaluation):
            if objective.percentile is None:
                continue
            x = 1.0 / (1.0 - objective.percentile / 100.0)
            xs.append(x)
            values_ms.append(objective.threshold * 1000.0)
            ax.plot([x], [objective.threshold * 1000.0], linestyle="none", marker="X",
                    markersize=8, markeredgecolor="white",
                    color=_objective_color(objective, colors),
                    label=_label(f"{objective.name}: {_objective_bound(objective)}"))
        ax.set_xscale("log")
        ax.set_xlim(min(xs) / 1.1, max(xs) * 1.15)
        _percentile_axes(ax, values_ms)
        svg = _to_svg(figure, "spectrum")
    return Chart("spectrum", title, caption, svg)


def _percentile_axes(ax: Axes, values_ms: Sequence[float]) -> None:
    """A percentile x axis (1/(1-q), log, ticks p50..p99.9) over latency in ms, and the legend."""
    low, high = ax.get_xlim()
    ticks = [(1.0 / (1.0 - p / 100.0), text) for p, text in SPECTRUM_TICKS]
    ticks = [(x, text) for x, text in ticks if low <= x <= high]
    ax.set_xticks([x for x, _ in ticks], [text for _, text in ticks])
    ax.minorticks_off()
    _latency_scale(ax, values_ms)
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency (ms)")
    _legend(ax)


def _objective_color(objective: ObjectiveResult, colors: dict[str, str]) -> str:
    if objective.endpoint is None:
        return colors[series.ALL_ENDPOINTS]
    for name in objective.matched_endpoints:
        if name in colors:
            return colors[name]
    return OTHER_COLOR


# -- throughput ----------------------------------------------------------------------------------


def throughput_chart(run: RunResult, evaluation: Evaluation) -> Chart:
    title = "Achieved rate, target rate and users"
    caption = ("Requests, failed requests and rate-limited (429) requests per second in each time "
               "slice, all endpoints; the dashed line is the arrival rate the open model asked "
               "for, where it did; the dotted line is the number of simulated users (right axis).")
    data = series.throughput(run)
    if data.empty:
        return Chart("throughput", title, caption, None, "No data: no request was recorded.")
    with _drawing():
        figure = Figure(figsize=(9.0, 3.0), )
        ax = figure.add_subplot()
        _shade_warmup(ax, evaluation.window_start_s)
        marker = "o" if len(data.times_s) <= 60 else None
        ax.plot(data.times_s, data.requests_per_s, color="#1f77b4", marker=marker,
                markersize=2.5, label="requests/s")
        ax.plot(data.times_s, data.failures_per_s, color="#d62728", marker=marker,
                markersize=2.5, label="failures/s")
        ax.fill_between(data.times_s, data.failures_per_s, color="#d62728", alpha=0.15)
        if any(data.rate_limited_per_s):
            ax.plot(data.times_s, data.rate_limited_per_s, color="#9467bd", marker=marker,
                    markersize=2.5, label="rate-limited/s")
        if any(rate is not None for rate in data.target_rate):
            target = [math.nan if rate is None else rate for rate in data.target_rate]
            ax.plot(data.times_s, target, color="#2ca02c", linestyle="--", linewidth=1.3,
                    label="target rate/s")
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("seconds since start")
        ax.set_ylabel("per second")
        handles, labels = ax.get_legend_handles_labels()
        if any(data.users):
            users_ax = ax.twinx()
            users_ax.grid(False)
            users_ax.step(data.times_s, data.users, where="mid", linestyle=":", color="#555555",
                          label="users")
            users_ax.set_ylim(bottom=0.0)
            users_ax.set_ylabel("users")
            users_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            more_handles, more_labels = users_ax.get_legend_handles_labels()
            handles += more_handles
            labels += more_labels
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.08, 1.0), fontsize=7,
                  frameon=False)
        svg = _to_svg(figure, "throughput")
    return Chart("throughput", title, caption, svg)


# -- latency distribution ------------------------------------------------------------------------


def distribution_chart(run: RunResult, evaluation: Evaluation) -> Chart:
    title = "Latency distribution"
    caption = (
        f"How many successful requests took how long, all endpoints, in the judged window "
        f"({_window(evaluation)}); logarithmic bins. Solid lines mark p50, p95, p99 and p99.9 "
        "(those the sample count resolves); dashed lines are the latency objectives' thresholds."
    )
    histogram = series.total(series.windows(run, evaluation.window_start_s)).ok
    if histogram.count < 2:
        return Chart("distribution", title, caption, None,
                     "No data: fewer than two successful requests in the judged window.")
    edges, counts = series.distribution(histogram)
    with _drawing():
        figure = Figure(figsize=(9.0, 3.2), )
        ax = figure.add_subplot()
        edges_ms = [edge / 1000.0 for edge in edges]
        ax.stairs(counts, edges_ms, fill=True, color="#1f77b4", alpha=0.35,
                  label=f"requests (n={histogram.count:,})")
        top = max(counts)
        for percentile, value_us in series.marked_percentiles(histogram):
            color = PERCENTILE_COLORS.get(percentile, "#222222")
            ax.axvline(value_us / 1000.0, color=color, linewidth=1.4,
                       label=f"p{percentile:g} = {duration(value_us / 1e6)}")
        low, high = edges_ms[0], edges_ms[-1]
        for objective in _latency_objectives(evaluation):
            threshold_ms = objective.threshold * 1000.0
            if objective.endpoint is None and low / 3 <= threshold_ms <= high * 3:
                low, high = min(low, threshold_ms), max(high, threshold_ms)
                ax.axvline(threshold_ms, linestyle="--", linewidth=1.0, color=OTHER_COLOR,
                           label=_label(f"{objective.name}: {_objective_bound(objective)}"))
        ax.set_xscale("log")
        ax.set_xlim(low / 1.1, high * 1.1)
        ax.xaxis.set_major_formatter(FuncFormatter(_tick))
        ax.xaxis.set_minor_formatter(FuncFormatter(_minor_tick))
        ax.set_ylim(0.0, top * 1.1)
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("requests")
        _legend(ax)
        svg = _to_svg(figure, "distribution")
    return Chart("distribution", title, caption, svg)


# -- errors over time ----------------------------------------------------------------------------


def errors_chart(run: RunResult, evaluation: Evaluation) -> Chart:
    title = "Errors over time by kind"
    caption = ("Failed requests per second in each time slice, stacked by error kind (the "
               "busiest kinds; 'unclassified' are failures the run did not give a kind).")
    data = series.errors_over_time(run)
    if data.empty:
        return Chart("errors", title, caption, None, "No errors: no request failed.")
    with _drawing():
        figure = Figure(figsize=(9.0, 2.8), )
        ax = figure.add_subplot()
        _shade_warmup(ax, evaluation.window_start_s)
        names = list(data.per_kind)
        colors = [SERIES_COLORS[(i + 3) % len(SERIES_COLORS)] for i in range(len(names))]
        ax.stackplot(data.times_s, *[data.per_kind[name] for name in names],
                     labels=[_label(name) for name in names], colors=colors, alpha=0.8,
                     step="mid")
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("seconds since start")
        ax.set_ylabel("failures per second")
        _legend(ax)
        svg = _to_svg(figure, "errors")
    return Chart("errors", title, caption, svg)


# -- baseline comparison -------------------------------------------------------------------------


def baseline_chart(run: RunResult, evaluation: Evaluation, baseline: RunResult) -> Chart:
    title = "Compared with the baseline"
    caption = (
        f"Latency of successful requests at each percentile, this run (solid) and the baseline "
        f"run {one_line(baseline.run_id, 80)} (dashed), all endpoints and the busiest endpoints "
        f"both runs have; each run over its own window from {evaluation.window_start_s:g}s."
    )
    current = series.windows(run, evaluation.window_start_s)
    before = series.windows(baseline, evaluation.window_start_s)
    pairs = [(series.ALL_ENDPOINTS, series.total(current).ok, series.total(before).ok)]
    shared = [name for name in series.by_traffic(run) if name in before]
    if len(current) > 1:
        pairs += [(name, current[name].ok, before[name].ok) for name in shared[:3]]
    pairs = [(name, now, then) for name, now, then in pairs if now.count >= 2 and then.count >= 2]
    if not pairs:
        return Chart("baseline", title, caption, None,
                     "No comparison: one of the runs has fewer than two successful requests.")
    with _drawing():
        figure = Figure(figsize=(9.0, 4.0), )
        ax = figure.add_subplot()
        values_ms: list[float] = []
        for index, (name, now, then) in enumerate(pairs):
            color = "#222222" if index == 0 else SERIES_COLORS[(index - 1) % len(SERIES_COLORS)]
            for histogram, style, which in ((now, "-", "this run"), (then, "--", "baseline")):
                qs, latencies = series.spectrum(histogram)
                ms = [v / 1000.0 for v in latencies]
                values_ms += ms
                ax.plot([1.0 / (1.0 - q) for q in qs], ms, color=color, linestyle=style,
                        linewidth=1.8 if index == 0 else 1.1,
                        label=_label(f"{name}, {which} (n={histogram.count:,})"))
        ax.set_xscale("log")
        _percentile_axes(ax, values_ms)
        svg = _to_svg(figure, "baseline")
    return Chart("baseline", title, caption, svg)


# -- windowed objectives -------------------------------------------------------------------------


def window_chart(objective: ObjectiveResult, evaluation: Evaluation, key: str) -> Markup | None:
    """A small bar chart of a windowed objective's burn rate in each window, with the 1x line
    (above it the window spent budget faster than allowed); None without window burn rates."""
    rates = objective.window_burn_rates
    if objective.window_s is None or not any(r is not None and math.isfinite(r) for r in rates):
        return None
    length = objective.window_s
    starts = [evaluation.window_start_s + i * length for i in range(len(rates))]
    finite = [r for r in rates if r is not None and math.isfinite(r)]
    top = max(max(finite), 1.0) * 1.2
    with _drawing():
        figure = Figure(figsize=(6.0, 1.8), )
        ax = figure.add_subplot()
        heights = [top if r is not None and math.isinf(r) else (r or 0.0) for r in rates]
        colors = ["#999999" if r is None else "#d62728" if r > 1.0 else "#2ca02c" for r in rates]
        ax.bar(starts, heights, width=length * 0.85, align="edge", color=colors)
        undecided = [start + length / 2 for start, r in zip(starts, rates, strict=True) if r is None]
        if undecided:
            ax.plot(undecided, [0.0] * len(undecided), "x", color="#555555", label="no burn rate")
        ax.axhline(1.0, color="#333333", linestyle="--", linewidth=1.0, label="1x (budget pace)")
        ax.set_ylim(bottom=0.0, top=top)
        ax.set_xlabel("seconds since start (window start)")
        ax.set_ylabel("burn rate")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _p: f"{value:g}x"))
        _legend(ax)
        return _to_svg(figure, key)


# -- shared --------------------------------------------------------------------------------------


def _latency_objectives(evaluation: Evaluation) -> list[ObjectiveResult]:
    return [o for o in evaluation.objectives if o.kind == "latency" and o.unit == "s"]


def _objective_bound(objective: ObjectiveResult) -> str:
    label = f"p{objective.percentile:g}" if objective.percentile is not None else "latency"
    return f"{label} ≤ {duration(objective.threshold)}"


def _window(evaluation: Evaluation) -> str:
    start, end = evaluation.window_start_s, evaluation.window_end_s
    return f"{start:g}s to {end:g}s after the start" if start > 0 else "the whole run"


def _shade_warmup(ax: Axes, warmup_s: float) -> None:
    if warmup_s > 0:
        ax.axvspan(0.0, warmup_s, color="#999999", alpha=0.15, linewidth=0,
                   label="warm-up (not judged)")


def _legend(ax: Axes) -> None:
    """Beside the plot, never over the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)


def _latency_scale(ax: Axes, values_ms: Sequence[float]) -> None:
    """Linear from zero, or logarithmic when the values span more than 20x."""
    positive = [v for v in values_ms if v > 0 and math.isfinite(v)]
    span = max(positive) / min(positive) if positive else 1.0
    if span > 20.0:
        ax.set_yscale("log")
        # Plain numbers: the default log labels are mathtext, which is off for safety.
        ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        ax.yaxis.set_minor_formatter(FuncFormatter(_minor_tick if span <= 200.0 else _no_tick))
    else:
        ax.set_ylim(bottom=0.0, top=max(positive, default=1.0) * 1.15)


def _tick(value: float, _position: int | None = None) -> str:
    return significant(value, 3)  # plain decimals: a log axis spans powers of ten


def _minor_tick(value: float, _position: int | None = None) -> str:
    """Labels the 2s and 5s between powers of ten."""
    if value <= 0:
        return ""
    mantissa = value / 10 ** math.floor(math.log10(value))
    return significant(value, 3) if any(abs(mantissa - m) < 1e-6 for m in (2.0, 5.0)) else ""


def _no_tick(_value: float, _position: int | None = None) -> str:
    return ""


def _label(text: str) -> str:
    """Run data made fit for a chart label: masked, one line, short, and never a hidden
    legend entry (matplotlib hides labels starting with '_')."""
    label = one_line(text, LABEL_LIMIT)
    return f" {label}" if label.startswith("_") else label


@contextmanager
def _drawing() -> Iterator[None]:
    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        # Characters missing from the font render as boxes: not worth a warning in a report.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        yield


def _fit(figure: Figure) -> None:
    """Places the panels (one column of subplots, twins included) so that every tick label, axis
    label, title and legend is inside the figure, as constrained layout did: each panel's extent
    is measured once and the margins set to hold the largest. Constrained layout measures twice
    per draw and draws once more before saving: it was nearly half of a report's chart time.

    A panel's height decides its y ticks (a taller one may get "0.5x" where a shorter had "1x"):
    the panels start at about the height they end with, and are measured again if their new
    height gave them other ticks.
    """
    rows = figure.axes[0].get_subplotspec().get_gridspec().nrows  # type: ignore[union-attr]
    width, height = figure.get_size_inches()
    titled = any(ax.get_title(loc="left") for ax in figure.axes)
    top, bottom, gap = (0.24 if titled else 0.05), 0.46, 0.33
    figure.subplots_adjust(left=0.65 / width, right=1.0 - 1.9 / width, bottom=bottom / height,
                           top=1.0 - top / height,
                           hspace=gap * rows / (height - top - bottom - gap * (rows - 1)))
    renderer = FigureCanvasAgg(figure).get_renderer()  # type: ignore[no-untyped-call]
    ticks = _y_ticks(figure)
    _place(figure, renderer, rows)
    if _y_ticks(figure) != ticks:
        _place(figure, renderer, rows)


def _y_ticks(figure: Figure) -> list[list[float]]:
    return [[*ax.yaxis.get_majorticklocs(), *ax.yaxis.get_minorticklocs()] for ax in figure.axes]


def _place(figure: Figure, renderer: Any, rows: int) -> None:
    """Measures the panels and sets the margins to hold them (``_fit``). The legends beside the
    plots are anchored at a fraction of the axes' width, so they move as the axes widen: the right
    margin is solved for that, not measured as if they stood still."""
    pad = _PAD_IN * figure.dpi
    left = 0.0
    # (a, extent): something that sits a * (axes width) right of the axes' left edge and reaches
    # ``extent`` pixels beyond that point; the axes' own right edge is (1.0, its overhang).
    beyond: list[tuple[float, float]] = []
    above, below = [0.0] * rows, [0.0] * rows
    for ax in figure.axes:
        box = ax.bbox
        legend = ax.get_legend()
        others = [a for a in ax.get_default_bbox_extra_artists() if a is not legend]
        extent = ax.get_tightbbox(renderer, bbox_extra_artists=others, for_layout_only=True)
        if extent is None:
            continue
        beyond.append((1.0, extent.x1 - box.x1))
        if legend is not None:
            anchor = legend.get_bbox_to_anchor()
            legend_extent = legend.get_window_extent(renderer)
            beyond.append(((anchor.x0 - box.x0) / box.width, legend_extent.x1 - anchor.x0))
            extent = Bbox.union([extent, legend_extent])
        left = max(left, box.x0 - extent.x0)
        row = ax.get_subplotspec().rowspan.start  # type: ignore[union-attr]
        above[row] = max(above[row], extent.y1 - box.y1)
        below[row] = max(below[row], box.y0 - extent.y0)
    width, height = figure.bbox.width, figure.bbox.height
    left += pad
    axes_width = min((width - pad - left - reach) / share for share, reach in beyond)
    top, bottom = above[0] + pad, below[-1] + pad
    gap = max((below[i] + above[i + 1] + pad for i in range(rows - 1)), default=0.0)
    axes_height = (height - top - bottom - gap * (rows - 1)) / rows
    figure.subplots_adjust(left=left / width, right=(left + axes_width) / width, bottom=bottom / height,
                           top=1.0 - top / height, hspace=gap / axes_height)


def _to_svg(figure: Figure, key: str) -> Markup:
    """The figure laid out (``_fit``) as an ``<svg>`` element for inlining: no XML prolog, no
    DOCTYPE, no metadata.

    Matplotlib numbers its element ids per figure (``figure_1``, ``axes_1``), so every id and
    every reference to one gets the chart's key as a prefix: ids stay unique in the page.
    """
    _fit(figure)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"slogate-{key}"}):
        figure.savefig(buffer, format="svg", metadata=_SVG_METADATA)
    svg = _PROLOG.sub("", buffer.getvalue(), count=1).strip()
    prefix = f"chart-{key}-"

    def scope_ids(tag: re.Match[str]) -> str:
        text = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', tag.group(0))
        return _ID_REFERENCE.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", text)

    # Only inside tags: text content is escaped by matplotlib and holds no '<' or '>'.
    svg = _TAG.sub(scope_ids, svg)
    # Matplotlib escapes every text it writes; the SVG is therefore safe to mark as markup.
    return Markup(svg)
