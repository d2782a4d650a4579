"""Objective kinds, intervals and explanations of the evaluator, on runs of known content."""

from __future__ import annotations

import pytest

from slogate.slo.counts import status_in_class
from slogate.slo.evaluation import Evaluation
from slogate.slo.evaluator import evaluate
from slogate.slo.run import TTFB_SUFFIX, RunResult
from slogate.slo.specfile.load import parse_spec
from tests.builders import CONTENT, MESSAGES, START, SliceContent, make_run


def judge(objectives: str, run: RunResult) -> Evaluation:
    return evaluate(parse_spec(f"service: s\nobjectives:\n{objectives}"), run, now=START)


def uniform(low_ms: int, high_ms: int) -> list[float]:
    return [float(v) for v in range(low_ms, high_ms + 1)]


def test_percentile_near_the_threshold_is_inconclusive_and_says_how_many_more() -> None:
    # p89 of 1..100 ms is 89 ms; 10% of 1,000 samples are at 91 ms or over (allowed: 11%), and the
    # interval of that share (~8-12%) straddles 11%.
    run = make_run([{CONTENT: (uniform(1, 100), {})}] * 10)
    result = judge("  - {name: p89, kind: latency, percentile: p89, threshold: 91ms}\n", run).objectives[0]
    assert result.verdict == "inconclusive"
    assert result.ci_low is not None and result.ci_high is not None
    assert result.ci_low <= 0.091 <= result.ci_high
    assert result.more_samples_needed is not None and result.more_samples_needed > 1000
    assert "more requests would decide" in result.reason
    assert result.confidence == 0.95 and "order statistics" in result.formula
    # Far from it, the same data decides both ways.
    decided = judge("  - {name: a, kind: latency, percentile: p90, threshold: 99ms}\n"
                    "  - {name: b, kind: latency, percentile: p90, threshold: 80ms}\n", run)
    assert [o.verdict for o in decided.objectives] == ["pass", "fail"]


def test_budget_form_judges_the_share_under_the_threshold() -> None:
    run = make_run([{CONTENT: (uniform(1, 100), {})}] * 20)  # 50% under 50 ms, 2,000 samples
    result = judge("  - {name: half, kind: latency, target: 40%, threshold: 50ms}\n", run).objectives[0]
    assert result.verdict == "pass" and result.unit == "ratio"
    assert result.measured == pytest.approx(0.5, abs=0.01) and result.threshold == pytest.approx(0.4)
    assert result.ci_low is not None and 0.4 < result.ci_low < 0.5
    assert "share of successful requests under 50ms" in result.reason
    failing = judge("  - {name: most, kind: latency, target: 90%, threshold: 50ms}\n", run).objectives[0]
    assert failing.verdict == "fail"
    assert failing.burn_rate == pytest.approx(0.5 / 0.1, rel=0.02)


def test_ttfb_objective_reads_only_ttfb_keys_and_others_ignore_them() -> None:
    run = make_run([{MESSAGES: ([200.0] * 200, {}), MESSAGES + TTFB_SUFFIX: ([5.0] * 200, {})}] * 10)
    evaluation = judge(
        "  - {name: ttfb, kind: ttfb, endpoint: POST /v1/messages, percentile: p99, threshold: 10ms}\n"
        "  - {name: total, kind: latency, percentile: p50, threshold: 100ms}\n", run)
    ttfb, total = evaluation.objectives
    assert ttfb.verdict == "pass" and ttfb.matched_endpoints == (MESSAGES + TTFB_SUFFIX,)
    assert ttfb.samples == 2000
    # The overall latency objective judges whole responses only: 2,000 of them, all 200 ms.
    assert total.verdict == "fail" and total.samples == 2000
    none = judge("  - {name: t, kind: ttfb, percentile: p50, threshold: 10ms}\n",
                 make_run([{CONTENT: ([5.0] * 10, {})}]))
    [absent] = none.objectives
    assert absent.verdict == "inconclusive" and "no time to first byte" in absent.reason


def test_throughput_floor() -> None:
    run = make_run([{CONTENT: ([5.0] * 100, {})}] * 10, rate_limited=20)  # 120 requests/s
    evaluation = judge("  - {name: fast, kind: throughput, min: 100/s}\n"
                       "  - {name: faster, kind: throughput, min: 9000/m}\n"
                       "  - {name: fastest, kind: throughput, min: 200/s}\n", run)
    verdicts = {o.name: (o.verdict, o.unit) for o in evaluation.objectives}
    assert verdicts == {"fast": ("pass", "rps"), "faster": ("fail", "rps"), "fastest": ("fail", "rps")}
    assert evaluation.objectives[0].measured == pytest.approx(120.0)


def test_error_statuses_choose_what_counts_as_an_error() -> None:
    run = make_run([{CONTENT: ([5.0] * 990, {"503": 2, "404": 8})}] * 10)
    evaluation = judge(
        "  - {name: server, kind: error_ratio, max: 0.5%, error_statuses: [5xx]}\n"
        "  - {name: all, kind: error_ratio, max: 0.5%}\n", run)
    server, every = evaluation.objectives
    assert server.bad_events == 20 and server.verdict == "pass"
    assert every.bad_events == 100 and every.verdict == "fail"
    assert status_in_class("503", "5xx") and status_in_class("429", "429")
    assert not status_in_class("404", "5xx")


def test_explanations_of_a_ratio_verdict() -> None:
    run = make_run([{CONTENT: ([5.0] * 998, {"503": 2})}] * 10)  # 0.2% failed over 10 s
    spec = parse_spec("service: s\nperiod: 1d\nobjectives:\n  - {name: e, kind: error_ratio, max: 1%}\n")
    result = evaluate(spec, run, now=START).objectives[0]
    assert result.verdict == "pass"
    assert result.burn_rate == pytest.approx(0.2)
    assert result.budget_consumed == pytest.approx(0.2 * 10 / 86400)
    assert result.time_to_exhaustion_s == pytest.approx(86400 / 0.2)
    assert result.test_statistic is not None and result.test_statistic < -5
    assert result.ci_low is not None and result.ci_high is not None and result.ci_high < 0.01
    assert "Wilson" in result.formula and "burn rate" in result.formula


def test_few_requests_that_clearly_fail_a_percentile_fail() -> None:
    run = make_run([{CONTENT: ([500.0] * 50, {})}])  # 50 requests, all 500 ms; p99 needs 1,000
    result = judge("  - {name: p99, kind: latency, percentile: p99, threshold: 100ms}\n", run).objectives[0]
    assert result.verdict == "fail" and "lower bound" in result.reason


def test_windowed_objective_fails_on_one_bad_window() -> None:
    good: SliceContent = {CONTENT: ([10.0] * 300, {})}
    bad: SliceContent = {CONTENT: ([10.0] * 250 + [300.0] * 50, {})}
    run = make_run([good] * 10 + [bad] * 10 + [good] * 10)  # the 2nd of three 10 s windows is slow
    evaluation = judge(
        "  - {name: w, kind: latency, percentile: p95, threshold: 100ms, window: 10s}\n"
        "  - {name: whole, kind: latency, percentile: p90, threshold: 100ms}\n", run)
    windowed, whole = evaluation.objectives
    # Over the whole run the slow 5 s are an episode: slices vary far more than independent requests.
    assert whole.verdict == "inconclusive" and "more requests would decide" in whole.reason
    assert whole.between_slice_variation is not None and whole.between_slice_variation > 10
    assert "slices vary" in whole.coverage and "a run that never met" in whole.coverage
    assert windowed.verdict == "fail"
    assert (windowed.windows_total, windowed.windows_failed, windowed.windows_undecided) == (3, 1, 0)
    assert len(windowed.window_burn_rates) == 3 and windowed.window_burn_rates[0] == 0.0
    assert "1 of 3 windows" in windowed.reason
    assert Evaluation.from_dict(evaluation.to_dict()) == evaluation
    # Timeslices budgeting: two windows in three must hold, and they do.
    lenient = judge("  - {name: w, kind: latency, percentile: p95, threshold: 100ms, window: 10s, "
                    "window_target: 60%}\n", run).objectives[0]
    assert lenient.verdict == "pass" and "1 missed" in lenient.reason


def test_windowed_objective_without_a_full_window_is_inconclusive() -> None:
    run = make_run([{CONTENT: ([10.0] * 300, {})}] * 5)
    result = judge("  - {name: w, kind: availability, target: 90%, window: 30s}\n", run).objectives[0]
    assert result.verdict == "inconclusive" and "no full 30s window" in result.reason


def test_throughput_divides_by_the_judged_slices_not_the_warm_up_gap() -> None:
    """Slices lie on the clock's grid: after a 2.5 s warm-up the first judged slice starts at 3 s,
    and a rate over "run length − warm-up" (7.5 s for 7 slices' requests) read 7% low."""
    run = make_run([{CONTENT: ([5.0] * 100, {})}] * 10)  # 100 requests/s in every slice
    spec = parse_spec("service: s\nwarmup: 2.5s\nobjectives:\n"
                      "  - {name: rate, kind: throughput, min: 80/s}\n")
    result = evaluate(spec, run, now=START).objectives[0]
    assert result.measured == pytest.approx(100.0)
    assert result.verdict == "pass"
