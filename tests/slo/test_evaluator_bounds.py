"""Ratio objectives are one judgement mirrored: an upper limit on the bad share (error ratio) and a
lower limit on the good share (availability) must agree on the same requests."""

from __future__ import annotations

import pytest

from slo.evaluation import ObjectiveResult
from slo.evaluator import evaluate
from slo.loader import parse_spec
from slo.run import EndpointWindow, RunResult, TimeSlice

START = 1_700_000_000.0


def run_of(ok: int, failed: int) -> RunResult:
    window = EndpointWindow()
    if ok:
        window.ok.record(10_000.0, ok)
        window.statuses["200"] = ok
    if failed:
        window.failed.record(5_000.0, failed)
        window.statuses["503"] = failed
    return RunResult(run_id="r", target="http://127.0.0.1:1", scenario="s.py", load_model={},
                     started_at=START, ended_at=START + 10.0, slice_s=10.0,
                     slices=(TimeSlice(start_s=0.0, duration_s=10.0, endpoints={"GET /x": window}),))


def judge(objectives: str, ok: int, failed: int) -> tuple[ObjectiveResult, ...]:
    spec = parse_spec(f"service: s\nobjectives:\n{objectives}")
    return evaluate(spec, run_of(ok, failed), now=START).objectives


@pytest.mark.parametrize("ok, failed, verdict", [
    (0, 0, "inconclusive"),  # nothing to judge
    (100, 0, "inconclusive"),  # too few for 99% (300 needed)
    (2_000, 2, "pass"),
    (2_000, 20, "inconclusive"),  # 1% measured: the interval straddles the limit
    (2_000, 60, "fail"),
])
def test_error_ratio_and_availability_mirror_each_other(ok: int, failed: int, verdict: str) -> None:
    errors, availability = judge("  - {name: e, kind: error_ratio, max: 1%}\n"
                                 "  - {name: a, kind: availability, target: 99%}\n", ok, failed)
    assert errors.verdict == availability.verdict == verdict
    assert errors.more_samples_needed == availability.more_samples_needed
    if not ok + failed:
        return
    assert errors.margin == pytest.approx(availability.margin)
    assert errors.burn_rate == pytest.approx(availability.burn_rate)
    assert errors.test_statistic == pytest.approx(availability.test_statistic)
    assert errors.ci_low == pytest.approx(1.0 - availability.ci_high)  # type: ignore[operator]
    assert errors.ci_high == pytest.approx(1.0 - availability.ci_low)  # type: ignore[operator]


def test_a_zero_error_budget_is_decided_by_the_first_failure_not_by_an_interval() -> None:
    objective = "  - {name: e, kind: error_ratio, max: 0%, min_samples: 50}\n"
    [clean] = judge(objective, 50, 0)
    assert (clean.verdict, clean.reason) == ("pass", "error ratio 0% <= 0% (0 of 50 failed)")
    [short] = judge(objective, 49, 0)
    assert short.verdict == "inconclusive" and short.more_samples_needed == 1
    [failed] = judge(objective, 9_999, 1)
    assert (failed.verdict, failed.reason) == ("fail", "error ratio 0.01% > 0% (1 of 10000 failed)")
