"""The reports at the widths people read them, laid out by headless Chromium: summary.md as GitHub
renders it in a 1,012 px column (a job summary, a PR comment) shows the verdict column without
scrolling; report.html's objectives table fits a 1,400 px window."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from slogate.reports import format as fmt
from slogate.reports import render_html, render_markdown
from tests.conftest import require_tool
from tests.reports.conftest import SPEC, Judged, judge, rich_run
from tests.reports.github_markdown import to_html
from tests.reports.layout import measure

GITHUB_WIDTH = 1012
"""The width of a rendered Markdown body in GitHub's job summary and PR conversation at 1280 px."""
REPORT_WIDTH = 1400


def visible_right(table: dict[str, Any]) -> float:
    """Where a GitHub table (a block that scrolls) stops showing its content."""
    return float(table["left"]) + float(table["clientWidth"])


def old_summary_table(judged: Judged) -> str:
    """The 12-column objectives table summary.md had, verdict 11th: the control for the probe."""
    header = ["Objective", "Kind", "Endpoint", "Measured", "Threshold", "Margin",
              "Confidence interval", "Samples", "Burn rate", "Budget used", "Verdict", "Reason"]
    rows = [[o.name, fmt.kind_label(o), fmt.endpoint_label(o), fmt.measured(o), fmt.threshold(o),
             fmt.margin(o), fmt.confidence_interval(o), fmt.samples(o), fmt.burn_rate(o),
             fmt.budget_consumed(o), f"**{fmt.verdict_label(o.verdict)}**", o.reason.replace(">", "&gt;")]
            for o in judged.evaluation.objectives]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def test_summary_verdict_column_is_visible_at_github_width(tmp_path: Path, rich: Judged) -> None:
    markdown = render_markdown(rich.run, rich.evaluation)
    page = to_html(markdown + "\n\n" + old_summary_table(rich) + "\n")
    found = measure(page, {"tables": "table", "headers": "table th", "verdicts": "table td:first-child"},
                    GITHUB_WIDTH, tmp_path)
    assert found["viewport"] == GITHUB_WIDTH
    tables = found["tables"]
    summary, control = tables[0], tables[-1]
    assert summary["text"].startswith("Verdict")
    verdict_headers = [h for h in found["headers"] if h["text"] == "Verdict"]
    new_header, old_header = verdict_headers[0], verdict_headers[-1]

    # The control: the old table's verdict column lies beyond the visible width.
    assert old_header["left"] >= visible_right(control), (old_header, control)
    # summary.md's objectives table: the verdict column and every verdict in it are in view,
    # and the table fits without scrolling sideways.
    assert new_header["right"] <= visible_right(summary) <= GITHUB_WIDTH
    shown = [v for v in found["verdicts"] if summary["top"] <= v["top"] < summary["bottom"]]
    assert len(shown) == len(rich.evaluation.objectives)
    assert all(v["right"] <= visible_right(summary) for v in shown)
    assert {v["text"].split(" ")[0] for v in shown} == {"FAIL", "PASS", "INCONCLUSIVE"}
    assert summary["scrollWidth"] <= summary["clientWidth"], summary

    # The screenshot a reviewer would see, for the record (SLOGATE_SCREENSHOT_DIR keeps it).
    source = tmp_path / "summary.html"
    source.write_text(to_html(markdown), encoding="utf-8")
    shot = tmp_path / "summary.png"
    captured = subprocess.run(
        [require_tool("chromium", "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile-shot'}", "--hide-scrollbars",
         f"--window-size={GITHUB_WIDTH},1600", f"--screenshot={shot}", source.as_uri()],
        capture_output=True, text=True, timeout=90, check=False)
    assert captured.returncode == 0, captured.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if out := os.environ.get("SLOGATE_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(out) / "summary.png")


def test_objectives_table_fits_a_1400px_window(tmp_path: Path) -> None:
    """The widest objectives table: every column (baseline included), not-gating badges,
    intervals, samples still needed, exhaustion times, an endpoint the run does not have."""
    spec = SPEC + """\
  - name: search-latency-for-the-quarterly-business-review-dashboard
    kind: latency
    endpoint: GET /api/v2/search/suggestions/autocomplete/{tenant}/{query}
    percentile: p99
    threshold: 150ms
"""
    judged = judge(rich_run(), spec)
    objectives = tuple(replace(o, baseline=o.measured, p_value=0.0004, test="mann-whitney")
                       for o in judged.evaluation.objectives)
    evaluation = replace(judged.evaluation, objectives=objectives)
    page = render_html(judged.run, evaluation, spec_text=spec)
    found = measure(page, {"wrap": "#objectives .table-wrap", "headers": "#objectives-table th"},
                    REPORT_WIDTH, tmp_path)
    assert any(h["text"] == "Baseline" for h in found["headers"])
    wrap = found["wrap"][0]
    assert wrap["scrollWidth"] <= wrap["clientWidth"], wrap
    assert found["page"] <= REPORT_WIDTH
    assert max(h["right"] for h in found["headers"]) <= wrap["right"]
