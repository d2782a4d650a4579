"""The saturated-generator check, measured by slogate in every process: a deliberately saturated
short run (Locust's own monitor reported 0% on runs under 20 s) ends inconclusive, whether its
users run in one process or in workers; and the Locust behaviour the check relies on is pinned."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slogate.loadtest.cpu import CpuMeter, sample_interval_s
from slogate.slo import validity
from slogate.slo.run import RunResult
from tests.loadtest.harness_server import Recorded, harness_server

REPO = Path(__file__).resolve().parents[2]
SPINNER = """\
import time

from locust import FastHttpUser, task

import slogate.loadtest.plugin  # noqa: F401


class Spinner(FastHttpUser):
    # No wait, and CPU work of its own after each request (20 ms: more than the server's answer
    # takes), so the users' work queues for the process's one CPU: it cannot keep up.
    @task
    def spin(self) -> None:
        self.client.get("/spin", name="/spin")
        until = time.process_time() + 0.02
        while time.process_time() < until:
            pass
"""
SPEC = "service: s\nobjectives:\n  - {name: errors, kind: error_ratio, max: 100%, min_samples: 1}\n"


@pytest.mark.slow
@pytest.mark.parametrize("processes", [None, 2])
def test_a_saturated_short_run_is_inconclusive(
    tmp_path: Path, closed_port: int, processes: int | None
) -> None:
    locustfile = tmp_path / "spinner.py"
    locustfile.write_text(SPINNER)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    bundle = tmp_path / "bundle"
    distributed = ["--processes", str(processes), "--master-bind-port", str(closed_port),
                   "--master-port", str(closed_port)] if processes else []
    with harness_server(Recorded()) as host:
        completed = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
             "--host", host, "-u", "8", "-r", "20", "-t", "6s", *distributed,
             "--slogate-out", str(bundle), "--slogate-spec", str(spec)],
            cwd=REPO, capture_output=True, text=True, timeout=90, check=False,
        )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 3, output[-3000:]
    run = RunResult.from_dict(json.loads((bundle / "run.json").read_text()))
    [flag] = [f for f in run.validity if f.code == validity.GENERATOR_SATURATED]
    measured = {name for s in run.slices for name in s.generator_processes}
    generators = measured - {"master"}
    assert len(generators) == (processes or 1), measured
    assert generators == ({"local"} if processes is None else generators - {"local"})
    busiest = max(cpu.busy_percent for s in run.slices for name, cpu in s.generator_processes.items()
                  if name in generators)
    assert busiest >= 90.0 and "over 90%" in flag.message
    # Every whole second of the run was measured, the first ones too (no 10 s baseline of 0).
    assert all(s.generator_processes for s in run.slices if s.duration_s >= 1.0)
    assert json.loads((bundle / "evaluation.json").read_text())["verdict"] == "inconclusive"


def test_cpu_samples_divide_the_slices() -> None:
    assert sample_interval_s(1.0) == 1.0 and sample_interval_s(0.5) == 0.5
    assert sample_interval_s(2.5) == pytest.approx(2.5 / 3) and sample_interval_s(10.0) == 1.0


def test_the_meter_reads_this_process_cpu_since_its_last_reading() -> None:
    import time

    meter = CpuMeter()
    until = time.process_time() + 0.3
    while time.process_time() < until:
        pass
    started, ended, cpu, wait = meter.read()
    assert ended - started >= 0.3 and meter.last_at == ended
    assert cpu + (wait or 0.0) >= 60.0  # busy the whole time (less if the machine is shared)
    time.sleep(0.3)
    _, _, idle, _ = meter.read()
    assert idle < 30.0


# -- the Locust behaviour slogate relies on ------------------------------------------------

PINS = """\
import inspect

from locust.event import Events
from locust.runners import WorkerRunner

hooks = inspect.get_annotations(Events)
for name in ("test_start", "test_stop", "report_to_master", "worker_report", "quitting", "request"):
    assert name in hooks, name
assert "self.client_id" in inspect.getsource(WorkerRunner.__init__)
assert "report_to_master.fire(client_id=self.client_id, data=data)" in inspect.getsource(WorkerRunner)
"""


def test_locust_still_has_the_events_and_names_the_cpu_check_uses() -> None:
    """Each process measures its own CPU from test_start to test_stop; a worker's samples reach
    the master in its reports (report_to_master on the worker, worker_report on the master),
    named by the worker's client_id, the id the master knows it by."""
    # Its own process: importing Locust patches the test runner's sockets and threads (gevent).
    completed = subprocess.run([sys.executable, "-c", PINS], capture_output=True, text=True, timeout=60,
                               check=False, cwd=REPO)
    assert completed.returncode == 0, completed.stderr[-3000:]


def test_the_check_reads_nothing_of_locusts_own_cpu_monitor() -> None:
    """Locust's monitor (10 s apart, a first reading of 0) left runs under 20 s unchecked: no
    part of the check may depend on it again."""
    for module in ("plugin", "workers", "validity", "recorder"):
        source = (REPO / "loadtest" / f"{module}.py").read_text(encoding="utf-8")
        for name in ("current_cpu_usage", "cpu_usage", "cpu_warning"):
            assert name not in source, (module, name)
