"""Run text is hostile until proven otherwise: escaped in every format, secrets never shown."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace

import pytest

from slogate import reports
from slogate.slo.run import ErrorGroup
from tests.reports.conftest import SECRET, Judged, Rendered
from tests.reports.test_report_html import SVG, check_tags


def test_no_secret_in_any_output(hostile: Judged, render: Callable[[Judged], Rendered]) -> None:
    for name, text in render(hostile).all().items():
        assert SECRET not in text, name
        assert "SECRET123" not in text, name
        assert "REDACTED" in text, name


def test_secret_in_an_error_message_is_masked_everywhere(failing: Judged) -> None:
    message = f"HTTP 401: upstream rejected x-api-key: {SECRET} (check the key)"
    group = ErrorGroup("POST /v1/messages", "HTTP 401", message, 4)
    run = replace(failing.run, errors=(*failing.run.errors, group))
    outputs = [
        reports.render_html(run, failing.evaluation),
        reports.render_markdown(run, failing.evaluation),
        reports.render_junit(run, failing.evaluation),
        reports.render_json(failing.evaluation),
    ]
    for text in outputs:
        assert "SECRET123" not in text
    assert "upstream rejected x-api-key: [REDACTED] (check the key)" in outputs[0]
    assert "upstream rejected x-api-key: [REDACTED] (check the key)" in outputs[2]


def test_html_escapes_everything(hostile: Judged, render: Callable[[Judged], Rendered]) -> None:
    html = render(hostile).html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b" in html
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", html)
    check_tags(html)


def test_chart_text_is_escaped_inside_the_svg(hostile: Judged,
                                              render: Callable[[Judged], Rendered]) -> None:
    svgs = SVG.findall(render(hostile).html)
    assert len(svgs) == 5
    texts: list[str] = []
    for svg in svgs:
        root = ET.fromstring(svg)  # still well-formed XML
        texts += ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert "<script" not in svg
    joined = "\n".join(texts)
    assert "<script>alert(1)</script>" in joined  # shown as text, never as markup
    assert "GET /price/$id/$x" in joined  # a '$' is not mathtext
    assert " _private" in joined  # a leading '_' does not hide the legend entry


def test_ids_are_unique_in_the_page(hostile: Judged,
                                    render: Callable[[Judged], Rendered]) -> None:
    html = render(hostile).html
    ids = re.findall(r'\sid="([^"]*)"', html)
    assert len(ids) == len(set(ids))
    for reference in re.findall(r'(?:href="|url\()#([^")]*)', html):
        assert reference in ids


def test_xml_escapes_and_strips_what_xml_forbids(
    hostile: Judged, render: Callable[[Judged], Rendered]
) -> None:
    xml = render(hostile).junit
    ET.fromstring(xml)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", xml)
    assert "&lt;script&gt;" in xml and "a&amp;b" in xml


@pytest.mark.parametrize("scenario", ["empty", "failures_only"])
def test_runs_without_latency_render_everywhere(
    scenario: str, request: pytest.FixtureRequest, render: Callable[[Judged], Rendered]
) -> None:
    outputs = render(request.getfixturevalue(scenario))
    assert outputs.html and outputs.markdown and outputs.junit and outputs.json
