"""The capacity search against an in-memory stand-in for "run a step": a target of known capacity,
with the undecided band around it and the load generator's limit set per test."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from slogate.capacity import MAX_UNDECIDED, SearchPlan, bracket, middle, ramp_loads, search
from slogate.reports.capacity import write_capacity_reports
from slogate.slo.capacity import (
    BrokenObjective,
    CapacityResult,
    StepResult,
    Threshold,
    compare_baseline,
    gate_sentences,
    step_line,
    with_gates,
)
from slogate.slo.spec import Spec

P99 = BrokenObjective("api-p99", "p99 of POST /v1/messages (api-p99)", 0.4, 0.25, "s")


@dataclass
class Target:
    """Holds up to ``capacity``; undecided within ``band`` above it; the generator runs out at
    ``generator``. Remembers the loads offered."""

    capacity: float
    band: float = 0.0
    generator: float = math.inf
    noisy: frozenset[float] = frozenset()
    """Loads that cannot be told wherever they are (a machine busy with other work)."""
    busy: frozenset[float] = frozenset()
    """Loads where other work on the machine kept the generator from the CPU for a slice."""
    offered: list[float] = field(default_factory=list)

    def __call__(self, load: float) -> StepResult:
        self.offered.append(load)
        if load >= self.generator or load in self.busy:
            return StepResult(load, "generator", "load generator local CPU at 97%")
        if load in self.noisy:
            return StepResult(load, "undecided", "api-p99: the slices varied too much", max_s=65.0)
        if load <= self.capacity:
            return StepResult(load, "pass", "every gating objective held", achieved_rate=load,
                              p50_s=0.01, p95_s=0.05, p99_s=0.1, error_ratio=0.0, decided_s=25.0, max_s=65.0)
        if load <= self.capacity * (1 + self.band):
            return StepResult(load, "undecided", "api-p99: the interval straddles the limit")
        return StepResult(load, "fail", "broke p99", achieved_rate=load * 0.9, p50_s=0.1, p95_s=0.3,
                          p99_s=0.4, error_ratio=0.01, broken=(P99,))


def gated(result: CapacityResult, require: float | None = None,
          baseline: CapacityResult | None = None) -> CapacityResult:
    return with_gates(result, Spec(service="s", objectives=()), require, baseline, 0.10)


def test_geometric_steps_then_bisection_to_the_resolution() -> None:
    target = Target(capacity=850)
    result = search(SearchPlan(start=10, stop=10_000), target)
    assert target.offered[:8] == [10, 20, 40, 80, 160, 320, 640, 1280]
    assert result.outcome == "found"
    assert result.holds_at is not None and result.breaks_at is not None
    assert result.holds_at <= 850 < result.breaks_at <= result.holds_at * 1.05
    assert len(result.steps) == len(target.offered) <= 14
    words = result.to_dict()["answer"]
    assert words.startswith(f"capacity under SLO: {result.holds_at:g} req/s (holds at")
    assert "the first objective to break: p99 of POST /v1/messages" in words
    assert gated(result).exit_code == 0  # no gate: an answer


def test_ramp_ends_at_stop_and_users_are_whole() -> None:
    assert ramp_loads(SearchPlan(start=10, stop=100)) == [10, 20, 40, 80, 100]
    users = SearchPlan(start=3, stop=50, unit="users")
    assert ramp_loads(users) == [3, 6, 12, 24, 48, 50]
    assert middle(12, 13, users, set()) is None  # no whole number between
    assert middle(12, 24, users, set()) == 17


@pytest.mark.parametrize(("require", "code"), [(900, 1), (800, 0), (850, 0)])
def test_require_is_decided_by_a_step_at_that_load(require: float, code: int) -> None:
    target = Target(capacity=850)
    result = gated(search(SearchPlan(start=10, stop=2000, probe=require), target), require)
    assert require in target.offered
    assert result.exit_code == code


def test_a_require_straddled_by_an_undecided_step_cannot_be_told() -> None:
    target = Target(capacity=850, band=0.1)
    result = gated(search(SearchPlan(start=100, stop=2000, probe=900), target), 900)
    assert result.exit_code == 3
    assert gate_sentences(result)[0].startswith("--require 900 req/s: inconclusive")
    assert 900 in [s.load for s in result.undecided]


def test_undecided_steps_bound_the_bracket_and_are_named() -> None:
    target = Target(capacity=850, band=0.03)
    result = search(SearchPlan(start=100, stop=2000), target)
    assert result.outcome == "found"
    assert result.undecided, "the knee is undecidable in this stand-in"
    assert "cannot tell at" in result.to_dict()["answer"]
    top = min(s.load for s in result.undecided)
    assert result.holds_at is not None and top <= result.holds_at * 1.05


def test_a_pass_above_an_undecided_step_raises_the_answer() -> None:
    # 100 req/s could not be told (a busy machine), far below the knee: bisection goes around it.
    target = Target(capacity=146, noisy=frozenset({100.0}))
    result = search(SearchPlan(start=50, stop=300), target)
    assert target.offered[:4] == [50, 100, 200, 141]  # the ramp went past 100; the upper gap first
    assert result.outcome == "found"
    assert result.holds_at is not None and 146 / 1.05 <= result.holds_at <= 146
    assert "cannot tell" not in result.to_dict()["answer"]  # 100 is below what held
    assert [s.load for s in result.undecided] == [100]


def test_a_band_that_cannot_be_told_stops_the_search_and_is_named() -> None:
    band = frozenset({100.0, 141.0, 84.1, 119.0, 109.0, 130.0})
    target = Target(capacity=146, noisy=band)
    result = search(SearchPlan(start=50, stop=300), target)
    loads = bracket(result.steps)
    assert sum(s.verdict == "undecided" for s in result.steps if s.load in loads) == MAX_UNDECIDED
    assert result.outcome == "undecided"
    words = result.to_dict()["answer"]
    assert words.startswith(f"capacity under SLO: at least {result.holds_at:g} req/s")
    assert "cannot tell at 84.1, 100" in words


def test_step_lines_say_when_a_step_was_decided() -> None:
    passed = Target(capacity=100)(50)
    assert step_line(passed, "req/s").startswith("50 req/s: pass, achieved 50 req/s, decided at 0:25 of "
                                                 "1:05:")
    assert "not settled by 1:05" in step_line(Target(100, noisy=frozenset({80.0}))(80), "req/s")
    fixed = StepResult(10, "pass", "every gating objective held")
    assert step_line(fixed, "req/s") == "10 req/s: pass: every gating objective held"


def test_nothing_decided_is_inconclusive() -> None:
    target = Target(capacity=1, band=1e9)
    result = gated(search(SearchPlan(start=10, stop=100), target))
    assert target.offered == [10, 20]  # the ramp goes past one step that cannot tell, not two
    assert result.outcome == "undecided"
    assert result.exit_code == 3


def test_the_generator_running_out_is_never_the_target() -> None:
    target = Target(capacity=850, generator=500)
    result = gated(search(SearchPlan(start=10, stop=2000, probe=1000), target), 1000)
    assert target.offered[-1] == 640 and result.steps[-1].verdict == "generator"
    assert result.outcome == "generator_limited"
    words = result.to_dict()["answer"]
    assert words.startswith("capacity under SLO: at least 320 req/s: the load generator ran out first")
    assert "--processes" in words
    assert result.exit_code == 3  # 1000 required, 320 shown: cannot tell
    assert gated(result, 300).exit_code == 0


def test_a_generator_short_of_cpu_below_a_load_that_broke_ends_nothing() -> None:
    target = Target(capacity=146, busy=frozenset({154.0}))
    result = search(SearchPlan(start=50, stop=300), target)
    assert target.offered[:6] == [50, 100, 200, 141, 168, 154]  # 168 broke the target: 154 is no limit
    assert result.outcome == "found" and result.generator_at is None
    assert result.holds_at == 141 and [s.load for s in result.undecided] == [154]
    assert "cannot tell at 154" in result.to_dict()["answer"]


def test_never_broke_and_below_start() -> None:
    held = gated(search(SearchPlan(start=10, stop=100), Target(capacity=1e9)), 100)
    assert held.outcome == "never_broke" and held.exit_code == 0
    assert "at least 100 req/s" in held.to_dict()["answer"]
    broke = gated(search(SearchPlan(start=10, stop=100, probe=8), Target(capacity=5)), 8)
    assert broke.outcome == "below_start" and broke.exit_code == 1
    assert broke.to_dict()["answer"].startswith("capacity under SLO: below 8 req/s")


def test_baseline_drop_beyond_the_tolerance() -> None:
    old = search(SearchPlan(start=100, stop=2000), Target(capacity=850))
    same = search(SearchPlan(start=100, stop=2000), Target(capacity=830))
    lower = search(SearchPlan(start=100, stop=2000), Target(capacity=600))
    assert compare_baseline(same, old, 0.10).verdict == "pass"
    dropped = compare_baseline(lower, old, 0.10)
    assert dropped.verdict == "fail" and "capacity dropped" in dropped.sentence
    assert gated(lower, baseline=old).exit_code == 1
    users = search(SearchPlan(start=10, stop=20, unit="users"), Target(capacity=15))
    with pytest.raises(ValueError, match="cannot be compared"):
        compare_baseline(users, old, 0.10)


def test_capacity_json_round_trip_and_reports(tmp_path: Path) -> None:
    target = Target(capacity=850, band=0.03)
    result = gated(search(SearchPlan(start=100, stop=2000, probe=700), target), 700)
    bounds = (Threshold("p99 ≤ 250ms", 0.25, 99.0), Threshold("errors ≤ 1%", 0.01))
    result = replace(result, thresholds=bounds)
    paths = write_capacity_reports(tmp_path, result)
    assert [p.name for p in paths] == ["capacity.json", "report.html", "summary.md", "junit.xml"]
    again = CapacityResult.from_dict(json.loads(paths[0].read_text()))
    assert again == result
    html = paths[1].read_text()
    assert "<svg" in html and "holds at" in html and result.to_dict()["answer"] in html
    suite = ET.parse(paths[3]).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "0"
    summary = paths[2].read_text()
    assert "| # | offered | verdict | decided |" in summary and "| pass | 0:25 of 1:05 |" in summary
    with pytest.raises(ValueError, match="schema_version"):
        CapacityResult.from_dict({"schema_version": 9})
