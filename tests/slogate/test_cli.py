"""The command line end to end: real Locust runs over real HTTP against the reference target."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from slogate.cli import main

LAX = """\
service: reference-proxy
warmup: 1s
objectives:
  - {name: content-p50, kind: latency, endpoint: "GET /content/{id}", percentile: p50, threshold: 2.5s}
  - {name: messages-p75, kind: latency, endpoint: /v1/messages, percentile: p75, threshold: 5s}
  - {name: errors, kind: error_ratio, max: 10%}
  - {name: availability, kind: availability, target: 90%}
"""

STRICT = """\
service: reference-proxy
objectives:
  - {name: content-p50, kind: latency, endpoint: "GET /content/{id}", percentile: p50, threshold: 1us}
  - {name: errors, kind: error_ratio, max: 10%}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_reports_location_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.yaml", LAX)
    bad = write(tmp_path, "bad.yaml", LAX.replace("threshold: 2.5s", "threshold: 2"))
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: objectives[0].threshold: expected a duration with a unit" in err
    assert "Traceback" not in err


def test_run_refuses_bad_input_before_loading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(tmp_path, "lax.yaml", LAX)
    assert main(["run", "--host", "127.0.0.1:80", "--spec", str(spec)]) == 2
    assert "--host: expected an http(s) URL" in capsys.readouterr().err
    assert main(["run", "--host", "http://127.0.0.1:9", "--spec", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["run", "--host", "http://127.0.0.1:9", "--spec", str(spec), "--duration", "10"])
    assert usage.value.code == 2
    # Options only Locust's side can judge (a shape) are bad input too, not an inconclusive run.
    out = tmp_path / "bundle"
    assert main(["run", "--host", "http://127.0.0.1:9", "--spec", str(spec), "--duration", "2s",
                 "--shape", "bogus", "--out", str(out)]) == 2
    assert "shape 'bogus': unknown" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["dashboards", "alerts"])
def test_unwritable_output_is_bad_input_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    spec = write(tmp_path, "lax.yaml", LAX)
    blocker = write(tmp_path, "a-file", "")  # a folder cannot be made under a file
    out = blocker / ("dashboards" if command == "dashboards" else "rules.yaml")
    assert main([command, "--spec", str(spec), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(blocker) in err and "Traceback" not in err, err


@pytest.mark.slow
def test_demo_passes_lax_spec_then_gate_fails_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lax = write(tmp_path, "lax.yaml", LAX)
    out = tmp_path / "out"
    code = main(["demo", "--duration", "6s", "--users", "8", "--spawn-rate", "8",
                 "--spec", str(lax), "--out", str(out), "--json"])
    document = json.loads(capsys.readouterr().out)
    evaluation = document["evaluation"]
    assert code == 0, evaluation["reasons"]
    assert evaluation["verdict"] == "pass"
    bundle = Path(document["bundle"])
    for name in ("run.json", "evaluation.json", "report.html", "summary.md", "junit.xml", "locust.log"):
        assert (bundle / name).is_file(), name
    run = json.loads((bundle / "run.json").read_text())
    endpoints = {name for s in run["slices"] for name in s["endpoints"]}
    assert {"POST /v1/messages", "GET /content/{id}", "GET /health/ready"} <= endpoints
    assert run["complete"] is True and run["validity"] == []

    dashboards = list((out / "dashboards").glob("*.json"))
    rules = list((out / "rules").glob("*.yaml"))
    assert dashboards and rules
    if shutil.which("promtool"):
        checked = subprocess.run(["promtool", "check", "rules", str(rules[0])],
                                 capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr

    # The same run, judged again against a spec it cannot meet: exit 1 and the reason recorded.
    strict = write(tmp_path, "strict.yaml", STRICT)
    assert main(["gate", str(bundle), "--spec", str(strict)]) == 1
    judged = json.loads((bundle / "evaluation.json").read_text())
    assert judged["verdict"] == "fail"
    assert judged["objectives"][0]["verdict"] == "fail"
    suite = ET.parse(bundle / "junit.xml").getroot()
    # One case per objective (cases named 'objective [endpoint]' break an objective down).
    objective_cases = [c for c in suite.iter("testcase") if " [" not in (c.get("name") or "")]
    assert len(objective_cases) == 2
    assert sum(1 for c in objective_cases if c.find("failure") is not None) == 1
    assert (bundle / "summary.md").read_text().lstrip().startswith(("**FAIL", "# ", "## "))


@pytest.mark.slow
def test_run_against_a_stopped_target_never_passes(
    tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, "lax.yaml", LAX)
    bundle = tmp_path / "bundle"
    code = main(["run", "--host", f"http://127.0.0.1:{closed_port}", "--spec", str(spec),
                 "--users", "2", "--spawn-rate", "2", "--duration", "3s", "--out", str(bundle)])
    assert code in (1, 3)
    evaluation = json.loads((bundle / "evaluation.json").read_text())
    assert evaluation["verdict"] != "pass"
    errors = json.loads((bundle / "run.json").read_text())["errors"]
    assert errors and all(e["kind"] != "HTTP 200" for e in errors)
    assert "ConnectionRefused" in errors[0]["kind"] or "refused" in errors[0]["message"].lower()
    html = (bundle / "report.html").read_text()
    assert evaluation["verdict"].upper() in html.upper()
