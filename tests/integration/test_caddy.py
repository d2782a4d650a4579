"""Server-side SLIs from a real proxy's own histograms: Debian's Caddy (tests/caddy_server.py) in
front of the reference target, a real Prometheus scraping Caddy's metrics, a short load test
through Caddy, then ``gate --prometheus --contract caddy``: client and server SLIs side by side.
Dashboards and alert rules generated for the caddy contract are checked against that Prometheus.

How close the two sides can be: Caddy counts what it proxied, the run what it sent; ``increase()``
extrapolates to the window's edges, and a latency share is only known at Caddy's bucket bounds
(the threshold must be one), measured from Caddy's handler rather than from the client socket.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from slogate.alerts import PROXY_CIRCUIT_BREAKER_OPEN, plan_alerts, write_alert_files
from slogate.cli import main
from slogate.dashboards import build_dashboards
from slogate.locust_process import LoadSettings, run_locust
from slogate.slo.bundle import read_evaluation, read_run, read_server_evaluation
from slogate.slo.contract import contracts_from_mapping
from slogate.slo.specfile.load import parse_spec
from slogate.target import ReferenceTarget
from tests.caddy_server import caddy_proxy
from tests.integration.test_observability_live import concrete, panel_queries
from tests.prometheus_server import SCRAPE_INTERVAL_S, prometheus

# Caddy's handler label holds handler names, not routes: these objectives select every request.
SPEC = """\
service: caddy-edge
objectives:
  - {name: availability, kind: availability, target: 90%}
  - {name: errors, kind: error_ratio, max: 10%}
  - {name: under-250ms, kind: latency, target: 50%, threshold: 250ms}
  - {name: under-5ms, kind: latency, target: 1%, threshold: 5ms, gating: false}
  - {name: p50, kind: latency, percentile: 50, threshold: 1s}
"""
CADDY = contracts_from_mapping({"preset": "caddy"})[0]


@pytest.mark.slow
def test_caddy_is_gated_from_its_own_histograms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = tmp_path / "caddy-edge.yaml"
    spec_path.write_text(SPEC, encoding="utf-8")
    spec = parse_spec(SPEC, str(spec_path))
    rules = tmp_path / "rules" / "caddy-edge.rules.yaml"
    write_alert_files(spec, rules, CADDY)
    bundle = tmp_path / "bundle"
    with ReferenceTarget() as origin, caddy_proxy(tmp_path / "caddy", origin.proxy_url) as caddy, \
            prometheus(tmp_path / "prom", [caddy.metrics_target], rule_files=[rules]) as server:
        assert server.wait_for('up{job="proxy"} == 1')
        run_locust(LoadSettings(host=caddy.url, users=5, spawn_rate=5, duration_s=6.0), bundle, "c")
        time.sleep(2.5 * SCRAPE_INTERVAL_S)  # the last requests scraped, the rules evaluated
        assert server.wait_for("sum(caddy_http_request_duration_seconds_count) > 0")

        code = main(["gate", str(bundle), "--spec", str(spec_path), "--prometheus", server.url,
                     "--contract", "caddy"])
        out = capsys.readouterr().out
        assert code in (0, 1, 3) and "server side (Prometheus)" in out, out
        _check_both_sides(bundle)
        _check_dashboards(server, spec)
        _check_rules(server, rules)
    assert "panic" not in caddy.log_text()


def _check_both_sides(bundle: Path) -> None:
    run = read_run(bundle)
    client = {o.name: o for o in read_evaluation(bundle).objectives}
    server_evaluation = read_server_evaluation(bundle)
    assert server_evaluation is not None
    server = {o.name: o for o in server_evaluation.objectives}
    sent = run.merged()[0].requests
    # Request counts: the same requests, seen by Caddy; increase() extrapolates at the edges.
    assert server["availability"].samples == pytest.approx(client["availability"].samples, rel=0.25)
    assert server["availability"].samples == pytest.approx(sent, rel=0.25)
    # Ratios: no failures on either side through a healthy Caddy.
    assert server["errors"].measured == pytest.approx(client["errors"].measured, abs=0.02)
    # Latency: the share under 250 ms (a Caddy bucket) agrees within a few points; p50 agrees
    # within its bucket ([0.1, 0.25] s or wherever the client's median falls).
    share_client, share_server = client["under-250ms"].measured, server["under-250ms"].measured
    assert share_client is not None and share_server is not None
    assert share_server == pytest.approx(share_client, abs=0.05), (share_client, share_server)
    # Under Caddy's first bucket (5 ms) the two clocks differ by Caddy's own work and the loopback
    # hops, which the client's clock includes and Caddy's does not.
    fast_client, fast_server = client["under-5ms"].measured, server["under-5ms"].measured
    assert fast_client is not None and fast_server is not None
    assert fast_server >= fast_client - 0.05 and fast_server == pytest.approx(fast_client, abs=0.25)
    median_client, median_server = client["p50"].measured, server["p50"].measured
    assert median_client is not None and median_server is not None
    # The same bucket, or the one below: Caddy's clock leaves out its own work and the loopback
    # hops (a few ms here), so a client median just over a bucket bound may be under it for Caddy.
    below = max([b for b in CADDY.buckets_s if b < median_client], default=0.0)
    below = max([b for b in CADDY.buckets_s if b < below], default=0.0)
    above = min(b for b in CADDY.buckets_s if b >= median_client)
    assert below <= median_server <= above, (median_client, median_server)
    print(f"caddy agreement: requests {client['availability'].samples} client vs "
          f"{server['availability'].samples} server; share under 250ms {share_client:.4f} vs "
          f"{share_server:.4f}; under 5ms {fast_client:.4f} vs {fast_server:.4f}; "
          f"p50 {median_client * 1000:.2f} ms vs {median_server * 1000:.2f} ms")


def _check_dashboards(server: object, spec: object) -> None:
    models = build_dashboards(spec, CADDY)  # type: ignore[arg-type]
    # The load-test dashboard reads slogate's own exporter, not the proxy's contract: checked
    # against the reference target in test_observability_live.
    queries = [q for q in panel_queries(models) if q[0] != "loadtest"]
    assert queries
    failures = [f"{dashboard} / {panel}: no data for\n{concrete(expr)}"
                for dashboard, panel, expr in queries
                if not server.query(concrete(expr))]  # type: ignore[attr-defined]
    assert not failures, "\n".join(failures)


def _check_rules(server: object, rules: Path) -> None:
    groups = server.api("/api/v1/rules")["groups"]  # type: ignore[attr-defined]
    unhealthy = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"]
                 if r["health"] != "ok"]
    assert not unhealthy, unhealthy
    records = [r["record"] for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"]
               if "record" in r]
    assert records
    empty = [record for record in records if not server.wait_for(record, 10)]  # type: ignore[attr-defined]
    assert not empty, empty
    alert_names = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert PROXY_CIRCUIT_BREAKER_OPEN not in alert_names
    assert plan_alerts(parse_spec(SPEC), CADDY).unmeasured == ()
