"""`slogate report BUNDLE [--format html|md|junit|json] [--baseline OLD_BUNDLE]`: renders again
from the files of a bundle, one format on stdout or every file in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slogate import reports
from slogate.cli import main
from slogate.slo.bundle import EVALUATION_FILE, JUNIT_XML, REPORT_HTML, RUN_FILE, SUMMARY_MD, write_json
from slogate.slo.run import RunResult
from tests.reports.conftest import Judged


def write_bundle(folder: Path, judged: Judged) -> Path:
    write_json(folder / RUN_FILE, judged.run.to_dict())
    (folder / EVALUATION_FILE).write_text(reports.render_json(judged.evaluation), encoding="utf-8")
    return folder


def test_report_prints_one_format(tmp_path: Path, failing: Judged,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    bundle = write_bundle(tmp_path / "run", failing)
    assert main(["report", str(bundle), "--format", "md"]) == 0
    assert capsys.readouterr().out.startswith("**FAIL**")
    assert main(["report", str(bundle), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == failing.evaluation.to_dict()
    assert main(["report", str(bundle), "--format", "junit"]) == 0
    assert "<testsuites" in capsys.readouterr().out
    assert not (bundle / SUMMARY_MD).exists()  # printing rewrites nothing


def test_report_rewrites_the_bundle_with_a_baseline(
    tmp_path: Path, failing: Judged, baseline_run: RunResult, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = write_bundle(tmp_path / "run", failing)
    old = tmp_path / "old"
    write_json(old / RUN_FILE, baseline_run.to_dict())
    assert main(["report", str(bundle), "--baseline", str(old)]) == 0
    for name in (REPORT_HTML, SUMMARY_MD, JUNIT_XML, EVALUATION_FILE):
        assert (bundle / name).is_file()
    html = (bundle / REPORT_HTML).read_text(encoding="utf-8")
    assert 'id="baseline"' in html and baseline_run.run_id in html
    capsys.readouterr()


def test_report_on_a_missing_bundle_is_bad_input(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nothing-here")]) == 2
    assert "Traceback" not in capsys.readouterr().err
