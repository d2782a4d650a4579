"""``--contract`` reaches every command that reads a spec: validate, run, gate (with or without
--prometheus), alerts and dashboards; a contract the spec names wins, and that is said."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.cli import main
from slogate.slo.bundle import read_evaluation, read_run, write_run
from slogate.slo.evaluator import evaluate
from slogate.slo.specfile.load import load_spec
from tests.builders import make_run

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


def test_gate_takes_a_contract_with_or_without_prometheus(
    files: tuple[Path, Path], closed_port: int, capsys: pytest.CaptureFixture[str],
) -> None:
    contract, spec = files
    assert main(["gate", "bundle", "--spec", str(spec), "--contract", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--contract: no contract file " in err and "nope and no contract preset 'nope'" in err
    # Accepted with --prometheus: the unreachable server is the only problem left (exit 3).
    code = main(["gate", "--spec", str(spec), "--contract", str(contract), "--prometheus",
                 f"http://127.0.0.1:{closed_port}", "--from", "now-10m"])
    assert code == 3 and "cannot reach Prometheus" in capsys.readouterr().err


OPENSLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: api-errors}
spec:
  service: shop
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  indicator:
    metadata: {name: api-errors}
    spec:
      ratioMetric:
        counter: true
        bad: {metricSource: {type: Prometheus, spec: {query: 'caddy_http_request_duration_seconds_count{
          handler="/content/{id}", code=~"5.."}'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'caddy_http_request_duration_seconds_count{
          handler="/content/{id}"}'}}}
  objectives:
    - target: 0.9
"""


def test_an_openslo_spec_on_caddys_names_is_judged_from_a_run_under_the_caddy_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    spec = tmp_path / "slo.yaml"
    spec.write_text(OPENSLO, encoding="utf-8")
    bundle = tmp_path / "bundle"
    write_run(bundle / "run.json", make_run({"GET /content/{id}": ([5.0] * 50, 0)}))
    assert main(["validate", str(spec), "--contract", "caddy"]) == 0
    # Under the default contract, Caddy's names are no request metric of the proxy's.
    [objective] = evaluate(load_spec(spec), read_run(bundle)).objectives
    assert "server-side only" in objective.reason
    assert main(["gate", str(bundle), "--spec", str(spec), "--contract", "caddy"]) == 0
    [objective] = read_evaluation(bundle).objectives
    assert objective.verdict == "pass" and objective.samples == 500


def test_a_contract_the_spec_names_wins_and_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: s\ncontract: caddy\nobjectives:\n"
                    "  - {name: p99, kind: latency, percentile: p99, threshold: 300ms}\n", encoding="utf-8")
    # The spec's contract checks its thresholds even without --contract: 300ms is no Caddy bucket.
    assert main(["validate", str(spec)]) == 2
    assert "threshold 300ms is not a bucket boundary" in capsys.readouterr().err
    spec.write_text(spec.read_text(encoding="utf-8").replace("300ms", "250ms"), encoding="utf-8")
    assert main(["alerts", "--spec", str(spec), "--out", f"{tmp_path}/", "--contract", "envoy"]) == 0
    assert "the spec names the caddy contract; it is used instead of --contract (the envoy contract)" \
        in capsys.readouterr().err
    rules = (tmp_path / "s.rules.yaml").read_text(encoding="utf-8")
    assert "caddy_http_request_duration_seconds_bucket" in rules


def test_run_takes_a_contract(closed_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--host", f"http://127.0.0.1:{closed_port}", "--spec", "preset:web-api",
                 "--contract", "nope"]) == 2
    assert "--contract: no contract file nope and no contract preset" in capsys.readouterr().err


def test_an_unreadable_contract_is_bad_input(files: tuple[Path, Path], tmp_path: Path) -> None:
    _, spec = files
    broken = tmp_path / "broken.yaml"
    broken.write_text("request_durations: x\n", encoding="utf-8")
    assert main(["validate", str(spec), "--contract", str(broken)]) == 2
