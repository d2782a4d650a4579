"""A proxy without latency histograms: Debian's HAProxy (tests/haproxy_server.py) with its
built-in Prometheus exporter in front of the reference target. Error ratio and availability are
judged server-side from ``haproxy_backend_http_responses_total`` by status class; latency
objectives are judged client-side only, and the gate says why server-side latency is missing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from slogate.cli import main
from slogate.locust_process import LoadSettings, run_locust
from slogate.slo.bundle import read_evaluation, read_server_evaluation
from slogate.target import ReferenceTarget
from tests.haproxy_server import haproxy_proxy
from tests.prometheus_server import SCRAPE_INTERVAL_S, prometheus

SPEC = """\
service: haproxy-edge
objectives:
  - {name: availability, kind: availability, target: 90%}
  - {name: errors, kind: error_ratio, max: 10%}
  - {name: p50, kind: latency, percentile: 50, threshold: 250ms}
"""


@pytest.mark.slow
def test_haproxy_ratios_server_side_latency_client_side_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = tmp_path / "haproxy-edge.yaml"
    spec_path.write_text(SPEC, encoding="utf-8")
    bundle = tmp_path / "bundle"
    with ReferenceTarget() as origin, haproxy_proxy(tmp_path / "haproxy", origin.proxy_url) as proxy, \
            prometheus(tmp_path / "prom", [proxy.metrics_target]) as server:
        assert server.wait_for('up{job="proxy"} == 1')
        run_locust(LoadSettings(host=proxy.url, users=5, spawn_rate=5, duration_s=6.0), bundle, "h")
        time.sleep(2.5 * SCRAPE_INTERVAL_S)
        assert server.wait_for('sum(haproxy_backend_http_responses_total{code="2xx"}) > 0')
        code = main(["gate", str(bundle), "--spec", str(spec_path), "--prometheus", server.url,
                     "--contract", "haproxy"])
        out = capsys.readouterr().out
    assert "server side (Prometheus)" in out and "p50" in out, out
    # The reports say why the server side has no latency.
    why = "the haproxy contract has no latency histogram"
    assert why in (bundle / "summary.md").read_text(encoding="utf-8")
    assert why in (bundle / "report.html").read_text(encoding="utf-8")
    server_evaluation = read_server_evaluation(bundle)
    assert server_evaluation is not None
    server_side = {o.name: o for o in server_evaluation.objectives}
    client = {o.name: o for o in read_evaluation(bundle).objectives}
    # Ratios from HAProxy's counters; the same requests the run sent (extrapolated at the edges).
    assert server_side["availability"].samples == pytest.approx(client["errors"].samples, rel=0.25)
    assert server_side["errors"].samples == pytest.approx(client["errors"].samples, rel=0.25)
    assert server_side["errors"].measured == pytest.approx(client["errors"].measured, abs=0.02)
    assert server_side["availability"].verdict == server_side["errors"].verdict == "pass"
    # Latency: judged by the run, inconclusive server-side with the reason, never dropped.
    assert client["p50"].verdict == "pass" and client["p50"].measured is not None
    assert server_side["p50"].verdict == "inconclusive"
    assert "judged client-side only" in server_side["p50"].reason
    # What HAProxy cannot measure is left out of the server's verdict (named above), not a doubt
    # that would make every HAProxy gate with a latency objective inconclusive.
    assert not server_side["p50"].gating
    assert server_evaluation.verdict == "pass", server_evaluation.reasons
    assert code == int(read_evaluation(bundle).exit_code)  # the run's own verdict decides
    print(f"haproxy agreement: requests {client['errors'].samples} client vs "
          f"{server_side['errors'].samples} server; error ratio {client['errors'].measured} vs "
          f"{server_side['errors'].measured}; p50 {client['p50'].measured * 1000:.2f} ms client only")
