"""The command line end to end: real Locust runs over real HTTP against the reference target."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from slogate import catalog
from slogate.cli import build_parser, main, parse_arguments
from slogate.locust_process import harness_locust_args
from slogate.slo.bundle import write_run
from tests.builders import CONTENT, make_run

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


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections (into its backlog) and never answers HTTP."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def test_run_refuses_bad_input_before_loading(
    tmp_path: Path, listening_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, "lax.yaml", LAX)
    host = f"http://127.0.0.1:{listening_port}"
    assert main(["run", "--host", "127.0.0.1:80", "--spec", str(spec)]) == 2
    assert "--host: expected an http(s) URL" in capsys.readouterr().err
    assert main(["run", "--host", host, "--spec", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["run", "--host", host, "--spec", str(spec), "--duration", "ten"])
    assert usage.value.code == 2
    # Options only Locust's side can judge (a shape) are bad input too, not an inconclusive run.
    out = tmp_path / "bundle"
    assert main(["run", "--host", host, "--spec", str(spec), "--duration", "2s",
                 "--shape", "bogus", "--out", str(out)]) == 2
    assert "shape 'bogus': unknown" in capsys.readouterr().err
    # So are a scenario's options Locust does not know (given after `--`, passed as given).
    assert main(["run", "--host", host, "--spec", str(spec), "--duration", "2s", "--out", str(out),
                 "--overwrite", "--", "--no-such-option", "1"]) == 2
    assert "--no-such-option" in capsys.readouterr().err


def test_a_scenarios_options_go_after_double_dash(capsys: pytest.CaptureFixture[str]) -> None:
    from slogate.locust_process import LoadSettings, locust_command

    given = ["run", "--host", "http://h:1", "--spec", "preset:web-api", "--scenario", "caching",
             "--rate-ramp", "10s", "--duration", "20",
             "--", "--cache-purge-ratio", "0", "--health-interval", "0"]
    args = parse_arguments(build_parser(), given)
    assert args.scenario_args == ("--cache-purge-ratio", "0", "--health-interval", "0")
    assert (args.duration, args.rate_ramp, args.scenario.name) == (20.0, 10.0, "caching_proxy.py")
    settings = LoadSettings(host=args.host, users=1, spawn_rate=1, duration_s=1, scenario=args.scenario,
                            extra_args=harness_locust_args(args), scenario_args=args.scenario_args)
    command = locust_command(settings, Path("b"), "id")
    assert command[-6:] == ["--slogate-rate-ramp", "10.0", *args.scenario_args]

    # Without `--`: refused, naming the options and saying where they go.
    with pytest.raises(SystemExit) as refused:
        parse_arguments(build_parser(), [*given[:-5], "--cache-purge-ratio", "0"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --cache-purge-ratio 0; options of the scenario (Locust's) go after " \
        "`--`: slogate run ... -- --cache-purge-ratio 0" in err
    # A command that starts no Locust takes nothing after `--`.
    with pytest.raises(SystemExit):
        parse_arguments(build_parser(), ["validate", "preset:web-api", "--", "--x"])
    err = capsys.readouterr().err
    assert "options after `--` go to Locust, which only run, demo and capacity start: --x" in err


def test_an_existing_bundle_is_kept_unless_overwrite(
    tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle"
    write_run(bundle / "run.json", make_run([{CONTENT: ([1.0], 0)}]))
    before = (bundle / "run.json").read_bytes()
    run = ["run", "--host", f"http://127.0.0.1:{closed_port}", "--spec", "preset:web-api",
           "--out", str(bundle)]
    assert main(run) == 2
    assert f"{bundle} already holds a run bundle (run.json): give another --out, or --overwrite" \
        in capsys.readouterr().err
    assert main([*run, "--overwrite"]) == 2  # past that check, to the target's
    assert "nothing listening" in capsys.readouterr().err
    assert (bundle / "run.json").read_bytes() == before


def test_alerts_out_may_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "--spec", "preset:web-api", "--out", f"{tmp_path / 'new'}/"]) == 0
    assert (tmp_path / "new" / "web-api.rules.yaml").is_file()
    assert (tmp_path / "new" / "web-api.rules.test.yaml").is_file()
    existing = tmp_path / "existing"
    existing.mkdir()
    assert main(["alerts", "--spec", "preset:web-api", "--out", str(existing)]) == 0
    assert (existing / "web-api.rules.yaml").is_file()
    assert main(["alerts", "--spec", "preset:web-api", "--out", str(tmp_path / "r.yaml")]) == 0
    assert (tmp_path / "r.yaml").is_file()
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("command", ["dashboards", "alerts"])
def test_dashboards_and_alerts_need_a_spec(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main([command])
    assert refused.value.code == 2
    assert "the following arguments are required: --spec" in capsys.readouterr().err


def test_presets_lists_each_preset_and_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in catalog.preset_names():
        [line] = [line for line in lines if line.startswith(f"  {name} ")]
        assert f"[--scenario {catalog.preset_scenario_arguments(name)}]" in line
    for scenario in catalog.SCENARIOS:
        assert sum(line.startswith(f"  {scenario.name} ") for line in lines) == 1
    assert len(lines) == 2 + len(catalog.preset_names()) + len(catalog.SCENARIOS)
    assert "[--scenario llm -- --llm-api openai]" in next(
        line for line in lines if line.startswith("  llm-openai-proxy "))


def test_export_writes_where_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "bundle"
    run = make_run([{CONTENT: ([1.0, 2.0], 1)}])
    write_run(bundle / "run.json", run)
    assert main(["export", str(bundle), "--out", f"{tmp_path / 'csv'}/"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "csv" / f"{run.run_id}.csv")]
    assert main(["export", str(bundle), "--format", "locust", "--out", str(tmp_path / "locust")]) == 0
    assert (tmp_path / "locust_stats.csv").is_file() and (tmp_path / "locust_stats_history.csv").is_file()
    assert main(["export", str(tmp_path / "nothing-here")]) == 2
    assert "Traceback" not in capsys.readouterr().err


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


def test_run_against_a_stopped_target_is_refused_before_any_load(
    tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, "lax.yaml", LAX)
    bundle = tmp_path / "bundle"
    host = f"http://127.0.0.1:{closed_port}"
    code = main(["run", "--host", host, "--spec", str(spec), "--duration", "3s", "--out", str(bundle)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"nothing listening at {host} (connection refused); no load was sent" in err
    assert not bundle.exists()  # no bundle claiming an SLO failure
