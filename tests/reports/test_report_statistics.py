"""The evaluator's windows, test statistic, regression flag and throughput objectives reach every
rendering: HTML (with a per-window chart), Markdown, JUnit and the JSON Schema."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace

from jsonschema import Draft202012Validator

from slogate.reports import render_json
from slogate.reports.schemas import evaluation_schema
from tests.reports.conftest import Judged, Rendered


def test_windowed_objectives_in_html_with_a_chart_per_window(
    windowed: Judged, render: Callable[[Judged], Rendered]
) -> None:
    html = render(windowed).html
    assert "4 of 4 windows of 2s missed" in html
    assert "0 of 4 windows of 2s missed" in html
    # One chart per windowed objective; four bars each; the missing one red, the other green.
    assert html.count('class="window-chart"') == 2
    assert 'id="chart-windows-5-' in html and 'id="chart-windows-6-' in html
    assert "1x (budget pace)" in html
    assert "z = -5.85" in html  # the error ratio's test statistic
    assert "throughput" in html and "301/s" in html and "≥ 100/s" in html


def test_windowed_objectives_in_markdown_and_junit(
    windowed: Judged, render: Callable[[Judged], Rendered]
) -> None:
    rendered = render(windowed)
    assert "- messages-p95-per-2s: windows: 4 of 4 windows of 2s missed" in rendered.markdown
    assert "test statistic: z = -5.85" in rendered.markdown
    root = ET.fromstring(rendered.junit)
    cases = {case.get("name"): case for case in root.iter("testcase")}
    failure = cases["messages-p95-per-2s"].find("failure")
    assert failure is not None and "windows: 4 of 4 windows of 2s missed" in (failure.text or "")
    passed = cases["throughput"]
    assert passed.find("failure") is None and passed.find("error") is None


def test_regression_flag_is_shown(failing: Judged, render: Callable[[Judged], Rendered]) -> None:
    objectives = list(failing.evaluation.objectives)
    objectives[0] = replace(objectives[0], baseline=0.08, p_value=0.001, test="mann-whitney",
                            regression=True)
    judged = Judged(failing.run, replace(failing.evaluation, objectives=tuple(objectives)))
    rendered = render(judged)
    assert "baseline comparison:</span> regression" in rendered.html
    assert "baseline comparison: regression" in rendered.markdown
    assert "baseline comparison: regression" in rendered.junit


def test_windowed_evaluation_is_valid_against_the_schema(windowed: Judged) -> None:
    data = json.loads(render_json(windowed.evaluation))
    assert list(Draft202012Validator(evaluation_schema()).iter_errors(data)) == []
    windowed_result = data["objectives"][5]
    assert windowed_result["windows_failed"] == 4 and len(windowed_result["window_burn_rates"]) == 4
    assert data["objectives"][-1]["unit"] == "rps"
