"""Ratio objectives are one judgement mirrored: an upper limit on the bad share (error ratio) and a
lower limit on the good share (availability) must agree on the same requests."""

from __future__ import annotations

import pytest

from slogate.slo.evaluation import ObjectiveResult
from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult
from slogate.slo.specfile.load import parse_spec
from tests.builders import START, make_run


def run_of(ok: int, failed: int, slow: int = 0) -> RunResult:
    """Ten 1 s slices of ``ok`` successes at 10 ms and ``slow`` at 100 ms, and ``failed`` 503s,
    each spread evenly over the slices."""
    def share(count: int, i: int) -> int:
        return (i + 1) * count // 10 - i * count // 10
    return make_run([{"GET /x": ([10.0] * share(ok, i) + [100.0] * share(slow, i), share(failed, i))}
                     for i in range(10)])


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


RATIO_SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: x}}
spec:
  service: s
  budgetingMethod: Occurrences
  indicator:
    spec:
      ratioMetric:
        good: {{metricSource: {{type: Prometheus, spec: {{query: '{good}'}}}}}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: '{total}'}}}}}}
  objectives:
    - {{target: 1}}
"""


@pytest.mark.parametrize("good, bad_run", [
    # availability: one failure is bad
    ('http_server_request_duration_seconds_count{http_response_status_code!~"5.."}', (499, 1, 0)),
    # every request under 50 ms: one at 100 ms is bad
    ('http_server_request_duration_seconds_bucket{le="0.05"}', (499, 0, 1)),
])
def test_a_target_of_100_percent_is_a_zero_budget_too(good: str, bad_run: tuple[int, int, int]) -> None:
    """OpenSLO can ask for 100%: a clean run passes, one bad request fails, nothing crashes (an
    interval never reaches 100% exactly, so without the zero-budget rule it could never pass)."""
    total = "http_server_request_duration_seconds_count"
    spec = parse_spec(RATIO_SLO.format(good=good, total=total), "slo.yaml")
    [few] = evaluate(spec, run_of(500, 0), now=START).objectives
    assert few.verdict == "inconclusive" and few.more_samples_needed == 2_500, few.reason
    [clean] = evaluate(spec, run_of(3_000, 0), now=START).objectives
    assert clean.verdict == "pass", clean.reason
    [one_bad] = evaluate(spec, run_of(*bad_run), now=START).objectives
    assert one_bad.verdict == "fail", one_bad.reason
    assert "< 100%" in one_bad.reason
