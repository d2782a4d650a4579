"""The --until-decided rule: planned looks, alpha spent over them, and a saved run judged as at its
deciding look."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest

from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult
from slogate.slo.sequential import (
    FINAL_SHARE,
    alpha_share,
    as_judged,
    clock,
    default_min_duration,
    look_confidence,
    planned_looks,
    record,
    settled,
    up_to,
)
from slogate.slo.specfile.load import parse_spec
from tests.builders import CONTENT, make_run

SPEC = parse_spec("""\
service: svc
objectives:
  - {name: p50, kind: latency, percentile: p50, threshold: 100ms}
  - {name: errors, kind: error_ratio, max: 5%}
""")


def steady(slices: int, *, failures: int = 0) -> RunResult:
    """``slices`` one-second slices of 100 requests at 20-40 ms, ``failures`` more 503s in each."""
    return make_run({CONTENT: ([20.0 + (i % 21) for i in range(100)], failures)}, slices=slices)


def test_looks_follow_the_checkpoints_then_grow_by_a_tenth_and_end_at_the_maximum() -> None:
    looks = planned_looks(30.0, 300.0, 5.0)
    assert looks[:6] == (30.0, 35.0, 40.0, 45.0, 50.0, 55.0)
    assert looks[-1] == 300.0 and len(looks) == 21
    gaps = [later - earlier for earlier, later in itertools.pairwise(looks[:-1])]
    assert all(gap % 5.0 == 0 and gap >= 5.0 for gap in gaps)
    assert all(later >= earlier * 1.1 - 1e-9 for earlier, later in itertools.pairwise(looks[:-1]))
    # An hour has only twice as many looks: their number grows with the log of the length.
    assert len(planned_looks(30.0, 3600.0, 5.0)) == 46
    # A first look off the grid moves onto it; none before the maximum leaves the fixed horizon.
    assert planned_looks(21.0, 60.0, 5.0)[0] == 25.0
    assert planned_looks(300.0, 300.0, 5.0) == (300.0,)


def test_the_looks_spend_exactly_the_specs_alpha_most_of_it_at_the_last() -> None:
    for looks in (1, 2, 21, 46):
        shares = [alpha_share(k, looks) for k in range(1, looks + 1)]
        assert math.isclose(sum(shares), 1.0)
        # Each side errs at most sum((1 - c_k) / 2) = alpha / 2: the fixed horizon's promise.
        assert math.isclose(sum(1.0 - look_confidence(0.95, s) for s in shares), 0.05)
    assert alpha_share(21, 21) == FINAL_SHARE and alpha_share(1, 1) == 1.0
    assert look_confidence(0.95, FINAL_SHARE) == pytest.approx(0.96)
    assert look_confidence(0.95, alpha_share(3, 21)) == pytest.approx(0.9995)
    with pytest.raises(ValueError, match="look 22 is not one of 21"):
        alpha_share(22, 21)


def test_the_default_first_look_covers_the_warmup_and_every_min_duration() -> None:
    assert default_min_duration(SPEC, 1.0) == 20.0
    longer = parse_spec("service: s\nwarmup: 5s\nmin_duration: 10s\nobjectives:\n"
                        "  - {name: e, kind: error_ratio, max: 1%, min_duration: 45s}\n")
    assert default_min_duration(longer, 1.0) == 50.0


def test_a_run_stopped_at_a_look_is_judged_on_its_slices_up_to_that_look_at_its_confidence() -> None:
    looks = planned_looks(10.0, 60.0, 5.0)
    run = dataclasses.replace(steady(14), until_decided=record(looks, 1))
    spec, judged = as_judged(SPEC, run)
    assert spec.confidence == pytest.approx(look_confidence(0.95, alpha_share(1, len(looks))))
    assert len(judged.slices) == 10 and judged.duration_s == 10.0
    # At the last look the whole run counts, at the last look's confidence.
    spec, judged = as_judged(SPEC, dataclasses.replace(run, until_decided=record(looks, len(looks))))
    assert len(judged.slices) == 14 and spec.confidence == pytest.approx(0.96)
    assert as_judged(SPEC, steady(3)) == (SPEC, steady(3))
    # A slice that ends after the look is left out, with its seconds.
    assert up_to(steady(14), 9.5).duration_s == 9.0


def test_the_verdict_names_the_look_and_the_rule_and_reads_back_from_run_json() -> None:
    looks = planned_looks(20.0, 300.0, 5.0)
    run = dataclasses.replace(steady(40), until_decided=record(looks, 3))
    evaluation = evaluate(SPEC, RunResult.from_dict(run.to_dict()))
    assert evaluation.verdict == "pass" and evaluation.window_end_s == 30.0
    # The early decision says what it speaks for: what a fixed 30 s run would, episodes every 3 s.
    assert any(r.startswith("decided at 0:30 of 5:00 on 30s judged: covers slow episodes that recur at "
                            "least every 3s, as a fixed run of that length would, not rarer ones (look 3 "
                            "of 23, judged at 99.95% confidence; rule: group-sequential")
               for r in evaluation.reasons), evaluation.reasons
    last = evaluate(SPEC, dataclasses.replace(run, until_decided=record(looks, 23)))
    assert any(r.startswith("judged at its maximum duration 5:00 on 40s judged: covers slow episodes that "
                            "recur at least every 4s") for r in last.reasons), last.reasons
    # The warm-up is not judged, so it covers nothing: the same look after a 10 s warm-up covers less.
    warm = dataclasses.replace(SPEC, warmup_s=10.0)
    assert any(r.startswith("decided at 0:30 of 5:00 on 20s judged: covers slow episodes that recur at "
                            "least every 2s") for r in evaluate(warm, run).reasons)
    assert "until_decided" not in steady(3).to_dict()


def test_a_record_with_a_look_outside_its_plan_is_refused() -> None:
    data = dataclasses.replace(steady(3), until_decided=record((5.0, 10.0), 2)).to_dict()
    data["until_decided"]["look"] = 3
    with pytest.raises(ValueError, match="until_decided: look 3 of 2 looks"):
        RunResult.from_dict(data)


def test_a_look_is_never_more_optimistic_than_the_fixed_horizon_on_the_same_data() -> None:
    # 4.5% errors against a 5% limit over 10 slices: the fixed horizon passes, an early look
    # (its stricter confidence) cannot decide yet; a clear failure fails at both.
    borderline = make_run({CONTENT: ([25.0] * 960, 45)}, slices=10)
    assert evaluate(SPEC, borderline).verdict == "pass"
    early = dataclasses.replace(borderline, until_decided=record(planned_looks(10.0, 300.0, 5.0), 1))
    assert settled(evaluate(SPEC, early)) is None
    failing = dataclasses.replace(steady(10, failures=30), until_decided=early.until_decided)
    assert settled(evaluate(SPEC, failing)) == "fail"


def test_settled_fails_on_any_gating_failure_and_passes_only_when_every_gating_objective_passes() -> None:
    assert settled(evaluate(SPEC, steady(10))) == "pass"
    half = parse_spec("service: s\nobjectives:\n  - {name: fast, kind: latency, percentile: p50, "
                      "threshold: 30ms}\n  - {name: errors, kind: error_ratio, max: 5%}\n")
    assert settled(evaluate(half, steady(10))) is None  # p50 sits at 30 ms: undecided
    assert settled(evaluate(half, steady(10, failures=50))) == "fail"
    assert settled(evaluate(SPEC, dataclasses.replace(steady(10), complete=False))) is None


def test_clock() -> None:
    assert [clock(s) for s in (47.0, 300.0, 3723.4)] == ["0:47", "5:00", "1:02:03"]
