"""``--contract`` reaches validate and gate --prometheus (besides alerts and dashboards)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.cli import main

CADDY = "request_duration: caddy_http_request_duration_seconds\nroute_label: handler\nstatus_label: code\n"
SPEC = "service: s\nobjectives:\n  - {name: p99, kind: latency, percentile: p99, threshold: 300ms}\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    contract, spec = tmp_path / "caddy.yaml", tmp_path / "spec.yaml"
    contract.write_text(CADDY, encoding="utf-8")
    spec.write_text(SPEC, encoding="utf-8")
    return contract, spec


def test_validate_with_a_contract_refuses_a_threshold_that_is_no_bucket(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    contract, spec = files
    assert main(["validate", str(spec)]) == 0
    assert main(["validate", str(spec), "--contract", str(contract)]) == 2
    assert "threshold 300ms is not a bucket boundary" in capsys.readouterr().err


def test_gate_takes_a_contract_with_prometheus_only(
    files: tuple[Path, Path], closed_port: int, capsys: pytest.CaptureFixture[str],
) -> None:
    contract, spec = files
    assert main(["gate", "bundle", "--spec", str(spec), "--contract", str(contract)]) == 2
    assert "goes with --prometheus" in capsys.readouterr().err
    # Accepted with --prometheus: the unreachable server is the only problem left (exit 3).
    code = main(["gate", "--spec", str(spec), "--contract", str(contract), "--prometheus",
                 f"http://127.0.0.1:{closed_port}", "--from", "now-10m"])
    assert code == 3 and "cannot reach Prometheus" in capsys.readouterr().err


def test_an_unreadable_contract_is_bad_input(files: tuple[Path, Path], tmp_path: Path) -> None:
    _, spec = files
    broken = tmp_path / "broken.yaml"
    broken.write_text("request_durations: x\n", encoding="utf-8")
    assert main(["validate", str(spec), "--contract", str(broken)]) == 2
