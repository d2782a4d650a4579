"""The Locust plugin under plain `locust -f`: master/worker processes merge into one run, and the
verdict becomes Locust's exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slogate.slo.run import RunResult
from slogate.target import ReferenceTarget

SCENARIO = Path(__file__).resolve().parents[2] / "loadtest" / "reference_mix.py"
SPEC = """\
service: reference-proxy
objectives:
  - {name: errors, kind: error_ratio, max: 0%, min_samples: 1}
  - {name: p50, kind: latency, percentile: 50, threshold: 1us, gating: false}
"""


def json_documents(text: str) -> list[list[dict[str, int]]]:
    """Every JSON document on stdout (each Locust process prints its own; the master's is whole)."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while (index := text.find("[", index)) != -1:
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents


@pytest.mark.slow
def test_processes_merge_losslessly_and_set_the_exit_code(tmp_path: Path, closed_port: int) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    bundle = tmp_path / "bundle"
    with ReferenceTarget() as target:
        completed = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(SCENARIO), "--headless", "--json",
             "--host", target.proxy_url, "-u", "6", "-r", "6", "-t", "7s", "--processes", "2",
             # Its own master port: another Locust on this machine must not join this run.
             "--master-bind-port", str(closed_port), "--master-port", str(closed_port),
             "--slogate-out", str(bundle), "--slogate-spec", str(spec)],
            capture_output=True, text=True, timeout=90, check=False,
        )
    assert completed.returncode == 0, (bundle / "evaluation.json").read_text()[:3000]
    locust_total = max(sum(e["num_requests"] for e in doc) for doc in json_documents(completed.stdout))
    run = json.loads((bundle / "run.json").read_text())
    recorded = sum(
        window["ok"]["count"] + window["failed"]["count"]
        for time_slice in run["slices"]
        for window in time_slice["endpoints"].values()
    )
    # Every request of both workers reached the master's histograms, none twice.
    assert locust_total > 100 and recorded == locust_total
    assert run["load_model"]["processes"] == 2 and run["complete"] is True
    # The scenario's totals merge across workers too: one message counted per successful call.
    messages_ok = sum(
        time_slice["endpoints"].get("POST /v1/messages", {}).get("ok", {}).get("count", 0)
        for time_slice in run["slices"]
    )
    counters = run["counters"]
    assert messages_ok > 0 and counters["messages"] == messages_ok, counters
    assert counters["input_tokens"] >= messages_ok and counters["output_tokens"] >= messages_ok
    assert RunResult.from_dict(run).counters == counters
    evaluation = json.loads((bundle / "evaluation.json").read_text())
    assert evaluation["verdict"] == "pass"
    assert evaluation["objectives"][1]["verdict"] == "fail"  # informational: reported, not gating


QUITTER = """\
import time

import gevent
from locust import FastHttpUser, constant, task
from locust.runners import WorkerRunner

import slogate.loadtest.plugin  # noqa: F401


class Quitter(FastHttpUser):
    wait_time = constant(0.05)

    def on_start(self) -> None:
        self.began = time.time()

    @task
    def read(self) -> None:
        self.client.get("/health/live", name="/health/live")
        # Each worker leaves on its own, long before the planned 8 s.
        if isinstance(self.environment.runner, WorkerRunner) and time.time() - self.began > 1.0:
            gevent.spawn(self.environment.runner.quit)
"""


@pytest.mark.slow
def test_a_run_whose_workers_quit_early_is_incomplete_and_never_passes(
    tmp_path: Path, closed_port: int
) -> None:
    locustfile = tmp_path / "quitter.py"
    locustfile.write_text(QUITTER, encoding="utf-8")
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: s\nobjectives:\n  - {name: errors, kind: error_ratio, max: 100%}\n",
                    encoding="utf-8")
    bundle = tmp_path / "bundle"
    with ReferenceTarget() as target:
        completed = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
             "--host", target.proxy_url, "-u", "4", "-r", "10", "-t", "8s", "--processes", "2",
             "--master-bind-port", str(closed_port), "--master-port", str(closed_port),
             "--slogate-out", str(bundle), "--slogate-spec", str(spec)],
            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60, check=False,
        )
    assert "The last worker quit, stopping test" in completed.stderr, completed.stderr[-3000:]
    assert completed.returncode == 3, completed.stderr[-3000:]
    run = json.loads((bundle / "run.json").read_text())
    assert run["complete"] is False
    assert run["ended_at"] - run["started_at"] < 7
    evaluation = json.loads((bundle / "evaluation.json").read_text())
    assert evaluation["verdict"] == "inconclusive"
    assert any("interrupted before its planned end" in reason for reason in evaluation["reasons"])


NEVER_STARTED = """\
import argparse
import sys

from locust.env import Environment

from slogate.loadtest.plugin import SlogateSession

options = argparse.Namespace(slogate_spec=sys.argv[1], slogate_out=sys.argv[2],
                             slogate_no_traceparent=True, num_users=4, run_time=10)
environment = Environment(parsed_options=options)
session = SlogateSession(environment)
session.on_quitting(environment)  # every worker quit before Locust fired test_start
sys.exit(environment.process_exit_code if environment.process_exit_code is not None else 99)
"""


def test_quitting_before_the_test_started_is_inconclusive_not_a_silent_pass(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    # Its own process: Locust's gevent patching must not happen inside the test runner.
    completed = subprocess.run(
        [sys.executable, "-c", NEVER_STARTED, str(spec), str(tmp_path / "bundle")],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode == 3, completed.stderr[-3000:]
    run = json.loads((tmp_path / "bundle" / "run.json").read_text())
    assert run["complete"] is False and "not_started" in {f["code"] for f in run["validity"]}
    assert json.loads((tmp_path / "bundle" / "evaluation.json").read_text())["verdict"] == "inconclusive"


@pytest.mark.parametrize(("option", "expected"), [
    (["--slogate-out", "/proc/no-such-place"], "cannot write results to /proc/no-such-place"),
    (["--slogate-metrics-port", "99999"], "expected a TCP port from 0 (any free one) to 65535"),
    (["--slogate-slice", "0"], "expected a positive number of seconds, got '0'"),
    (["--slogate-rate", "0"], "expected a positive number, got '0'"),
    (["--slogate-contract", "no-such-proxy"], "--slogate-contract: no contract file"),
])
def test_bad_options_of_plain_locust_stop_it_before_any_load(
    tmp_path: Path, option: list[str], expected: str
) -> None:
    """`locust -f loadtest/...` with a bad slogate option: exit 2 and the reason, before any
    request (the target port is closed: a run would show as refused connections), no traceback."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", "loadtest/reference_mix.py", "--headless", "-t", "2s",
         "--host", "http://127.0.0.1:9", "--slogate-spec", str(spec), *option],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60, check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output[-3000:]
    assert expected in output and "Traceback" not in output, output[-3000:]
    assert "recording run" not in output
