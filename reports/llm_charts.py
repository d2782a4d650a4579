"""The report's LLM charts, for a run that streamed LLM answers: time to first token, inter-token
latency and time per output token over time (p50, p95, p99 per slice) and their distributions in
the judged window, and each goodput objective's share and rate per slice (from the run's request
rows, ``slo.goodput``). A run without streams gets none of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from slogate.reports import series
from slogate.reports.charts import (
    PERCENTILE_COLORS,
    SERIES_COLORS,
    Chart,
    _draw_latency_panel,
    _drawing,
    _label,
    _legend,
    _minor_tick,
    _shade_warmup,
    _tick,
    _to_svg,
)
from slogate.reports.format import duration, ratio
from slogate.slo.evaluation import Evaluation, ObjectiveResult
from slogate.slo.goodput import goodput_counts
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.run import DERIVED_SUFFIXES, ITL_SUFFIX, TPOT_SUFFIX, TTFT_SUFFIX, RunResult
from slogate.slo.spec import GoodputLimits, GoodputObjective

STREAM_SUFFIXES = (TTFT_SUFFIX, ITL_SUFFIX, TPOT_SUFFIX)
MAX_STREAM_ROUTES = 2
MAX_GOODPUT_PANELS = 3


def llm_charts(run: RunResult, evaluation: Evaluation) -> list[Chart]:
    """The LLM charts of ``run``; none when it streamed no LLM answers."""
    keys = stream_keys(run)
    if not keys:
        return []
    charts = [stream_timings_chart(run, evaluation, keys), stream_distribution_chart(run, evaluation, keys)]
    goodput = [o for o in evaluation.objectives if o.kind == "goodput" and o.limits is not None]
    if goodput and run.request_rows.blocks:
        charts.append(goodput_chart(run, evaluation, goodput[:MAX_GOODPUT_PANELS]))
    return charts


def stream_keys(run: RunResult) -> list[str]:
    """The stream series' keys ('POST /v1/messages#ttft', ...): TTFT, ITL, TPOT of each streamed
    route (at most ``MAX_STREAM_ROUTES``, the busiest)."""
    names = set(run.endpoints)
    routes = [name[: -len(TTFT_SUFFIX)] for name in series.by_traffic(run) if name.endswith(TTFT_SUFFIX)]
    return [route + suffix for route in sorted(routes[:MAX_STREAM_ROUTES]) for suffix in STREAM_SUFFIXES
            if route + suffix in names]


def _label_of(key: str) -> str:
    route, _, suffix = key.partition("#")
    return f"{DERIVED_SUFFIXES['#' + suffix]} ({route})"


def stream_timings_chart(run: RunResult, evaluation: Evaluation, keys: Sequence[str]) -> Chart:
    title = "LLM streams over time: TTFT, ITL, TPOT"
    caption = ("p50, p95 and p99 per time slice of the streams' time to first token (TTFT: the first "
               "content chunk, not the first byte), inter-token latency (ITL: one sample per gap "
               "between content chunks; chunks read together are 0 apart) and time per output token "
               "(TPOT: one sample per stream); dashed lines are their objectives' thresholds.")
    with _drawing():
        figure = Figure(figsize=(9.0, 0.6 + 2.1 * len(keys)))
        axes = figure.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0]
        for ax, key in zip(axes, keys, strict=True):
            line = series.latency_over_time(run, key)
            objectives = [o for o in evaluation.objectives if key in o.matched_endpoints
                          and o.unit == "s" and o.percentile is not None]
            _draw_latency_panel(ax, line, objectives, evaluation.window_start_s)
            ax.set_title(_label(_label_of(key)), loc="left", fontsize=9)
        axes[-1].set_xlabel("seconds since start")
        svg = _to_svg(figure, "llm-timings")
    return Chart("llm-timings", title, caption, svg)


def stream_distribution_chart(run: RunResult, evaluation: Evaluation, keys: Sequence[str]) -> Chart:
    title = "LLM stream timings: distributions"
    caption = ("How many streams (TTFT, TPOT) or chunk gaps (ITL) took how long in the judged "
               "window; logarithmic bins, p50, p95, p99 and p99.9 marked (those the samples resolve). "
               "ITL gaps of 0 (chunks of one network read) are left out of the bins, counted in the legend.")
    windows = series.windows(run, evaluation.window_start_s)
    histograms = [(key, windows[key].ok) for key in keys if key in windows and windows[key].ok.count >= 2]
    if not histograms:
        return Chart("llm-distribution", title, caption, None,
                     "No data: fewer than two samples of each stream timing in the judged window.")
    with _drawing():
        figure = Figure(figsize=(9.0, 0.4 + 2.2 * len(histograms)))
        axes = figure.subplots(len(histograms), 1, squeeze=False)[:, 0]
        for ax, (key, histogram) in zip(axes, histograms, strict=True):
            _draw_distribution(ax, key, histogram)
        axes[-1].set_xlabel("milliseconds")
        svg = _to_svg(figure, "llm-distribution")
    return Chart("llm-distribution", title, caption, svg)


def _draw_distribution(ax: Axes, key: str, histogram: LatencyHistogram) -> None:
    ax.set_title(_label(_label_of(key)), loc="left", fontsize=9)
    # The bins span the positive samples (a log axis has no 0): the zeros are left out, counted.
    positive = histogram.copy()
    zeros = positive.zero_count
    positive.count -= zeros
    positive.zero_count = 0
    if zeros and positive.count:
        positive.min = histogram.quantile((zeros + 0.5) / histogram.count) or 1.0
    if positive.count < 1:
        ax.text(0.5, 0.5, f"all {zeros:,} samples 0 (read together)", transform=ax.transAxes,
                ha="center", va="center")
        return
    edges, counts = series.distribution(positive)
    label = f"samples (n={histogram.count:,}" + (f", {zeros:,} of 0)" if zeros else ")")
    ax.stairs(counts, [edge / 1000.0 for edge in edges], fill=True, color=SERIES_COLORS[0], alpha=0.35,
              label=label)
    for percentile, value_us in series.marked_percentiles(histogram):
        ax.axvline(value_us / 1000.0, color=PERCENTILE_COLORS.get(percentile, "#222222"), linewidth=1.4,
                   label=f"p{percentile:g} = {duration(value_us / 1e6)}")
    ax.set_xscale("log")
    ax.set_xlim(edges[0] / 1000.0 / 1.1, edges[-1] / 1000.0 * 1.1)
    ax.xaxis.set_major_formatter(FuncFormatter(_tick))
    ax.xaxis.set_minor_formatter(FuncFormatter(_minor_tick))
    ax.set_ylabel("samples")
    _legend(ax)


def goodput_chart(run: RunResult, evaluation: Evaluation, objectives: Sequence[ObjectiveResult]) -> Chart:
    title = "Goodput over time"
    caption = ("Per time slice, the share of streamed requests that met all of the objective's limits "
               "together (line, left axis; a failed stream is never good) and the good requests per "
               "second (bars, right axis); the dashed line is the objective's target.")
    with _drawing():
        figure = Figure(figsize=(9.0, 0.6 + 2.3 * len(objectives)))
        axes = figure.subplots(len(objectives), 1, sharex=True, squeeze=False)[:, 0]
        for ax, result in zip(axes, objectives, strict=True):
            limits = result.limits or {}
            objective = GoodputObjective(
                name=result.name, target=result.threshold, endpoint=result.endpoint,
                limits=GoodputLimits(limits.get("ttft"), limits.get("tpot"), limits.get("total")))
            counts, _ = goodput_counts(objective, run, 0.0)
            times = [s.start_s + s.duration_s / 2.0 for s in run.slices]
            shares = [c.good / c.total if c.total else float("nan") for c in counts.slices]
            rates = [c.good / c.seconds if c.seconds > 0 else 0.0 for c in counts.slices]
            rate_ax = ax.twinx()
            rate_ax.grid(False)
            rate_ax.bar(times, rates, width=run.slice_s * 0.8, color="#2ca02c", alpha=0.25,
                        label="good requests/s")
            rate_ax.set_ylabel("good requests/s")
            rate_ax.set_ylim(bottom=0.0)
            _shade_warmup(ax, evaluation.window_start_s)
            ax.set_zorder(rate_ax.get_zorder() + 1)
            ax.patch.set_visible(False)
            ax.plot(times, shares, color=SERIES_COLORS[0], marker="o" if len(times) <= 60 else None,
                    markersize=2.5, label="goodput (share)")
            ax.axhline(result.threshold, color="#d62728", linestyle="--", linewidth=1.0,
                       label=f"target {ratio(result.threshold)}")
            ax.set_ylim(0.0, 1.05)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            ax.set_title(_label(f"{result.name}: {_limits_text(limits)}"), loc="left", fontsize=9)
            handles, labels = ax.get_legend_handles_labels()
            more_handles, more_labels = rate_ax.get_legend_handles_labels()
            ax.legend(handles + more_handles, labels + more_labels, loc="upper left",
                      bbox_to_anchor=(1.08, 1.0), fontsize=7, frameon=False)
        axes[-1].set_xlabel("seconds since start")
        svg = _to_svg(figure, "llm-goodput")
    return Chart("llm-goodput", title, caption, svg)


def _limits_text(limits: dict[str, float]) -> str:
    names = {"ttft": "TTFT", "tpot": "TPOT", "total": "total"}
    return ", ".join(f"{names.get(name, name)} ≤ {duration(value)}" for name, value in limits.items())
