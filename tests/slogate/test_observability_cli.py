"""``slogate dashboards`` and ``slogate alerts``: files, contract overrides, the bucket check
against a live target, and the upload to a (local, recording) Grafana-like HTTP endpoint."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from slogate.cli import main
from slogate.pipeline import write_observability
from slogate.slo.spec import Spec
from slogate.target import ReferenceTarget
from tests.conftest import REFERENCE_SPEC
from tests.loadtest.harness_server import serving

REFERENCE = ("--spec", str(REFERENCE_SPEC))

OFF_BUCKET = """\
service: shop
objectives:
  - {name: slow, kind: latency, percentile: p99, threshold: 300ms}
"""
TOKEN = "glsa_secret_token_1234567890"


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({"path": self.path, "auth": self.headers["Authorization"],
                                    "body": body})
        answer = json.dumps({"status": "success", "url": f"/d/{body['dashboard']['uid']}/x"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def grafana() -> Iterator[str]:
    _Recorder.received = []
    with serving(_Recorder) as url:
        yield url


def test_dashboards_upload_with_the_token_never_printed(
    grafana: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    code = main(["dashboards", *REFERENCE, "--out", str(tmp_path), "--grafana-url", grafana])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert len(list(tmp_path.glob("*.json"))) == 3
    assert [r["auth"] for r in _Recorder.received] == [f"Bearer {TOKEN}"] * 3
    assert {r["path"] for r in _Recorder.received} == {"/api/dashboards/db"}
    assert all(r["body"]["overwrite"] for r in _Recorder.received)
    assert out.count("uploaded ") == 3
    assert TOKEN not in out + err


def test_dashboards_upload_needs_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    code = main(["dashboards", *REFERENCE, "--out", str(tmp_path), "--grafana-url", "http://127.0.0.1:9"])
    assert code == 2
    assert "GRAFANA_TOKEN" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))


def test_contract_file_errors_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text("request_durration: x\n", encoding="utf-8")
    assert main(["dashboards", *REFERENCE, "--out", str(tmp_path), "--contract", str(contract)]) == 2
    err = capsys.readouterr().err
    assert f"{contract}: unknown metric contract field(s) request_durration" in err


def test_contract_file_renames_metrics(tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text("request_duration: nginx_http_seconds\nselector: 'job=\"edge\"'\n",
                        encoding="utf-8")
    rules = tmp_path / "edge.rules.yaml"
    assert main(["alerts", *REFERENCE, "--out", str(rules), "--contract", str(contract)]) == 0
    text = rules.read_text(encoding="utf-8")
    assert 'nginx_http_seconds_count{job="edge"' in text and "http_server_request" not in text


def test_alerts_check_target_buckets(
    promtool: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "off.yaml"
    spec.write_text(OFF_BUCKET, encoding="utf-8")
    with ReferenceTarget() as target:
        requests.get(f"{target.proxy_url}/content/1", timeout=5)
        metrics = f"{target.proxy_url}/metrics"
        good = main(["alerts", *REFERENCE, "--out", str(tmp_path / "ok.rules.yaml"),
                     "--check-target", metrics, "--tiers", "page", "--page-severity", "warning"])
        bad = main(["alerts", "--spec", str(spec), "--out", str(tmp_path / "bad.rules.yaml"),
                    "--check-target", metrics])
    out, err = capsys.readouterr()
    assert good == 0
    assert out.split() == [str(tmp_path / n) for n in
                           ("ok.rules.yaml", "ok.rules.test.yaml", "ok.inhibit.yaml")]
    assert bad == 2
    assert "threshold 300ms is not a bucket boundary" in err
    assert "nearest buckets: 250ms (le=0.25) and 500ms (le=0.5)" in err
    assert not (tmp_path / "bad.rules.yaml").exists()
    result = subprocess.run([promtool, "test", "rules", str(tmp_path / "ok.rules.test.yaml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tier: ticket" not in (tmp_path / "ok.rules.yaml").read_text(encoding="utf-8")


def test_alerts_unknown_tier_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", *REFERENCE, "--out", str(tmp_path / "x.rules.yaml"), "--tiers", "pager"]) == 2
    assert "unknown alert tier(s) pager" in capsys.readouterr().err


def test_demo_observability_writes_three_dashboards_and_the_rule_files(
    reference_spec: Spec, tmp_path: Path
) -> None:
    paths = write_observability(reference_spec, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == [
        "dashboards/reference-proxy-loadtest.json",
        "dashboards/reference-proxy-proxy-overview.json",
        "dashboards/reference-proxy-slos.json",
        "rules/reference-proxy.inhibit.yaml",
        "rules/reference-proxy.rules.test.yaml",
        "rules/reference-proxy.rules.yaml",
    ]
