"""The evaluator's verdicts on runs built from known samples."""

from __future__ import annotations

import pytest

from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult, ValidityFlag
from slogate.slo.specfile.load import parse_spec
from tests.builders import CONTENT, SliceContent, make_run


def spread(
    *, ok: int, failed: int, latency_ms: float, slow_every: int = 0, slow_ms: float = 0.0,
    endpoint: str = CONTENT, seconds: int = 10, failures_first: bool = True,
) -> list[SliceContent]:
    """``ok + failed`` requests evenly over ``seconds`` one-second slices, the failures first (or
    evenly among the others), and every ``slow_every``-th success taking ``slow_ms``."""
    total = ok + failed
    latencies: list[list[float]] = [[] for _ in range(seconds)]
    failures = [0] * seconds
    for i in range(total):
        second = int(seconds * i / max(1, total))
        if (i < failed) if failures_first else (i * failed // total != (i + 1) * failed // total):
            failures[second] += 1
        else:
            latencies[second].append(slow_ms if slow_every and i % slow_every == 0 else latency_ms)
    return [{endpoint: (ms, fails)} if ms or fails else {}
            for ms, fails in zip(latencies, failures, strict=True)]


SPEC = """\
service: svc
objectives:
  - {name: p99, kind: latency, percentile: p99, threshold: 50ms}
  - {name: errors, kind: error_ratio, max: 1%}
  - {name: availability, kind: availability, target: 99%}
"""


def test_pass_when_all_objectives_met() -> None:
    run = make_run(spread(ok=2000, failed=5, latency_ms=10, failures_first=False))
    evaluation = evaluate(parse_spec(SPEC), run)
    assert evaluation.verdict == "pass", evaluation.reasons
    assert evaluation.exit_code == 0
    availability = evaluation.objectives[2]
    assert availability.measured == pytest.approx(2000 / 2005)  # shown as stated: successes
    assert availability.threshold == pytest.approx(0.99)
    assert availability.margin == pytest.approx(2000 / 2005 - 0.99)
    assert "availability 99.75% >= 99%" in availability.reason
    assert availability.burn_rate == pytest.approx((5 / 2005) / 0.01)
    assert availability.budget_consumed == pytest.approx(availability.burn_rate * 10 / (30 * 86400))


def test_latency_failure_reports_measured_and_threshold() -> None:
    # 2% of requests take 200 ms: p99 is over 50 ms.
    evaluation = evaluate(parse_spec(SPEC), make_run(spread(ok=2000, failed=0, latency_ms=10,
                                                    slow_every=50, slow_ms=200)))
    assert evaluation.verdict == "fail" and evaluation.exit_code == 1
    p99 = evaluation.objectives[0]
    assert p99.verdict == "fail"
    assert p99.measured == pytest.approx(0.2, rel=0.01)
    assert p99.margin is not None and p99.margin < 0
    assert p99.burn_rate == pytest.approx(2.0, rel=0.01)


def test_too_few_samples_is_inconclusive_and_says_how_many() -> None:
    evaluation = evaluate(parse_spec(SPEC), make_run(spread(ok=200, failed=0, latency_ms=10)))
    assert evaluation.verdict == "inconclusive" and evaluation.exit_code == 3
    p99 = evaluation.objectives[0]
    assert p99.verdict == "inconclusive" and p99.required_samples == 1000
    assert "1000 needed" in p99.reason


def test_few_samples_that_already_fail_decide_fail() -> None:
    evaluation = evaluate(parse_spec(SPEC), make_run(spread(ok=0, failed=100, latency_ms=1)))
    assert evaluation.objectives[1].verdict == "fail"
    assert evaluation.verdict == "fail"


def test_no_data_is_inconclusive() -> None:
    evaluation = evaluate(parse_spec(SPEC), make_run(spread(ok=0, failed=0, latency_ms=1)))
    assert evaluation.verdict == "inconclusive"
    assert all(o.verdict == "inconclusive" for o in evaluation.objectives)


def test_unknown_endpoint_is_inconclusive_and_names_known_ones() -> None:
    spec = parse_spec("service: s\nobjectives:\n"
                      "  - {name: x, kind: latency, percentile: 50, threshold: 1s, endpoint: /nope}\n")
    result = evaluate(spec, make_run(spread(ok=100, failed=0, latency_ms=1))).objectives[0]
    assert result.verdict == "inconclusive"
    assert "GET /content/{id}" in result.reason


def test_invalid_or_interrupted_run_never_passes() -> None:
    run = make_run(spread(ok=2000, failed=0, latency_ms=10))
    invalid = RunResult(**{**run.__dict__, "validity": (ValidityFlag("generator_saturated", "cpu"),)})
    assert evaluate(parse_spec(SPEC), invalid).verdict == "inconclusive"
    interrupted = make_run(spread(ok=2000, failed=0, latency_ms=10), complete=False)
    evaluation = evaluate(parse_spec(SPEC), interrupted)
    assert evaluation.verdict == "inconclusive"
    assert any("interrupted" in r for r in evaluation.reasons)


def test_warmup_is_excluded() -> None:
    # Every failure happens in the first 2 of 10 seconds; a 3 s warm-up leaves none.
    run = make_run(spread(ok=1600, failed=400, latency_ms=10))
    spec = parse_spec("service: s\nwarmup: 3s\nobjectives:\n  - {name: e, kind: error_ratio, max: 1%}\n")
    result = evaluate(spec, run).objectives[0]
    assert result.bad_events == 0 and result.verdict == "pass"
    assert result.samples == pytest.approx(1400, abs=2)


def test_non_gating_objective_does_not_decide() -> None:
    spec = parse_spec("service: s\nobjectives:\n"
                      "  - {name: e, kind: error_ratio, max: 1%, gating: false}\n"
                      "  - {name: a, kind: availability, target: 50%}\n")
    evaluation = evaluate(spec, make_run(spread(ok=900, failed=100, latency_ms=1, failures_first=False)))
    assert evaluation.objectives[0].verdict == "fail"
    assert evaluation.verdict == "pass"


def test_evaluation_json_round_trip() -> None:
    from slogate.slo.evaluation import Evaluation

    evaluation = evaluate(parse_spec(SPEC), make_run(spread(ok=2000, failed=5, latency_ms=10,
                                                            failures_first=False)))
    assert Evaluation.from_dict(evaluation.to_dict()) == evaluation
