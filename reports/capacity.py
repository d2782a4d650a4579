"""The reports of a capacity search, written beside ``capacity.json`` (its JSON report): ``report.html``
with the knee chart, ``summary.md`` and ``junit.xml``; each step's own run bundle is linked.

The knee chart draws, against the offered load: p50/p95/p99 with the spec's latency thresholds, the
error ratio with its limits, and the achieved rate (where it parts from the offered one, the target
or the generator stopped keeping up); the capacity found is marked on every panel.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from slogate.reports import format as fmt
from slogate.reports.charts import (
    PERCENTILE_COLORS,
    Chart,
    _drawing,
    _latency_scale,
    _legend,
    _minor_tick,
    _no_tick,
    _tick,
    _to_svg,
)
from slogate.reports.html import _environment
from slogate.slo.bundle import JUNIT_XML, REPORT_HTML, SUMMARY_MD, write_atomic
from slogate.slo.capacity import (
    CAPACITY_FILE,
    CapacityResult,
    StepResult,
    answer,
    decision_text,
    gate_sentences,
    load_text,
    requirement_verdict,
    step_line,
)

VERDICT_COLORS = {"pass": "#1a7f37", "fail": "#cf222e", "undecided": "#9a6700", "generator": "#9a6700"}


def write_capacity_reports(folder: Path, result: CapacityResult) -> list[Path]:
    """``capacity.json``, ``report.html``, ``summary.md`` and ``junit.xml`` into ``folder``, each
    rendered before the first is written and replaced atomically; returns their paths."""
    contents = {
        CAPACITY_FILE: render_capacity_json(result),
        REPORT_HTML: render_capacity_html(result),
        SUMMARY_MD: render_capacity_markdown(result),
        JUNIT_XML: render_capacity_junit(result),
    }
    paths = []
    for name, content in contents.items():
        write_atomic(folder / name, content)
        paths.append(folder / name)
    return paths


def render_capacity_json(result: CapacityResult) -> str:
    return json.dumps(result.to_dict(), indent=2) + "\n"


# -- the knee chart ------------------------------------------------------------------------------


def knee_chart(result: CapacityResult) -> Chart:
    title = "Knee chart"
    caption = (f"Each step against the load offered ({result.unit}): latency percentiles of successful "
               "requests with the spec's thresholds (dashed), the error ratio with its limits, and the "
               "rate achieved (dotted: achieved = offered); points coloured by the step's verdict "
               "(green held, red broke, yellow undecided or generator limited). The solid green line "
               "is the highest load that held, the dashed red one the lowest that broke.")
    steps = sorted(result.steps, key=lambda s: s.load)
    if not steps:
        return Chart("knee", title, caption, None, "No data: the search ran no step.")
    loads = [s.load for s in steps]
    with _drawing():
        figure = Figure(figsize=(9.0, 7.5))
        latency, errors, achieved = figure.subplots(3, 1, sharex=True)
        _latency_panel(latency, steps, result)
        _errors_panel(errors, steps, result)
        _achieved_panel(achieved, steps, result)
        for ax in (latency, errors, achieved):
            _mark_capacity(ax, result)
            _legend(ax)
        if max(loads) / min(loads) > 8:
            achieved.set_xscale("log")
            achieved.xaxis.set_major_formatter(FuncFormatter(_tick))
            # The 2s and 5s between powers of ten, as on latency axes; none over wide spans,
            # where every minor label would overlap its neighbours.
            wide = max(loads) / min(loads) > 200.0
            achieved.xaxis.set_minor_formatter(FuncFormatter(_no_tick if wide else _minor_tick))
        achieved.set_xlabel(f"offered load ({result.unit})")
        svg = _to_svg(figure, "knee")
    return Chart("knee", title, caption, svg)


def _latency_panel(ax: Axes, steps: Sequence[StepResult], result: CapacityResult) -> None:
    loads = [s.load for s in steps]
    shown: list[float] = []
    for percentile, values in ((50.0, [s.p50_s for s in steps]), (95.0, [s.p95_s for s in steps]),
                               (99.0, [s.p99_s for s in steps])):
        milliseconds = [math.nan if v is None else v * 1e3 for v in values]
        shown += [v for v in milliseconds if math.isfinite(v)]
        ax.plot(loads, milliseconds, marker="o", markersize=3, color=PERCENTILE_COLORS[percentile],
                label=f"p{percentile:g}")
    for threshold in result.thresholds:
        if threshold.percentile is not None:
            color = PERCENTILE_COLORS.get(threshold.percentile, "#7f7f7f")
            ax.axhline(threshold.value * 1e3, color=color, linestyle="--", linewidth=1,
                       label=fmt.one_line(threshold.label, 60))
            shown.append(threshold.value * 1e3)
    _latency_scale(ax, shown)
    ax.set_ylabel("latency (ms)")


def _errors_panel(ax: Axes, steps: Sequence[StepResult], result: CapacityResult) -> None:
    ratios = [math.nan if s.error_ratio is None else s.error_ratio * 100 for s in steps]
    ax.plot([s.load for s in steps], ratios, marker="o", markersize=3, color="#d62728",
            label="error ratio")
    for threshold in result.thresholds:
        if threshold.percentile is None:
            ax.axhline(threshold.value * 100, color="#d62728", linestyle="--", linewidth=1,
                       label=fmt.one_line(threshold.label, 60))
    ax.set_ylim(bottom=0.0)
    ax.set_ylabel("errors (%)")


def _achieved_panel(ax: Axes, steps: Sequence[StepResult], result: CapacityResult) -> None:
    loads = [s.load for s in steps]
    rates = [math.nan if s.achieved_rate is None else s.achieved_rate for s in steps]
    ax.plot(loads, rates, color="#1f77b4", label="achieved req/s")
    ax.scatter(loads, rates, c=[VERDICT_COLORS[s.verdict] for s in steps], s=18, zorder=3)
    if result.unit == "req/s":
        ax.plot(loads, loads, color="#555555", linestyle=":", linewidth=1, label="offered")
    ax.set_ylim(bottom=0.0)
    ax.set_ylabel("req/s")


def _mark_capacity(ax: Axes, result: CapacityResult) -> None:
    if result.holds_at is not None:
        ax.axvline(result.holds_at, color="#1a7f37", linewidth=1.2,
                   label=f"holds at {load_text(result.holds_at, result.unit)}")
    if result.breaks_at is not None:
        ax.axvline(result.breaks_at, color="#cf222e", linestyle="--", linewidth=1.2,
                   label=f"breaks at {load_text(result.breaks_at, result.unit)}")


# -- HTML, Markdown, JUnit -----------------------------------------------------------------------


@dataclass(frozen=True)
class StepRow:
    number: int
    load: str
    verdict: str
    css: str
    decided: str
    achieved: str
    p50: str
    p95: str
    p99: str
    errors: str
    reason: str
    bundle: str | None
    link: str | None


def step_rows(result: CapacityResult) -> list[StepRow]:
    return [StepRow(
        number=index, load=load_text(step.load, result.unit), verdict=step.verdict,
        css=step.verdict if step.verdict in ("pass", "fail") else "inconclusive",
        decided=decision_text(step).removeprefix("decided at ") or fmt.MISSING,
        achieved=fmt.MISSING if step.achieved_rate is None else fmt.rate(step.achieved_rate),
        p50=fmt.duration(step.p50_s), p95=fmt.duration(step.p95_s), p99=fmt.duration(step.p99_s),
        errors=fmt.ratio(step.error_ratio), reason=step.reason, bundle=step.bundle,
        link=None if step.bundle is None else f"{step.bundle}/{REPORT_HTML}",
    ) for index, step in enumerate(result.steps, start=1)]


def render_capacity_html(result: CapacityResult) -> str:
    context: dict[str, Any] = {
        "verdict": result.verdict, "verdict_label": fmt.verdict_label(result.verdict),
        "answer": answer(result), "gates": gate_sentences(result), "steps": step_rows(result),
        "search_time": fmt.duration(result.search_s), "exit_code": int(result.exit_code),
        "chart": knee_chart(result),
    }
    return _environment().get_template("capacity.html.j2").render(context)


def render_capacity_markdown(result: CapacityResult) -> str:
    lines = [f"# Capacity under SLO: {fmt.verdict_label(result.verdict)}", "", answer(result), ""]
    lines += [f"- {line}" for line in gate_sentences(result)]
    lines += [f"- {len(result.steps)} steps in {fmt.duration(result.search_s)}; exit code "
              f"{int(result.exit_code)}", "",
              "| # | offered | verdict | decided | achieved | p50 | p95 | p99 | errors | why |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in step_rows(result):
        offered = f"[{row.load}]({row.link})" if row.link else row.load
        cells = [str(row.number), offered, row.verdict, row.decided, row.achieved, row.p50, row.p95, row.p99,
                 row.errors, row.reason]
        lines.append("| " + " | ".join(fmt.one_line(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render_capacity_junit(result: CapacityResult) -> str:
    """One case for the search (an error when it could not answer), one per gate asked for."""
    suite = ET.Element("testsuite", {"name": "capacity under SLO", "time": f"{result.search_s:.3f}"})
    cases = [("capacity", "inconclusive" if result.outcome == "undecided" else "pass", answer(result))]
    if result.require is not None:
        cases.append((f"capacity >= {load_text(result.require, result.unit)}",
                      requirement_verdict(result, result.require), gate_sentences(result)[0]))
    if result.comparison is not None:
        cases.append(("capacity against the baseline", result.comparison.verdict, result.comparison.sentence))
    for name, verdict, message in cases:
        case = ET.SubElement(suite, "testcase", {"classname": "slogate.capacity", "name": name})
        if verdict == "fail":
            ET.SubElement(case, "failure", {"type": "slo", "message": fmt.one_line(message)})
        elif verdict == "inconclusive":
            ET.SubElement(case, "error", {"type": "inconclusive", "message": fmt.one_line(message)})
        ET.SubElement(case, "system-out").text = "\n".join(
            fmt.safe_text(step_line(s, result.unit)) for s in result.steps)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(v == "fail" for _, v, _ in cases)))
    suite.set("errors", str(sum(v == "inconclusive" for _, v, _ in cases)))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
