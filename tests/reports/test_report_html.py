"""report.html: verdict first, the key figures, inline SVG charts, the tables, nothing external."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser

from markupsafe import escape

from slogate.reports import format as fmt
from slogate.reports import html as html_module
from tests.reports.conftest import TRACE_ID, Judged, Rendered

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base"}
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|xlink:href|action|poster|srcset|data)\s*=\s*["']?\s*"""
    r"""(?:[a-z][a-z0-9+.-]*:)?//|url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|@import)""",
    re.IGNORECASE,
)
REFERENCE = re.compile(r"""\b(?:src|href|xlink:href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


class TagChecker(HTMLParser):
    """Fails on an end tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_tags(html: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(html)
    checker.close()
    assert checker.problems == []
    assert checker.stack == []
    return checker


def test_verdict_banner_comes_first(failing: Judged, render: Callable[[Judged], Rendered]) -> None:
    html = render(failing).html
    body = html[html.index("<body>"):]
    assert body.index('id="verdict"') < body.index('id="objectives"') < body.index('id="charts"')
    banner = body[: body.index("</header>")]
    assert 'class="banner verdict-fail"' in banner
    assert "FAIL" in banner
    assert "messages-p95: p95 95.33ms &gt; 80ms" in banner
    assert "<title>FAIL: checkout-api" in html


def test_objective_table_shows_the_figures(failing: Judged,
                                           render: Callable[[Judged], Rendered]) -> None:
    html = render(failing).html
    for objective in failing.evaluation.objectives:
        for figure in (fmt.measured(objective), fmt.threshold(objective), fmt.margin(objective),
                       fmt.samples(objective), fmt.burn_rate(objective)):
            assert figure in html, (objective.name, figure)
        assert objective.name in html
    assert "95.33ms" in html and "≤ 80ms" in html and "-15.33ms" in html
    assert "≥ 99%" in html  # availability shown as the success share against its target
    assert "800 / 200" in html
    assert html.count('class="badge badge-fail"') == 1
    assert "not gating" in html


def test_run_facts_endpoints_and_errors(failing: Judged,
                                        render: Callable[[Judged], Rendered]) -> None:
    html = render(failing).html
    for fact in ("http://127.0.0.1:8080", "scenarios/reference.py", "run-2024-01-01-abc",
                 "0.1.0-test", "rate_per_s", "2023-11-14T22:13:20Z"):
        assert fact in html
    assert "GET /content/{id}" in html and "POST /v1/messages" in html
    assert "503 Service Unavailable: upstream busy" in html
    assert "the first 2s are warm-up" in html
    assert "<pre>service: checkout-api" in html  # the spec text, escaped in a <pre>


def test_five_inline_svg_charts(failing: Judged, render: Callable[[Judged], Rendered]) -> None:
    html = render(failing).html
    svgs = SVG.findall(html)
    assert len(svgs) == 5
    for svg in svgs:
        ET.fromstring(svg)  # each chart is well-formed XML on its own
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    for key in ("latency", "distribution", "spectrum", "throughput", "errors"):
        assert f'id="chart-{key}"' in html
    # Thresholds drawn as lines and objectives as points carry their names in the legend.
    assert "messages-p95: p95 ≤ 80ms" in html
    assert "No data" not in html


def test_page_is_self_contained(failing: Judged, render: Callable[[Judged], Rendered]) -> None:
    html = render(failing).html
    assert not EXTERNAL.search(html)
    for reference in REFERENCE.findall(html):
        assert reference.startswith(("#", "data:")), reference
    lowered = html.lower()
    for tag in ("<script", "<link", "<iframe", "<object", "<embed", "<img"):
        assert tag not in lowered
    assert "Content-Security-Policy" in html


def test_markup_is_balanced(failing: Judged, invalid: Judged, empty: Judged,
                            render: Callable[[Judged], Rendered]) -> None:
    for judged in (failing, invalid, empty):
        check_tags(render(judged).html)


def test_validity_flags_are_explained(invalid: Judged,
                                      render: Callable[[Judged], Rendered]) -> None:
    html = render(invalid).html
    assert 'class="banner verdict-inconclusive"' in html
    assert "generator_saturated" in html
    assert "load generator CPU at 97% over 90%" in html
    assert "ran out of CPU" in html  # the explanation of the code
    assert "<code>incomplete</code>" in html


def test_empty_run_renders_with_no_data_notes(empty: Judged,
                                              render: Callable[[Judged], Rendered]) -> None:
    html = render(empty).html
    assert "<svg" not in html
    assert html.count('class="no-data"') >= 4  # three charts and the endpoint table
    assert "INCONCLUSIVE" in html


def test_failures_only_run_still_charts_throughput(
    failures_only: Judged, render: Callable[[Judged], Rendered]
) -> None:
    html = render(failures_only).html
    assert len(SVG.findall(html)) == 2  # throughput, and errors by kind
    assert "No data: no successful request was recorded." in html
    assert "connection refused" in html


def section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}">')
    return html[start:html.index("</section>", start)]


def test_objectives_show_statistics_budget_and_reason(rich: Judged, rich_html: str) -> None:
    table = section(rich_html, "objectives")
    for objective in rich.evaluation.objectives:
        assert fmt.confidence_interval(objective) in table or objective.ci_low is None
        assert fmt.time_to_exhaustion(objective) in table
        assert fmt.budget_consumed(objective) in table and fmt.burn_rate(objective) in table
        assert str(escape(fmt.safe_text(objective.reason))) in table
    # The validity problems come before the objectives: trust is the first question.
    assert rich_html.index('id="validity"') < rich_html.index('id="objectives"')


def test_rich_run_tables_and_facts(rich: Judged, rich_html: str) -> None:
    check_tags(rich_html)
    endpoints = section(rich_html, "endpoints")
    assert "POST /v1/messages (time to first byte)" in endpoints
    assert "Rate-limited (429)" in endpoints and "<td class=\"num\">24</td>" in endpoints  # 3 x 8
    assert "p99.9" in endpoints
    slowest = section(rich_html, "slowest")
    assert TRACE_ID in slowest and "412.3ms" in slowest
    assert slowest.index("412.3ms") < slowest.index("98ms")  # slowest first
    errors = section(rich_html, "errors")
    assert 'id="error-kinds"' in errors and "HTTP 503" in errors
    run = section(rich_html, "run")
    assert '<tr class="lost">' in run and "worker-b" in run and "lost before the end" in run
    assert "Generator CPU (peak)" in run and "67%" in run  # 40 + 3 x 9
    assert "20 sent late, 1 dropped" in run


def test_every_validity_code_is_explained_and_unknown_ones_generically(rich_html: str) -> None:
    validity = section(rich_html, "validity")
    assert html_module.VALIDITY_HELP["worker_lost"] in validity
    assert html_module.GENERIC_VALIDITY_HELP in validity  # mystery_code
    assert set(html_module.VALIDITY_HELP) == {"generator_saturated", "users_not_reached", "worker_lost",
                                              "rate_not_held", "not_started"}


def test_baseline_comparison_only_when_given(rich_html: str, failing: Judged,
                                              render: Callable[[Judged], Rendered]) -> None:
    assert 'id="chart-baseline"' in rich_html and 'id="baseline"' in rich_html
    comparison = section(rich_html, "baseline")
    assert "run-baseline-2023-12-01" in comparison
    assert '<td class="num negative">+25.9%</td>' in comparison  # messages p95 95.33 vs 75.74
    plain = render(failing).html
    assert 'id="chart-baseline"' not in plain and 'id="baseline"' not in plain
