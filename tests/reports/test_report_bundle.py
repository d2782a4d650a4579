"""render_all writes the four report files of a bundle, atomically, and each parses back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from slogate import reports
from slogate.slo.bundle import (
    EVALUATION_FILE,
    JUNIT_XML,
    REPORT_HTML,
    SUMMARY_MD,
    read_evaluation,
)
from tests.reports.conftest import SPEC, Judged


def test_render_all_writes_every_file_and_each_parses(tmp_path: Path, failing: Judged) -> None:
    bundle = tmp_path / "run-1"
    paths = reports.render_all(bundle, failing.run, failing.evaluation, spec_text=SPEC)

    assert [p.name for p in paths] == [EVALUATION_FILE, REPORT_HTML, SUMMARY_MD, JUNIT_XML]
    assert all(p.parent == bundle and p.is_file() for p in paths)
    assert sorted(p.name for p in bundle.iterdir()) == sorted(p.name for p in paths), \
        "no temporary file may be left behind"

    data = json.loads((bundle / EVALUATION_FILE).read_text(encoding="utf-8"))
    assert data["verdict"] == "fail" and data["exit_code"] == 1
    assert read_evaluation(bundle) == failing.evaluation

    suite = ET.parse(bundle / JUNIT_XML).getroot().find("testsuite")
    assert suite is not None
    objective_cases = [c for c in suite.findall("testcase") if " [" not in (c.get("name") or "")]
    assert len(objective_cases) == len(failing.evaluation.objectives)
    assert len(suite.findall("testcase/failure")) == 1

    assert (bundle / SUMMARY_MD).read_text(encoding="utf-8").startswith("**FAIL**")
    html = (bundle / REPORT_HTML).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "FAIL" in html


def test_render_all_replaces_an_earlier_report(tmp_path: Path, failing: Judged,
                                               passing: Judged) -> None:
    reports.render_all(tmp_path, failing.run, failing.evaluation)
    reports.render_all(tmp_path, passing.run, passing.evaluation)
    assert (tmp_path / SUMMARY_MD).read_text(encoding="utf-8").startswith("**PASS**")
    assert read_evaluation(tmp_path).verdict == "pass"


def test_a_rendering_error_leaves_the_bundle_untouched(
    tmp_path: Path, failing: Judged, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports.render_all(tmp_path, failing.run, failing.evaluation)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr("slogate.reports.writer.render_junit", broken)
    with pytest.raises(RuntimeError):
        reports.render_all(tmp_path, failing.run, failing.evaluation)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("scenario", ["empty", "failures_only", "invalid", "hostile"])
def test_every_scenario_renders_a_complete_bundle(
    tmp_path: Path, scenario: str, request: pytest.FixtureRequest
) -> None:
    judged: Judged = request.getfixturevalue(scenario)
    paths = reports.render_all(tmp_path, judged.run, judged.evaluation, spec_text=SPEC)
    assert len(paths) == 4
    json.loads(paths[0].read_text(encoding="utf-8"))
    ET.parse(paths[3])
    verdict = judged.evaluation.verdict.upper()
    assert paths[2].read_text(encoding="utf-8").startswith(f"**{verdict}**")
