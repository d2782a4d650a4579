"""Prometheus as an SLI source: a real Prometheus scraping the reference target under a real load."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from slogate.cli import main
from slogate.locust_process import LoadSettings, run_locust
from slogate.slo.bundle import read_run, read_server_evaluation
from slogate.slo.contract import DEFAULT_CONTRACT
from slogate.slo.prometheus_source import (
    PrometheusClient,
    PrometheusError,
    PrometheusQueryError,
    evaluate_prometheus,
)
from slogate.slo.run import RunResult
from slogate.slo.specfile.load import parse_spec
from slogate.target import ReferenceTarget
from tests.prometheus_server import SCRAPE_INTERVAL_S, PrometheusServer, prometheus

SPEC = """\
service: reference-proxy
objectives:
  - {name: content-p50, kind: latency, endpoint: "GET /content/{id}", percentile: p50, threshold: 250ms}
  - {name: content-share, kind: latency, endpoint: "GET /content/{id}", target: 50%, threshold: 1s}
  - {name: errors, kind: error_ratio, max: 50%}
  - {name: availability, kind: availability, endpoint: "/content/{id}", target: 50%}
  - {name: throughput, kind: throughput, min: 1/s}
"""


@pytest.mark.slow
def test_server_side_slis_from_a_real_prometheus(
    tmp_path: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC, encoding="utf-8")
    spec = parse_spec(SPEC, str(spec_path))
    bundle = tmp_path / "bundle"
    with ReferenceTarget() as target, prometheus(tmp_path / "prom", [target.proxy_url[7:]]) as server:
        assert server.wait_for('up{job="proxy"} == 1')
        # 6 s: a pass needs events in 5 one-second slices (judge.MIN_SLICES_TO_PASS). Slices lie on
        # the epoch's second grid: a 4 s run covers parts of 5, and when an edge part holds no
        # request, only 4 (the client side inconclusive).
        settings = LoadSettings(host=target.proxy_url, users=5, spawn_rate=5, duration_s=6.0)
        run_locust(settings, bundle, "p")
        time.sleep(2.5 * SCRAPE_INTERVAL_S)  # let the last requests be scraped
        run = read_run(bundle)
        client = PrometheusClient(server.url)
        end = run.ended_at + 2.0
        evaluation = evaluate_prometheus(spec, client, run.started_at - 1.0, end)
        _check_server_side(evaluation.to_dict(), run)

        # Side by side with the run's client-side SLIs, and the gate passes only if both do.
        code = main(["gate", str(bundle), "--spec", str(spec_path), "--prometheus", server.url])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "server side (Prometheus): PASS" in out and "content-p50" in out
        # ... and in the bundle's reports, which `slogate report` renders again the same way.
        assert read_server_evaluation(bundle) is not None
        html = (bundle / "report.html").read_text(encoding="utf-8")
        table = html[html.index('id="server-side-table"'):]
        assert "content-p50" in table[:table.index("</table>")]
        assert "Client side and server side" in (bundle / "summary.md").read_text(encoding="utf-8")
        (bundle / "report.html").unlink()
        assert main(["report", str(bundle)]) == 0
        assert 'id="server-side-table"' in (bundle / "report.html").read_text(encoding="utf-8")
        _check_errors(server, spec, spec_path, closed_port, end)


def _check_server_side(evaluation: dict[str, object], run: RunResult) -> None:
    results = {o["name"]: o for o in evaluation["objectives"]}  # type: ignore[attr-defined]
    assert evaluation["verdict"] == "pass", evaluation["reasons"]
    content = results["content-p50"]
    assert content["unit"] == "s" and 0 < content["measured"] <= 0.25
    assert "histogram_quantile" in content["reason"]
    # increase() extrapolates at the window's edges: the counts agree with the client's roughly.
    client_side, _ = run.merged("GET /content/{id}")
    assert content["samples"] == pytest.approx(client_side.ok.count, rel=0.3)
    assert results["throughput"]["measured"] > 1.0


def _check_errors(
    server: PrometheusServer, spec: object, spec_path: Path, closed_port: int, end: float
) -> None:
    client = PrometheusClient(server.url)
    # Nothing scraped an hour ago: no data is an error, never a pass.
    with pytest.raises(PrometheusError, match="no http_server_request_duration_seconds samples"):
        evaluate_prometheus(spec, client, end - 3600, end - 3000)  # type: ignore[arg-type]
    # A query Prometheus refuses (an invalid regex in the contract's selector) is bad input.
    broken = DEFAULT_CONTRACT.with_overrides({"selector": 'job=~"("'})
    with pytest.raises(PrometheusQueryError, match="refused"):
        evaluate_prometheus(spec, client, end - 30, end, contract=broken)  # type: ignore[arg-type]
    # A latency threshold between bucket bounds cannot be judged server-side.
    odd = parse_spec(SPEC.replace("threshold: 250ms", "threshold: 300ms"))
    with pytest.raises(PrometheusQueryError, match="not a bucket bound"):
        evaluate_prometheus(odd, client, end - 30, end)
    unreachable = ["gate", "--spec", str(spec_path), "--prometheus", f"http://127.0.0.1:{closed_port}",
                   "--from", "now-1m"]
    assert main(unreachable) == 3
    assert main(["gate", "--spec", str(spec_path), "--prometheus", server.url, "--from", "yesterday"]) == 2
    assert main(["gate", "--spec", str(spec_path), "--prometheus", server.url,
                 "--from", str(end - 3600), "--to", str(end - 3000)]) == 3
