"""The kinds built on derived series and cache results: TTFT/ITL/TPOT and tokens/s floors read
their own '#' series, a hit ratio the ':hit'/':miss' keys, probes are judged only when named, and
an objective a run cannot measure says so without gating it."""

from __future__ import annotations

import dataclasses

import pytest

from slogate.slo.counts import Counts
from slogate.slo.evaluation import Evaluation
from slogate.slo.evaluator import evaluate
from slogate.slo.judge_kinds import SERVER_SIDE_ONLY, judge_objective
from slogate.slo.run import ITL_SUFFIX, TPOT_SUFFIX, TTFT_SUFFIX, RunResult
from slogate.slo.spec import PROBE_SUFFIX, endpoint_matches
from slogate.slo.specfile.load import parse_spec
from tests.builders import MESSAGES, START, make_run

CONTENT = "GET /content/{id}"


def judge(objectives: str, run: RunResult) -> Evaluation:
    return evaluate(parse_spec(f"service: s\nobjectives:\n{objectives}"), run, now=START)


def test_ttft_itl_tpot_read_their_own_series_only() -> None:
    run = make_run({MESSAGES: ([900.0] * 100, 0), MESSAGES + TTFT_SUFFIX: ([150.0] * 100, 0),
                    MESSAGES + ITL_SUFFIX: ([20.0] * 1000, 0), MESSAGES + TPOT_SUFFIX: ([30.0] * 100, 0)})
    evaluation = judge(
        "  - {name: ttft, kind: ttft, endpoint: POST /v1/messages, percentile: p95, threshold: 200ms}\n"
        "  - {name: itl, kind: itl, percentile: p99, threshold: 25ms}\n"
        "  - {name: tpot, kind: tpot, endpoint: /v1/messages, target: 90%, threshold: 20ms}\n"
        "  - {name: all, kind: latency, percentile: p50, threshold: 1s}\n", run)
    ttft, itl, tpot, every = evaluation.objectives
    assert ttft.verdict == "pass" and ttft.matched_endpoints == (MESSAGES + TTFT_SUFFIX,)
    assert itl.verdict == "pass" and itl.samples == 10000
    assert tpot.verdict == "fail" and tpot.matched_endpoints == (MESSAGES + TPOT_SUFFIX,)
    assert every.samples == 1000 and every.matched_endpoints == (MESSAGES,)


def test_missing_series_is_named() -> None:
    run = make_run({MESSAGES: ([900.0] * 100, 0)})
    result = judge("  - {name: ttft, kind: ttft, percentile: p95, threshold: 1s}\n", run).objectives[0]
    assert result.verdict == "inconclusive" and "no time to first token" in result.reason


def test_tokens_per_s_floor_is_the_share_of_streams_at_or_above_it() -> None:
    # TPOT 40 ms = 25 tokens/s for 900 streams, 100 ms = 10 tokens/s for 100.
    run = make_run({MESSAGES + TPOT_SUFFIX: ([40.0] * 90 + [100.0] * 10, 0)})
    passing, failing = judge(
        "  - {name: a, kind: tokens_per_s, min: 20/s, target: 85%}\n"
        "  - {name: b, kind: tokens_per_s, min: 20, target: 97%}\n", run).objectives
    assert passing.verdict == "pass" and passing.measured == pytest.approx(0.9)
    assert "at or above 20 tokens/s" in passing.reason and "under 20 tokens/s" in passing.reason
    assert failing.verdict == "fail" and failing.kind == "tokens_per_s"


def test_a_route_selects_its_cache_results_and_a_result_selects_itself() -> None:
    assert endpoint_matches(CONTENT, CONTENT + ":hit") and endpoint_matches(CONTENT, CONTENT + ":none")
    assert endpoint_matches("/content/{id}", CONTENT + ":miss")
    assert endpoint_matches(CONTENT + ":hit", CONTENT + ":hit")
    assert not endpoint_matches(CONTENT + ":hit", CONTENT + ":miss")
    # Only the closed set of results: a route holding a colon stays its own.
    assert not endpoint_matches("POST /v1/models/{m}", "POST /v1/models/{m}:generateContent")
    assert not endpoint_matches(CONTENT, CONTENT + ":other")


def test_hit_and_miss_latency_selected_together() -> None:
    run = make_run({CONTENT + ":hit": ([2.0] * 80, 0), CONTENT + ":miss": ([100.0] * 20, 0)})
    result = judge(f"  - {{name: all, kind: latency, endpoint: '{CONTENT}', percentile: p50, "
                   "threshold: 10ms}\n", run).objectives[0]
    assert result.samples == 1000 and result.verdict == "pass"
    assert result.matched_endpoints == (CONTENT + ":hit", CONTENT + ":miss")


def test_hit_ratio_counts_hits_against_misses_only() -> None:
    run = make_run({CONTENT + ":hit": ([2.0] * 80, 0), CONTENT + ":miss": ([100.0] * 20, 0),
                    CONTENT + ":bypass": ([50.0] * 500, 0), "GET /other": ([5.0] * 50, 0)})
    passing, failing = judge(
        "  - {name: a, kind: hit_ratio, endpoint: 'GET /content/{id}', target: 75%}\n"
        "  - {name: b, kind: hit_ratio, target: 85%}\n", run).objectives
    assert passing.verdict == "pass" and passing.kind == "hit_ratio"
    assert passing.samples == 1000 and passing.measured == pytest.approx(0.8)
    assert passing.matched_endpoints == (CONTENT + ":hit", CONTENT + ":miss")
    assert passing.ci_low is not None and 0.75 < passing.ci_low < 0.8 and "hit ratio" in passing.reason
    assert failing.verdict == "fail" and "misses" in failing.reason


def test_hit_ratio_without_cache_keys_is_inconclusive() -> None:
    run = make_run({"GET /other": ([5.0] * 50, 0)})
    result = judge("  - {name: a, kind: hit_ratio, target: 50%}\n", run).objectives[0]
    assert result.verdict == "inconclusive" and "no cache hits or misses" in result.reason


def test_probes_are_judged_only_when_named() -> None:
    probe = "GET /health/live" + PROBE_SUFFIX
    run = make_run({"GET /api": ([5.0] * 100, 0), probe: ([1.0] * 2, 2)})
    every, named = judge("  - {name: all, kind: availability, target: 99%}\n"
                         "  - {name: live, kind: availability, endpoint: GET /health/live, target: 99%}\n",
                         run).objectives
    assert every.verdict == "pass" and every.matched_endpoints == ("GET /api",)
    assert named.verdict == "fail" and named.matched_endpoints == (probe,)


def test_server_side_only_objective_is_named_and_not_gating() -> None:
    spec = parse_spec("service: s\nobjectives:\n  - {name: a, kind: availability, target: 99%}\n"
                      "  - {name: b, kind: availability, target: 99%}\n")
    server = dataclasses.replace(spec.objectives[1], client_side=False)
    spec = dataclasses.replace(spec, objectives=(spec.objectives[0], server))
    evaluation = evaluate(spec, make_run({"GET /api": ([5.0] * 100, 0)}), now=START)
    judged, unmeasured = evaluation.objectives
    assert evaluation.verdict == "pass" and judged.verdict == "pass"
    assert unmeasured.verdict == "inconclusive" and not unmeasured.gating
    assert unmeasured.reason.startswith(SERVER_SIDE_ONLY)
    assert any(r.startswith(f"b: {SERVER_SIDE_ONLY}") for r in evaluation.reasons)


def test_goodput_share_is_judged_with_its_rate_and_a_run_without_rows_says_why() -> None:
    spec = parse_spec("service: s\nobjectives:\n  - {name: g, kind: goodput, target: 90%, "
                      "limits: {ttft: 500ms, tpot: 50ms}}\n")
    [goodput] = spec.run_objectives
    result = judge_objective(goodput, Counts(total=1000, bad=20, seconds=10.0), spec)
    assert result.verdict == "pass" and result.kind == "goodput"
    assert result.measured == pytest.approx(0.98) and "goodput rate 98 good requests/s" in result.reason
    from_run = evaluate(spec, make_run({MESSAGES: ([5.0] * 100, 0)}), now=START).objectives[0]
    assert from_run.verdict == "inconclusive" and "llm_requests.csv.gz" in from_run.reason
