"""Locust master and workers on separate machines, without a cluster: each in a network namespace
of its own, joined by veth pairs (tests/integration/netns.py), the way the documented multi-machine
and Kubernetes set-ups run them. The merged result holds both workers and every request the target
answered; a worker cut off by a network partition mid-run makes the run invalid, naming it.

Needs root (``ip netns``): skipped without it, and a failure instead when CI is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, unavailable
from tests.integration.netns import (
    FIRST_FROM,
    READY,
    Machine,
    NamespacesForbidden,
    Network,
    namespaces_left,
    network,
)
from tests.reliability.helpers import kill_tree, recorded_requests

pytestmark = pytest.mark.slow

TARGET_PORT = 8080
MASTER_PORT = 5557
USERS = 4
RATE = 40
WORKER_HOSTS = ("worker-1", "worker-2")
SCENARIO = """\
from locust import FastHttpUser, task

import slogate.loadtest.plugin  # noqa: F401


class Reader(FastHttpUser):
    @task
    def read(self) -> None:
        self.client.get("/")
"""
SPEC = "service: s\nobjectives:\n  - {name: errors, kind: error_ratio, max: 100%, min_samples: 1}\n"


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    run: dict[str, Any]
    served: dict[str, int]
    """Requests the target received, by client address."""
    logs: str


@pytest.fixture
def machines() -> Iterator[Network]:
    """A master machine (the hub, which also hosts the target) and two worker machines."""
    try:
        with network(WORKER_HOSTS, hub_hostname="master") as made:
            yield made
    except NamespacesForbidden as exc:
        unavailable(f"network namespaces are not available: {exc}")
    assert not namespaces_left(), "the test's namespaces must be removed"


@pytest.fixture
def processes(machines: Network) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The processes a test starts on the machines; none outlives it (nor its namespaces: this
    fixture ends before ``machines`` does)."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        kill_tree(process.pid)
        process.wait(timeout=10)


def start(machine: Machine, argv: list[str], log: Path, *, piped: bool = False) -> subprocess.Popen[bytes]:
    """``argv`` on ``machine``, its output in ``log`` (its standard output piped, if ``piped``)."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    environment.pop("SLOGATE_API_KEY", None)
    with log.open("wb") as output:
        return subprocess.Popen(machine.command(argv), cwd=REPO, env=environment, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE if piped else output, stderr=output)


def load_test(machines: Network, processes: list[subprocess.Popen[bytes]], folder: Path, *,
              run_time_s: float, partition: Machine | None = None) -> Outcome:
    """Master and target on the hub, a worker on each other machine; ``partition``'s link goes
    down once it has sent its first request."""
    hub = machines.hub
    scenario, spec, bundle = folder / "scenario.py", folder / "spec.yaml", folder / "bundle"
    scenario.write_text(SCENARIO)
    spec.write_text(SPEC)
    target = start(hub, [sys.executable, "-m", "tests.integration.netns", "serve", hub.address,
                         str(TARGET_PORT)], folder / "target.log", piped=True)
    processes.append(target)
    locust = [sys.executable, "-m", "locust", "-f", str(scenario), "--loglevel", "INFO"]
    master = start(hub, [
        *locust, "--master", "--headless", "--expect-workers", str(len(machines.machines)),
        "--expect-workers-max-wait", "30", "--master-bind-host", hub.address,
        "--master-bind-port", str(MASTER_PORT), "--host", f"http://{hub.address}:{TARGET_PORT}",
        "-u", str(USERS), "-r", str(USERS), "-t", f"{run_time_s:g}s", "--stop-timeout", "1",
        "--slogate-rate", str(RATE), "--slogate-arrivals", "poisson",
        "--slogate-out", str(bundle), "--slogate-spec", str(spec),
        # Four Python processes on a shared machine: a busy moment is not what this test is about.
        "--slogate-accept-saturated",
    ], folder / "master.log")
    processes.append(master)
    for machine in machines.machines:
        processes.append(start(machine, [*locust, "--worker", "--master-host", hub.address,
                                         "--master-port", str(MASTER_PORT)],
                               folder / f"{machine.hostname}.log"))

    assert target.stdout is not None
    assert target.stdout.readline().decode().strip() == READY, (folder / "target.log").read_text()

    def logs() -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
                         for log in sorted(folder.glob("*.log")))

    if partition is not None:
        # Once it has sent (its first request reached the target), the machine is cut off.
        announced = f"{FIRST_FROM} {partition.address}"
        while (line := target.stdout.readline().decode().strip()) != announced:
            assert line.startswith(FIRST_FROM) and master.poll() is None, logs()
        partition.take_link_down()
    try:
        exit_code = master.wait(timeout=run_time_s + 30)
    except subprocess.TimeoutExpired:
        pytest.fail("the master did not finish\n" + logs())
    target.terminate()
    printed, _ = target.communicate(timeout=10)
    counts = json.loads(printed.decode().splitlines()[-1])
    run = json.loads((bundle / "run.json").read_text()) if (bundle / "run.json").exists() else {}
    return Outcome(exit_code, run, counts, logs())


def worker_ids(run: dict[str, Any]) -> dict[str, str]:
    """Each worker's Locust id by its machine's hostname (Locust names a worker after its host)."""
    return {w["worker_id"].split("_")[0]: w["worker_id"] for w in run["workers"]
            if w["worker_id"] != "master"}


def test_workers_on_two_machines_merge_into_one_result(
    machines: Network, processes: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    outcome = load_test(machines, processes, tmp_path, run_time_s=3)
    run = outcome.run
    assert outcome.exit_code == 0, outcome.logs
    assert run["validity"] == [] and run["complete"] is True, outcome.logs
    # Both workers are in the merged result, each with the CPU it measured itself.
    workers = worker_ids(run)
    assert set(workers) == set(WORKER_HOSTS), run["workers"]
    assert all(w["max_cpu_percent"] is not None and not w["lost"] for w in run["workers"]), run["workers"]
    # Each worker sent from its own machine, nothing came from elsewhere, and every request the
    # target answered is in the histograms merged on the master (users finish within --stop-timeout).
    assert set(outcome.served) == {m.address for m in machines.machines}, outcome.served
    assert all(count > 0 for count in outcome.served.values()), outcome.served
    assert recorded_requests(run) == sum(outcome.served.values()), outcome.logs
    # The open model's Poisson arrivals at 40/s, split between the workers: about 120 in 3 s.
    assert run["load_model"]["arrivals"] == "poisson" and run["load_model"]["rate"] == RATE
    assert 60 <= recorded_requests(run) <= 200, recorded_requests(run)


def test_a_worker_cut_off_by_a_partition_makes_the_run_invalid_and_is_named(
    machines: Network, processes: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    # Cut off early in a 5 s run, it misses its heartbeats (3 s) before the end: lost.
    cut_off = machines.machines[1]
    outcome = load_test(machines, processes, tmp_path, run_time_s=5, partition=cut_off)
    run = outcome.run
    assert outcome.exit_code == 3, outcome.logs
    lost = [w["worker_id"] for w in run["workers"] if w["lost"]]
    assert lost == [worker_ids(run)[cut_off.hostname]], run["workers"]
    flags = {flag["code"]: flag["message"] for flag in run["validity"]}
    assert lost[0] in flags.get(f"worker_lost:{lost[0]}", ""), flags
    assert outcome.served.get(cut_off.address, 0) > 0  # it did send, until the partition
