"""Reports after `gate --prometheus`: the client's and the server's results side by side, and a
verdict that is both sides' (a pass on the client side never hides a fail on the server side)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from junitparser import JUnitXml

from slogate import reports
from slogate.slo.bundle import SERVER_EVALUATION_FILE, read_server_evaluation
from slogate.slo.evaluation import Evaluation, combined_verdict, side_by_side
from tests.reports.conftest import (
    CONTENT,
    HOSTILE,
    MESSAGES,
    SPEC,
    START,
    Judged,
    judge,
    make_run,
    standard_run,
)

PASSING_SPEC = SPEC.replace("threshold: 80ms", "threshold: 100ms")


@pytest.fixture(scope="module")
def client() -> Judged:
    """The load generator's view: every gating objective met (messages p95 95 ms under 100 ms)."""
    judged = judge(standard_run(), PASSING_SPEC)
    assert judged.evaluation.verdict == "pass"
    return judged


@pytest.fixture(scope="module")
def server() -> Evaluation:
    """The proxy's own view of the same window: messages twice as slow, so p95 fails; a reason that
    carries markup (a Prometheus error text could) to show it is escaped."""
    slower = make_run({MESSAGES: ([float(v) for v in range(2, 201, 2)], 1), CONTENT: ([20.0] * 200, 0)})
    evaluation = judge(slower, PASSING_SPEC).evaluation
    objectives = tuple(
        dataclasses.replace(o, reason=f"{o.reason} {HOSTILE}") if o.name == "content-p99" else o
        for o in evaluation.objectives
    )
    evaluation = dataclasses.replace(evaluation, objectives=objectives, window_start_s=START,
                                     window_end_s=START + 10, run_id="prometheus http://127.0.0.1:9090")
    assert evaluation.verdict == "fail"
    return evaluation


def test_pairs_and_combined_verdict(client: Judged, server: Evaluation) -> None:
    pairs = {pair.client.name: pair for pair in side_by_side(client.evaluation, server)}
    assert set(pairs) == {o.name for o in client.evaluation.objectives}
    p95 = pairs["messages-p95"]
    assert p95.client.verdict == "pass" and p95.server.verdict == "fail"
    assert p95.difference == pytest.approx(p95.server.measured - p95.client.measured)  # type: ignore[operator]
    assert p95.difference is not None and p95.difference > 0.08  # ~190 ms against ~95 ms
    assert combined_verdict(client.evaluation, server) == "fail"
    assert combined_verdict(client.evaluation, client.evaluation) == "pass"
    undecided = dataclasses.replace(server, verdict="inconclusive")
    assert combined_verdict(client.evaluation, undecided) == "inconclusive"


def test_html_banner_is_both_sides_and_the_table_shows_each(client: Judged, server: Evaluation) -> None:
    html = reports.render_html(client.run, client.evaluation, spec_text=PASSING_SPEC, server=server)
    banner = html[html.index('<header class="banner'):html.index("</header>")]
    assert "verdict-fail" in banner and "exit code 1" in banner
    assert "server side (Prometheus): FAIL" in banner
    section = html[html.index('<section id="server-side">'):]
    section = section[:section.index("</section>")]
    assert "messages-p95" in section and "badge-fail" in section and "badge-pass" in section
    assert "+9" in section  # server minus client on messages p95: about +95 ms
    assert "<script>" not in html and "&lt;script&gt;" in section
    # Without a server side, nothing of it shows.
    plain = reports.render_html(client.run, client.evaluation)
    assert 'id="server-side"' not in plain and "verdict-pass" in plain


def test_markdown_headline_is_both_sides(client: Judged, server: Evaluation) -> None:
    markdown = reports.render_markdown(client.run, client.evaluation, server=server)
    headline = markdown.splitlines()[0]
    assert headline.startswith("**FAIL**"), headline
    assert "client side PASS (4 of 4 gating objectives met)" in headline
    assert "server side (Prometheus) FAIL (3 of 4)" in headline and "exit code 1" in headline
    assert "### Client side and server side" in markdown
    assert "<script>" not in markdown


def test_junit_has_a_server_suite_that_fails(client: Judged, server: Evaluation) -> None:
    xml = reports.render_junit(client.run, client.evaluation, server=server)
    parsed = JUnitXml.fromstring(xml)
    suites = {suite.name: suite for suite in parsed}
    assert set(suites) == {"checkout-api", "checkout-api (server side, Prometheus)"}
    server_cases = {case.name: case for case in suites["checkout-api (server side, Prometheus)"]}
    assert not server_cases["messages-p95"].is_passed
    root = ET.fromstring(xml)
    assert int(root.attrib["failures"]) >= 1


def test_bundle_keeps_the_server_side_until_judged_without_it(
    tmp_path: Path, client: Judged, server: Evaluation
) -> None:
    reports.render_all(tmp_path, client.run, client.evaluation, server=server)
    kept = read_server_evaluation(tmp_path)
    assert kept is not None and kept.verdict == "fail"
    assert "badge-fail" in (tmp_path / "report.html").read_text(encoding="utf-8")
    # Judged again without Prometheus: an old server-side verdict is not left beside the new one.
    reports.render_all(tmp_path, client.run, client.evaluation)
    assert not (tmp_path / SERVER_EVALUATION_FILE).exists()
    assert read_server_evaluation(tmp_path) is None
