"""summary.md: verdict on the first line, a well-formed table, inert run text."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from reports.markdown import escape
from tests.reports.conftest import Judged, Rendered

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


def test_objectives_table(failing: Judged, render: Callable[[Judged], Rendered]) -> None:
    markdown = render(failing).markdown
    rows = table_rows(markdown, "| Objective")
    assert len(rows) == 2 + len(failing.evaluation.objectives)
    assert "| messages-p95 | latency p95 | POST /v1/messages | 95.33ms | ≤ 80ms | -15.33ms |" \
        in markdown
    assert "**FAIL**" in rows[2]
    assert "(not gating)" in rows[-1]
    assert "- messages-p95: p95 95.33ms &gt; 80ms" in markdown


def test_hostile_text_cannot_break_tables_or_inject_html(
    hostile: Judged, render: Callable[[Judged], Rendered]
) -> None:
    markdown = render(hostile).markdown
    assert "<script" not in markdown
    assert "&lt;script&gt;" in markdown and "a&amp;b" in markdown
    assert "\\`tick\\`" in markdown and "\\|" in markdown
    assert not any(ch in markdown for ch in "\x00\x07")
    for header in ("| Objective", "| Endpoint"):
        rows = table_rows(markdown, header)
        columns = len(UNESCAPED_PIPE.findall(rows[0]))
        assert all(len(UNESCAPED_PIPE.findall(row)) == columns for row in rows), rows


def test_escape() -> None:
    assert escape("a|b`c<d>&e\nf") == "a\\|b\\`c&lt;d&gt;&amp;e f"
    assert escape("*bold* _it_ [link](x)") == "\\*bold\\* \\_it\\_ \\[link\\](x)"
    assert escape("x-api-key: sk-test-SECRET123") == "x-api-key: \\[REDACTED\\]"
