"""Property-based: hostile text anywhere in a run or a spec never breaks a report's format.

Error messages, header values (as they reach error messages), endpoint names, validity flags,
worker ids and the spec's service and objective names are generated with Hypothesis from markup
(``<script>``, attribute breakers), Markdown table breakers (``|``, backticks, newlines),
characters XML forbids, very long strings and RTL / zero-width characters. Whatever they hold:
HTML gets no tag or attribute from the data, Markdown tables keep their column count, junit.xml
parses, and evaluation.json is strict JSON.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slogate import reports
from slogate.slo.run import ErrorGroup, SlowRequest, ValidityFlag, WorkerInfo
from slogate.slo.spec import ErrorRatioObjective, LatencyObjective, Spec
from tests.reports.conftest import Judged, judge, make_run
from tests.reports.test_report_html import check_tags

REPRODUCIBLE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PIECES = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//x.example/x.js>",
    "</textarea><script>",
    "<img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='",
    "<iframe src=javascript:alert(1)>",
    "javascript:alert(1)",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&#x3c;script&#x3e;",
    "{{ 7*7 }}",
    "|",
    "||",
    "\\|",
    "`",
    "```",
    "*",
    "_",
    "~~",
    "[x](javascript:alert(1))",
    "# heading",
    "---",
    "\n",
    "\r\n",
    "\r",
    "\x00",
    "\x07",
    "\x0b",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\ufffe",
    "\udcff",
    "\u202e",
    "\u200b",
    "\u200f",
    "\u2028",
    "\ufeff",
    "x-api-key: ",
    "Authorization: Bearer ",
]
HOSTILE = st.one_of(
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), min_size=1, max_size=6).map("".join),
    st.tuples(st.integers(1_000, 20_000), st.sampled_from(PIECES)).map(lambda t: "y" * t[0] + t[1]),
)


@st.composite
def hostile_judged(draw: st.DrawFn) -> Judged:
    names = draw(st.lists(HOSTILE, min_size=1, max_size=3, unique=True))
    endpoints = {f"{name}#{i}": ([float(v) for v in range(1, 31)], i) for i, name in enumerate(names)}
    first = next(iter(endpoints))
    run = make_run(
        endpoints,
        slices=3,
        errors=[
            ErrorGroup(endpoint, draw(HOSTILE), f"HTTP 401 {draw(HOSTILE)}: {draw(HOSTILE)}", 3)
            for endpoint in endpoints
        ],
        validity=[ValidityFlag(draw(HOSTILE), draw(HOSTILE))] if draw(st.booleans()) else [],
        target=f"https://api.example.com/{draw(HOSTILE)}",
    )
    run = run.__class__(
        **{
            **run.__dict__,
            "run_id": draw(HOSTILE),
            "scenario": draw(HOSTILE),
            "load_model": {draw(HOSTILE): draw(HOSTILE), "rate_per_s": 10},
            "slowest": (SlowRequest(first, 40_000.0, 1.0, draw(HOSTILE), draw(HOSTILE)),),
            "workers": (WorkerInfo(draw(HOSTILE), 50.0, lost=draw(st.booleans())),),
        }
    )
    spec = Spec(
        service=draw(HOSTILE),
        source=draw(HOSTILE),
        objectives=(
            LatencyObjective(name=f"{draw(HOSTILE)}-lat", percentile=95.0, threshold_s=0.02, endpoint=first),
            ErrorRatioObjective(name=f"{draw(HOSTILE)}-err", max_ratio=0.01, description=draw(HOSTILE)),
        ),
    )
    return judge(run, spec)


class AttributeCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def check_html(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered and "<iframe" not in lowered and "<img" not in lowered
    collector = AttributeCollector()
    collector.feed(html)
    collector.close()
    assert not {"script", "iframe", "img", "textarea"} & collector.tags
    for tag, name, value in collector.attributes:
        assert not name.startswith("on"), (tag, name, value)
        assert name not in {"autofocus", "src"}, (tag, name, value)
        assert "javascript:" not in value.lower(), (tag, name, value)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]", html)
    check_tags(html)
    html.encode("utf-8")  # no lone surrogate: the file can be written


def unescaped_pipes(line: str) -> int:
    count, index = 0, 0
    while index < len(line):
        if line[index] == "\\":
            index += 2
            continue
        count += line[index] == "|"
        index += 1
    return count


def check_markdown(markdown: str) -> None:
    lines = markdown.split("\n")
    tables = 0
    for index, line in enumerate(lines):
        if not re.fullmatch(r"\|(---\|)+", line):
            continue
        tables += 1
        columns = unescaped_pipes(lines[index - 1])
        assert columns == line.count("|")
        for row in lines[index + 1 :]:
            if not row:
                break
            assert row.startswith("| ") and row.endswith(" |"), row[:200]
            assert unescaped_pipes(row) == columns, row[:200]
    assert tables >= 2  # the objectives and the errors at least
    assert "<script" not in markdown.lower() and "<img" not in markdown.lower()
    # U+2028 may stay: CommonMark ends lines at LF and CR only.
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]", markdown)
    assert not re.search(r"(?<!\\)`", markdown), "a backtick from the data opens a code span"


def check_junit(xml: str) -> None:
    root = ET.fromstring(xml)
    assert root.tag in {"testsuites", "testsuite"}
    assert len(list(root.iter("testcase"))) >= 2
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", xml)


def reject_constant(name: str) -> None:
    raise AssertionError(f"not strict JSON: {name}")


def check_json(text: str) -> None:
    data = json.loads(text, parse_constant=reject_constant)
    assert isinstance(data["service"], str)
    text.encode("utf-8")


@settings(REPRODUCIBLE, max_examples=40)
@given(hostile_judged())
def test_markdown_junit_and_json_survive_hostile_values(judged: Judged) -> None:
    check_markdown(reports.render_markdown(judged.run, judged.evaluation))
    check_junit(reports.render_junit(judged.run, judged.evaluation))
    check_json(reports.render_json(judged.evaluation))


@settings(REPRODUCIBLE, max_examples=6)
@given(hostile_judged(), HOSTILE)
def test_html_survives_hostile_values(judged: Judged, spec_text: str) -> None:
    # Few examples: each page draws its charts with matplotlib.
    check_html(reports.render_html(judged.run, judged.evaluation, spec_text=spec_text))
