"""Real Locust runs of the harness: open model against a stall, live metrics and traceparent,
a worker lost mid-run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from slogate.slo.run import RunResult
from slogate.target import ReferenceTarget
from tests.loadtest.harness_server import Recorded, harness_server

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "loadtest" / "reference_mix.py"
LOCUSTFILE = """\
import slogate.loadtest.plugin  # noqa: F401
from locust import FastHttpUser, HttpUser, constant, task


class Fast(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def fast(self) -> None:
        self.client.get("/fast", name="/fast")


class Plain(HttpUser):
    wait_time = constant(0.05)

    @task
    def plain(self) -> None:
        self.client.get("/plain", name="/plain")
"""


def locust(locustfile: Path, host: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
         "--host", host, "--stop-timeout", "2", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


@pytest.mark.slow
def test_open_model_counts_latency_from_intended_start_through_a_stall(tmp_path: Path) -> None:
    locustfile = tmp_path / "open.py"
    locustfile.write_text(LOCUSTFILE.split("\n\nclass Plain")[0] + "\n")
    recorded = Recorded()
    bundle = tmp_path / "bundle"
    with harness_server(recorded) as host:
        recorded.stall_after_first_s, recorded.stall_length_s = 1.0, 1.0
        # 40 arrivals/s with a pool of 4 users: during the 1 s stall every user is stuck, so the
        # arrivals queue (late) and their latency must count from when they were due.
        code, output = finish(locust(locustfile, host, "-u", "4", "-r", "100", "-t", "4s",
                                     "--slogate-rate", "40", "--slogate-out", str(bundle)))
    assert code == 0, output[-3000:]
    run = RunResult.from_dict(json.loads((bundle / "run.json").read_text()))
    window, _ = run.merged("/fast")
    assert 120 <= window.requests <= 170  # 40/s for 4 s, not throttled by the stall
    # Closed-loop measurement would show at most 4 slow requests (< 3%); from the intended
    # start, every arrival due during the stall waited for its end.
    assert (window.ok.quantile(0.95) or 0) > 400_000
    assert (window.ok.quantile(0.99) or 0) > 800_000
    assert sum(s.dispatch_late for s in run.slices) >= 20
    assert all(s.target_rate == 40 for s in run.slices[:3])
    assert run.load_model["model"] == "open" and run.load_model["rate"] == 40
    assert not run.validity


@pytest.mark.slow
def test_live_metrics_and_traceparent_during_a_run(tmp_path: Path, closed_port: int) -> None:
    locustfile = tmp_path / "both.py"
    locustfile.write_text(LOCUSTFILE)
    recorded = Recorded()
    bundle = tmp_path / "bundle"
    with harness_server(recorded) as host:
        process = locust(locustfile, host, "-u", "4", "-r", "10", "-t", "4s",
                         "--slogate-out", str(bundle), "--slogate-metrics-port", str(closed_port))
        scraped = ""
        deadline = time.time() + 15
        while time.time() < deadline and "/fast" not in scraped:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{closed_port}/metrics", timeout=2) as reply:
                    scraped = reply.read().decode()
            except OSError:
                continue
        code, output = finish(process)
    assert code == 0, output[-3000:]
    bucket = 'slogate_loadtest_request_duration_seconds_bucket{endpoint="GET /fast",le="0.1",outcome="ok"}'
    for name in ("slogate_loadtest_users", "slogate_loadtest_target_users 4.0", bucket,
                 "slogate_loadtest_generator_cpu_percent{process=\"local\"}"):
        assert name in scraped, name
    traceparents = [h.get("traceparent", "") for h in recorded.headers]
    assert len(traceparents) > 20
    pattern = re.compile(r"^00-([0-9a-f]{32})-[0-9a-f]{16}-01$")
    assert all(pattern.match(t) for t in traceparents), traceparents[:3]
    sent_ids = {pattern.match(t).group(1) for t in traceparents}  # type: ignore[union-attr]
    assert len(sent_ids) == len(traceparents)  # one trace per request
    run = json.loads((bundle / "run.json").read_text())
    endpoints = {s["endpoint"] for s in run["slowest"]}
    assert endpoints == {"GET /fast", "GET /plain"}  # FastHttpUser and HttpUser both traced
    assert {s["trace_id"] for s in run["slowest"]} <= sent_ids
    latencies = [s["latency_us"] for s in run["slowest"]]
    assert latencies == sorted(latencies, reverse=True) and len(latencies) == 20


@pytest.mark.slow
def test_a_worker_killed_late_makes_the_run_invalid(tmp_path: Path, closed_port: int) -> None:
    """Killed about 2 s before the end, too soon for heartbeats to tell, a worker sends no final
    report: lost. (Killed early, the master sees its heartbeats stop: the network partition of
    tests/integration/test_netns_workers.py proves that case, a worker gone silent mid-run.)"""
    bundle = tmp_path / "bundle"
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: s\nobjectives:\n  - {name: errors, kind: error_ratio, max: 100%, "
                    "min_samples: 1}\n")
    with ReferenceTarget() as target:
        process = locust(SCENARIO, target.proxy_url, "-u", "4", "-r", "10", "-t", "7s",
                         "--processes", "2", "--slogate-out", str(bundle), "--slogate-spec", str(spec),
                         # Its own port: other Locust runs on this machine must not join this one.
                         "--master-bind-port", str(closed_port), "--master-port", str(closed_port))
        deadline = time.time() + 20
        workers: list[psutil.Process] = []
        while time.time() < deadline and len(workers) < 2:
            time.sleep(0.3)
            workers = forked_workers(process.pid)
        # The first checkpoint is written 5 s into the 7 s run.
        while time.time() < deadline + 10 and not (bundle / "run.json").exists():
            time.sleep(0.1)
        victim = workers[0]
        victim.kill()
        code, output = finish(process)
    assert code == 3, output[-3000:]
    run = json.loads((bundle / "run.json").read_text())
    lost = [w for w in run["workers"] if w["lost"]]
    assert len(lost) == 1, run["workers"]
    assert any(f["code"] == f"worker_lost:{lost[0]['worker_id']}" and lost[0]["worker_id"] in f["message"]
               for f in run["validity"])
    assert {w["worker_id"] for w in run["workers"]} >= {"master", lost[0]["worker_id"]}
    evaluation = json.loads((bundle / "evaluation.json").read_text())
    assert evaluation["verdict"] == "inconclusive"


SLOW_TASKS = """\
import gevent
from locust import HttpUser, constant, task

import slogate.loadtest.plugin  # noqa: F401


class SlowTask(HttpUser):
    wait_time = constant(0)

    @task
    def request_then_think(self) -> None:
        self.client.get("/health/live")
        gevent.sleep(7)  # still in its task 4 s after the run ends: --stop-timeout lets it finish
"""


@pytest.mark.slow
def test_workers_finishing_their_tasks_within_the_stop_timeout_are_not_lost(
    tmp_path: Path, closed_port: int
) -> None:
    """Final reports come after the users stop, which --stop-timeout may delay past the master's
    usual wait: healthy workers must not be taken for lost."""
    locustfile = tmp_path / "slow_tasks.py"
    locustfile.write_text(SLOW_TASKS)
    bundle = tmp_path / "bundle"
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: s\nobjectives:\n  - {name: errors, kind: error_ratio, max: 100%, "
                    "min_samples: 1}\n")
    with ReferenceTarget() as target:
        process = locust(locustfile, target.proxy_url, "-u", "2", "-r", "10", "-t", "3s", "--processes", "2",
                         "--stop-timeout", "9", "--slogate-out", str(bundle), "--slogate-spec", str(spec),
                         "--master-bind-port", str(closed_port), "--master-port", str(closed_port))
        code, output = finish(process)
    run = json.loads((bundle / "run.json").read_text())
    assert run["validity"] == [], run["validity"]
    assert code == 0, output[-3000:]
    assert not any(w["lost"] for w in run["workers"]) and len(run["workers"]) == 3, run["workers"]


@pytest.mark.slow
def test_workers_that_never_connect_are_inconclusive_not_a_slo_failure(
    tmp_path: Path, closed_port: int
) -> None:
    """Locust gives up on missing workers with exit 1, which reads as "SLO failed": the gate says
    inconclusive (3) instead, with a bundle that says no load was sent."""
    bundle = tmp_path / "bundle"
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: s\nobjectives:\n  - {name: errors, kind: error_ratio, max: 1%}\n")
    process = locust(SCENARIO, "http://127.0.0.1:9", "--master", "--expect-workers", "1",
                     "--expect-workers-max-wait", "1", "-t", "5s", "--master-bind-host", "127.0.0.1",
                     "--master-bind-port", str(closed_port), "--slogate-out", str(bundle),
                     "--slogate-spec", str(spec))
    code, output = finish(process, timeout=30)
    assert code == 3, output[-3000:]
    assert "the workers never connected" in output
    run = json.loads((bundle / "run.json").read_text())
    assert [flag["code"] for flag in run["validity"]] == ["not_started"]
    evaluation = json.loads((bundle / "evaluation.json").read_text())
    assert evaluation["verdict"] == "inconclusive" and evaluation["exit_code"] == 3


def forked_workers(master_pid: int) -> list[psutil.Process]:
    """The master's forked Locust workers: its children running this Python, not a passing
    ``git rev-parse`` (the plugin asks for the revision), which must not be taken for a worker."""
    found = []
    for child in psutil.Process(master_pid).children():
        try:
            if child.exe() == psutil.Process(master_pid).exe():
                found.append(child)
        except psutil.Error:
            continue  # gone already: not a worker that is running
    return found
