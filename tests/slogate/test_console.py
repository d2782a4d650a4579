"""What the commands print: the figures as the reports show them, both sides of a Prometheus gate,
and a verdict from Prometheus alone (no run, so no report to point at)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

from slogate import console
from slogate.slo.evaluation import Evaluation, ObjectiveResult, Verdict

P95 = ObjectiveResult(name="p95", kind="latency", endpoint=None, gating=True, verdict="pass",
                      reason="p95 95ms <= 250ms", unit="s", threshold=0.25, measured=0.095,
                      margin=0.155, samples=1000, required_samples=100, percentile=95)
ERRORS = ObjectiveResult(name="errors", kind="error_ratio", endpoint=None, gating=True,
                         verdict="inconclusive", reason="no requests", unit="ratio", threshold=0.01,
                         measured=None, margin=None, samples=0, required_samples=300)
RATE = ObjectiveResult(name="rate", kind="throughput", endpoint=None, gating=True, verdict="fail",
                       reason="too slow", unit="rps", threshold=10.0, measured=math.inf, margin=None,
                       samples=10, required_samples=1)


def evaluation(*objectives: ObjectiveResult, verdict: Verdict = "pass") -> Evaluation:
    return Evaluation(service="shop", spec_source="spec.yaml", run_id="r1", verdict=verdict,
                      reasons=("a reason",), objectives=objectives, evaluated_at=0.0,
                      window_start_s=0.0, window_end_s=10.0)


def test_outcome_shows_each_figure_in_its_unit(tmp_path: Path) -> None:
    text = console.outcome(evaluation(P95, ERRORS, RATE, verdict="fail"), tmp_path, as_json=False)
    assert text.splitlines() == [
        "verdict: FAIL (exit 1)",
        "  pass         p95: 95ms — p95 95ms <= 250ms",
        "  inconclusive errors: n/a — no requests",
        "  fail         rate: n/a — too slow",  # an infinite figure is no figure
        "  reason: a reason",
        f"bundle: {tmp_path}",
        f"report: {tmp_path / 'report.html'}",
    ]


def test_outcome_as_json_names_the_bundle_and_files(tmp_path: Path) -> None:
    document = json.loads(console.outcome(evaluation(P95), tmp_path, as_json=True,
                                          files=[tmp_path / "rules"]))
    assert document == {"bundle": str(tmp_path), "evaluation": evaluation(P95).to_dict(),
                        "files": [str(tmp_path / "rules")]}


def test_both_sides_show_the_signed_difference(tmp_path: Path) -> None:
    server = evaluation(replace(P95, measured=0.099), replace(ERRORS, measured=0.002))
    text = console.both_sides(evaluation(P95, ERRORS), server, tmp_path, as_json=False)
    lines = text.splitlines()
    assert lines[0] == "client side: PASS · server side (Prometheus): PASS"
    assert lines[2].split() == ["p95", "95ms", "99ms", "+4ms"]
    assert lines[3].split() == ["errors", "n/a", "0.2%", "n/a"]
    assert lines[-1] == f"report: {tmp_path / 'report.html'}"
    faster = evaluation(replace(P95, measured=0.090))
    row = console.both_sides(evaluation(P95), faster, tmp_path, as_json=False).splitlines()[2]
    assert row.split()[-1] == "-5ms"


def test_a_verdict_from_prometheus_alone_points_at_no_report(tmp_path: Path) -> None:
    server = evaluation(P95)
    assert "report" not in console.server_outcome(server, None, as_json=False)
    written = console.server_outcome(server, tmp_path, as_json=False).splitlines()
    assert written[-1] == f"evaluation: {tmp_path / 'evaluation.json'}"
    assert json.loads(console.server_outcome(server, None, as_json=True))["bundle"] == "."
