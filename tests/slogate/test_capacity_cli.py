"""``slogate capacity``: bad input refused before any load (exit 2), and one short real search
against a finite-capacity server (one request in service at once, about 20 ms each: 50 req/s at
most)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.capacity import LOCUSTFILE, Queue, finite_capacity_server
from slogate.cli import build_parser, main, parse_arguments
from tests.conftest import REFERENCE_SPEC

HOST = "http://127.0.0.1:9"
SPEC = """\
service: one-server
objectives:
  - name: work-p50
    kind: latency
    endpoint: GET /work
    percentile: p50
    threshold: 250ms
"""


def exit_code(argv: list[str]) -> int:
    """The command's exit code, from argparse's own refusals (SystemExit) too."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(("options", "message"), [
    (["--from", "100", "--to", "10"], "--from 100 is above --to 10"),
    (["--require", "5000/s", "--to", "1000"], "--require 5000 is above --to 1000"),
    (["--tolerance", "5%"], "--tolerance needs --baseline"),
    (["--from", "fast"], "expected a load such as 100/s"),
    (["--resolution", "0%"], "expected a share above 0, at most 100%"),
    (["--users-search", "--from", "2.5"], "must be whole numbers"),
    (["--baseline", "missing.json"], "--baseline missing.json: No such file"),
    (["--step-duration", "5s", "--min-step", "10s"], "--step-duration 5s leaves nothing to decide early"),
    (["--step-duration", "10s"], "the first decision comes after 20s of a step"),
    (["--fixed-steps", "--min-step", "10s"], "--min-step goes with steps decided early"),
])
def test_bad_input_is_refused_before_any_load(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert exit_code(["capacity", "--host", HOST, "--spec", str(REFERENCE_SPEC), "--out", str(tmp_path),
                      *options]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "steps").exists()


def test_bad_input_is_refused_without_a_traceback_under_python_m(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "slogate.cli", "capacity", "--host", HOST, "--spec",
                           str(REFERENCE_SPEC), "--out", str(tmp_path), "--from", "100", "--to", "10"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "--from 100 is above --to 10" in done.stderr and "Traceback" not in done.stderr


def test_a_scenarios_options_go_after_double_dash() -> None:
    args = parse_arguments(build_parser(), ["capacity", "--host", HOST, "--spec", "preset:web-api",
                                            "--", "--cache-keys", "5000"])
    assert args.scenario_args == ("--cache-keys", "5000")


def test_an_unreachable_target_gets_no_load(
    closed_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["capacity", "--host", f"http://127.0.0.1:{closed_port}", "--spec", str(REFERENCE_SPEC),
                 "--out", str(tmp_path)])
    assert code == 2
    assert "no load was sent" in capsys.readouterr().err


def test_a_baseline_of_another_kind_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old.json").write_text(json.dumps({"schema_version": 1, "run_id": "x"}))
    code = main(["capacity", "--host", HOST, "--spec", str(REFERENCE_SPEC), "--out", str(tmp_path),
                 "--baseline", str(tmp_path / "old.json")])
    assert code == 2
    assert "not a capacity result" in capsys.readouterr().err


@pytest.mark.slow
def test_capacity_of_a_finite_capacity_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "capacity"
    with finite_capacity_server(Queue(servers=1, median_s=0.020, sigma=0.1)) as url:
        code = main(["capacity", "--host", url, "--spec", str(spec), "--scenario", str(locustfile),
                     "--from", "30", "--to", "60", "--resolution", "100%", "--step-duration", "9s",
                     "--min-step", "2s", "--settle", "1s", "--slice", "0.5", "--out", str(out)])
    printed = capsys.readouterr().out
    found = json.loads((out / "capacity.json").read_text())
    assert code == 0, printed
    # 30/s keeps the one server 60% busy: p50 about 30 ms, far below 250 ms even on a busy machine;
    # 60/s is more than it serves (50/s): its queue grows by 10 requests a second (failed, or
    # undecided when the median's interval still reaches below 250 ms: the top of the bracket either
    # way). Its pool of 60 users may run out once responses take 1 s: the target's doing (CI once
    # called that the generator's limit, with the median at 1 s undecided).
    assert found["outcome"] == "found", found["answer"]
    assert found["holds_at"] == 30 and [s["load"] for s in found["steps"]] == [30, 60]
    assert found["answer"] in printed
    # Each step decided at its first look (5 s in), well before its maximum (10 s).
    passed = found["steps"][0]
    assert passed["max_s"] == 10 and passed["decided_s"] is not None and passed["decided_s"] < 10, passed
    assert passed["achieved_rate"] == pytest.approx(30, rel=0.35)
    for step in found["steps"]:
        assert (out / step["bundle"] / "report.html").exists()
    assert "<svg" in (out / "report.html").read_text()
