"""One load run against a target with broken responses, shared by the fault, security and binding
tests (each real run costs seconds; one run proves several things)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from slogate.target import FaultConfig, ReferenceTarget
from tests.reliability.helpers import (
    ERRORS_SPEC,
    SlogateProcess,
    descendants,
    kill_tree,
    listening_addresses,
    run_args,
    start_slogate,
    wait_for,
)

API_KEY = "qa7Zr2-reliability-apikey-9d41"
"""Sent by the scenario as ``x-api-key`` (SLOGATE_API_KEY); matches none of the redactor's patterns."""
BEARER = "Tk.reliability-bearer-55e0c3"
"""Sent as ``Authorization: Bearer ...``."""

# A scenario that tries hard to leak: it prints the key bare, and its failure messages carry the
# request headers. slogate must mask both wherever it writes.
LEAKY_SCENARIO = '''\
import os

from locust import task

from slogate.loadtest.reference_mix import ProxyUser

HEADERS = {"Authorization": "Bearer " + os.environ["RELIABILITY_BEARER"],
           "x-api-key": os.environ["SLOGATE_API_KEY"],
           "Cache-Control": "no-cache"}  # past the cache, into the faults


class LeakyUser(ProxyUser):
    def on_start(self):
        super().on_start()
        print("key in use", os.environ["SLOGATE_API_KEY"], flush=True)
        print("sending", HEADERS, flush=True)

    @task(6)
    def read_uncached(self):
        with self.client.get("/content/1", name="/content/{id}", headers=HEADERS,
                             catch_response=True) as response:
            if response.status_code >= 500:
                response.failure(f"HTTP {response.status_code} for a request with headers {HEADERS!r}")
'''


@dataclass
class FaultyRun:
    bundle: Path
    code: int
    slogate: SlogateProcess
    target_pid: int
    listening: list[tuple[int, str, int]]
    """(pid, ip, port) of every socket the target and the load test listened on mid-run."""
    metrics_port: int


@pytest.fixture(scope="session")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyRun]:
    """`slogate run` for 9 s (three bursts: a verdict on bursty errors needs several) against a
    target that resets 8% of responses mid-body, leaves 4% hanging after their headers (the proxy
    times out after 0.5 s: 504) and answers every request 503 for 1 s of every 3 s; with an API
    key, a bearer token and the metrics endpoint on."""
    folder = tmp_path_factory.mktemp("faulty")
    spec = folder / "spec.yaml"
    spec.write_text(ERRORS_SPEC, encoding="utf-8")
    scenario = folder / "leaky.py"
    scenario.write_text(LEAKY_SCENARIO, encoding="utf-8")
    faults = FaultConfig(reset_ratio=0.08, hang_ratio=0.04, burst_s=1.0, burst_every_s=3.0, seed=7)
    bundle = folder / "bundle"
    with ReferenceTarget(faults=faults, upstream_timeout_s=0.5) as target:
        from tests.target.target_helpers import unused_port

        metrics_port = unused_port()
        child = start_slogate(
            run_args(target.proxy_url, spec, bundle, duration="9s", extra=["--scenario", str(scenario),
                                                           "--metrics-port", str(metrics_port)]),
            folder, env={"SLOGATE_API_KEY": API_KEY, "RELIABILITY_BEARER": BEARER},
        )
        try:
            pids = [target.pid, *(p.pid for p in descendants(target.pid))]

            def metrics_listening() -> bool:
                return any(port == metrics_port for _, _, port in
                           listening_addresses([p.pid for p in descendants(child.pid)]))

            wait_for(metrics_listening, 20, "the load test's metrics endpoint")
            listening = listening_addresses(pids + [p.pid for p in descendants(child.pid)])
            code = child.wait(timeout=60)
        finally:
            kill_tree(child.pid)
    yield FaultyRun(bundle, code, child, target.pid, listening, metrics_port)
