"""Pyrra's own example SLO, judged live: the query API of a real Prometheus (Debian's), which
scrapes its own /metrics, driven by a short slogate load test, then ``slogate gate --prometheus``
with the unmodified Pyrra file. The objective's SLI is Pyrra's PromQL
(``prometheus_http_requests_total{handler="/api/v1/query"}``, 5xx as errors), counted by
Prometheus itself: its samples are the queries the run sent. The rules ``slogate alerts`` makes
of the same file load into that Prometheus and its recording rules have data.

The run also sends a few invalid queries: Prometheus answers them 400, which Pyrra's errors
(``code=~"5.."``) leave out, so the error ratio stays 0 while every query counts in the total.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from slogate.locust_process import LoadSettings, run_locust
from slogate.slo.bundle import read_run, read_server_evaluation
from tests import prometheus_server
from tests.conftest import REPO
from tests.prometheus_server import SCRAPE_INTERVAL_S, free_port, prometheus

PYRRA_FILE = REPO / "tests/slo/data/corpus/pyrra/docker-compose_pyrra_prometheus-http.yaml"
OBJECTIVE = "prometheus-api-query"  # the file's metadata.name
SLOGATE = Path(sys.executable).parent / "slogate"  # the command of the venv running the tests
# Request names; the run's endpoints are the method and the name.
QUERY = "/api/v1/query"
BAD_QUERY = "/api/v1/query (invalid)"
LOCUSTFILE = f"""\
import slogate.loadtest.plugin  # noqa: F401
from locust import FastHttpUser, constant, task


class QueryApiUser(FastHttpUser):
    wait_time = constant(0.05)

    @task(9)
    def query(self) -> None:
        self.client.get("/api/v1/query?query=up", name="{QUERY}")

    @task(1)
    def invalid_query(self) -> None:
        # Prometheus refuses a query that does not parse with 400 bad_data: expected here.
        with self.client.get("/api/v1/query?query=up{{", name="{BAD_QUERY}",
                             catch_response=True) as response:
            if response.status_code == 400:
                response.success()
"""
# The last scrape before the window's end may be a moment late: a request or two either side.
EDGE = 3


@pytest.mark.slow
def test_pyrra_example_judged_against_a_real_prometheus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules" / "prometheus-api-query.rules.yaml"
    generated = subprocess.run([str(SLOGATE), "alerts", "--spec", str(PYRRA_FILE), "--out", str(rules)],
                               capture_output=True, text=True, timeout=60, check=False)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    recorded = [rule["record"] for group in yaml.safe_load(rules.read_text(encoding="utf-8"))["groups"]
                for rule in group["rules"] if "record" in rule]
    assert recorded and 'prometheus_http_requests_total{handler="/api/v1/query"' in rules.read_text()
    locustfile = tmp_path / "query_api.py"
    locustfile.write_text(LOCUSTFILE, encoding="utf-8")
    bundle = tmp_path / "bundle"
    # Prometheus scrapes itself: its listen port must be known before it starts, as its target.
    port = free_port()
    monkeypatch.setattr(prometheus_server, "free_port", lambda: port)
    with prometheus(tmp_path / "prom", [f"127.0.0.1:{port}"], rule_files=[rules]) as server:
        _wait_for_first_scrape(server)
        settings = LoadSettings(host=server.url, users=3, spawn_rate=3, duration_s=6.0,
                                scenario=locustfile)
        run_locust(settings, bundle, "pyrra")
        time.sleep(2.5 * SCRAPE_INTERVAL_S)  # the run's last queries scraped (no query meanwhile)
        gate = subprocess.run([str(SLOGATE), "gate", str(bundle), "--spec", str(PYRRA_FILE),
                               "--prometheus", server.url],
                              capture_output=True, text=True, timeout=60, check=False)
        assert gate.returncode != 2, gate.stdout + gate.stderr
        _check_server_side(bundle)
        assert OBJECTIVE in gate.stdout, gate.stdout
        assert OBJECTIVE in (bundle / "summary.md").read_text(encoding="utf-8")
        _check_rules(server, recorded)


def _wait_for_first_scrape(server: prometheus_server.PrometheusServer) -> None:
    """Polled through /api/v1/targets: a poll through /api/v1/query would count in the SLI."""
    deadline = time.monotonic() + 20
    while not any(target["health"] == "up" for target in server.api("/api/v1/targets")["activeTargets"]):
        assert time.monotonic() < deadline, "prometheus did not scrape itself in 20 s"
        time.sleep(0.2)


def _check_server_side(bundle: Path) -> None:
    run = read_run(bundle)
    invalid = run.merged(f"GET {BAD_QUERY}")[0].requests
    sent = run.merged(f"GET {QUERY}")[0].requests + invalid
    evaluation = read_server_evaluation(bundle)
    assert evaluation is not None
    server = {o.name: o for o in evaluation.objectives}[OBJECTIVE]
    print(f"pyrra live: sent {sent} queries ({invalid} invalid), Prometheus counted "
          f"{server.samples}, {server.bad_events} of them errors")
    assert invalid > 0
    # increase() extrapolates at the window's edges, and the last scrape may miss a request.
    assert 0.8 * sent <= server.samples <= sent + EDGE, (sent, server.samples)
    # Pyrra's errors over total is an availability objective: no 5xx, the 400s are not errors.
    assert server.kind == "availability" and server.bad_events == 0 and server.measured == 1.0, \
        json.dumps(server.to_dict())


def _check_rules(server: prometheus_server.PrometheusServer, recorded: list[str]) -> None:
    groups = server.api("/api/v1/rules")["groups"]
    health = {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}
    assert all(health.get(name) == "ok" for name in recorded), health
    # Every window's error ratio is Pyrra's own: over the run's queries, no 5xx (the 400s are not).
    for name in sorted(set(recorded)):
        series = server.wait_for(f'{name}{{slo="{OBJECTIVE}"}}', timeout_s=5.0)
        assert [s["value"][1] for s in series] == ["0"], (name, series)
