"""summary.md: verdict on the first line, a well-formed table, inert run text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest

from slogate.reports import format as fmt
from slogate.reports import markdown as markdown_module
from slogate.reports.markdown import escape, render_markdown
from slogate.slo.run import ErrorGroup
from tests.reports.conftest import TRACE_ID, Judged, Rendered

UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def table_rows(markdown: str, header_start: str) -> list[str]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


@pytest.mark.parametrize(("scenario", "marker"), [
    ("failing", "**FAIL**"), ("passing", "**PASS**"), ("invalid", "**INCONCLUSIVE**"),
    ("empty", "**INCONCLUSIVE**"),
])
def test_first_line_is_the_verdict(scenario: str, marker: str, request: pytest.FixtureRequest,
                                   render: Callable[[Judged], Rendered]) -> None:
    markdown = render(request.getfixturevalue(scenario)).markdown
    assert markdown.splitlines()[0].startswith(marker + " ")


def test_objectives_table_is_what_a_reviewer_reads(
    failing: Judged, render: Callable[[Judged], Rendered]
) -> None:
    """Verdict first, then objective, measured, threshold and margin; the rest is in report.html."""
    markdown = render(failing).markdown
    rows = table_rows(markdown, "| Verdict")
    assert rows[0] == "| Verdict | Objective | Measured | Threshold | Margin |"
    assert len(rows) == 2 + len(failing.evaluation.objectives)
    assert rows[2] == ("| **FAIL** | messages-p95 · latency p95 · POST /v1/messages | 95.33ms | ≤ 80ms "
                       "| -15.33ms |")
    assert rows[-1].startswith("| **INCONCLUSIVE** (not gating) | tail-p99.9 ")
    assert "| **PASS** | error-ratio · error ratio · all endpoints | " in markdown
    # A share's margin is in percentage points.
    error_ratio = next(o for o in failing.evaluation.objectives if o.name == "error-ratio")
    assert f"| {fmt.margin(error_ratio)} |" in markdown and fmt.margin(error_ratio).endswith(" pp")
    # The reason is said once, as a bullet above the table, not again in a column.
    p95 = next(o for o in failing.evaluation.objectives if o.name == "messages-p95")
    assert "- messages-p95: p95 95.33ms &gt; 80ms" in markdown
    assert markdown.count(escape(p95.reason, markdown_module.CELL_LIMIT)) == 1
    for elsewhere in (fmt.confidence_interval(p95), fmt.burn_rate(p95), fmt.samples(p95)):
        assert escape(elsewhere) not in markdown, elsewhere


def test_hostile_text_cannot_break_tables_or_inject_html(
    hostile: Judged, render: Callable[[Judged], Rendered]
) -> None:
    markdown = render(hostile).markdown
    assert "<script" not in markdown
    assert "&lt;script&gt;" in markdown and "a&amp;b" in markdown
    assert "\\`tick\\`" in markdown and "\\|" in markdown
    assert not any(ch in markdown for ch in "\x00\x07")
    for header in ("| Verdict", "| Endpoint"):
        rows = table_rows(markdown, header)
        columns = len(UNESCAPED_PIPE.findall(rows[0]))
        assert all(len(UNESCAPED_PIPE.findall(row)) == columns for row in rows), rows


def test_escape() -> None:
    assert escape("a|b`c<d>&e\nf") == "a\\|b\\`c&lt;d&gt;&amp;e f"
    assert escape("*bold* _it_ [link](x)") == "\\*bold\\* \\_it\\_ \\[link\\](x)"
    assert escape("x-api-key: sk-test-SECRET123") == "x-api-key: \\[REDACTED\\]"


def test_rich_summary_explains_validity_and_lists_slowest(rich: Judged) -> None:
    markdown = render_markdown(rich.run, rich.evaluation)
    first_table = markdown.index("| Verdict")
    trust = markdown.index("**This run cannot be trusted**")
    assert trust < first_table  # trust is said before the figures
    assert escape(fmt.VALIDITY_HELP["worker_lost"]) in markdown
    assert escape(fmt.GENERIC_VALIDITY_HELP) in markdown  # the code no renderer knows
    assert TRACE_ID in markdown and "POST /v1/messages (time to first byte)" in markdown
    assert "2 workers (1 lost)" in markdown
    assert table_rows(markdown, "| Verdict")[2].startswith("| **FAIL** | messages-p95 ·")  # failures first


def test_a_huge_evaluation_is_cut_to_fit_a_pr_comment(failing: Judged) -> None:
    template = failing.evaluation.objectives[0]
    objectives = tuple(replace(template, name=f"objective-{i}", reason="r" * 2000)
                       for i in range(500))
    errors = tuple(ErrorGroup(f"GET /e{i}", "HTTP 500", "m" * 5000, i + 1) for i in range(500))
    evaluation = replace(failing.evaluation, objectives=objectives,
                         reasons=tuple(o.reason for o in objectives))
    run = replace(failing.run, errors=errors)

    markdown = render_markdown(run, evaluation)
    assert len(markdown) <= markdown_module.MAX_CHARS
    assert len(markdown.encode()) < 1024 * 1024  # GitHub's step summary limit
    assert f"{500 - markdown_module.MAX_OBJECTIVES} more objectives in report.html." in markdown
    rows = table_rows(markdown, "| Verdict")
    assert len(rows) == 2 + markdown_module.MAX_OBJECTIVES

    tight = render_markdown(run, evaluation, max_chars=5000)
    assert len(tight) <= 5000 and tight.rstrip().endswith(markdown_module.CUT_NOTE.strip())
    assert tight.startswith("**FAIL**")
    kept = [line for line in tight.splitlines() if line.startswith("|")]
    assert all(line.endswith("|") for line in kept)  # never a half row
