"""--until-decided on the Locust side: when the first look may come, which look is due, what a
look decides; and two short real runs that stop early, one PASS and one FAIL, that `gate` agrees with."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pytest

from slogate.cli import main
from slogate.loadtest.early_stop import EarlyStop, check_options, load_settled_s, planned_looks_of
from slogate.loadtest.options import SlogateOptions
from slogate.loadtest.shapes import parse_shape
from slogate.slo.sequential import planned_looks
from slogate.slo.specfile.load import parse_spec
from slogate.target import FaultConfig, ReferenceTarget
from tests.builders import CONTENT, make_run

SPEC = parse_spec("service: s\nobjectives:\n  - {name: errors, kind: error_ratio, max: 5%}\n")


LOCUST_OWN = ("run_time", "num_users", "spawn_rate")


def options(**given: object) -> SlogateOptions:
    """The options of a run given as Locust parses them (ours are ``slogate_<name>``)."""
    return SlogateOptions.read(argparse.Namespace(
        **{name if name in LOCUST_OWN else f"slogate_{name}": value for name, value in given.items()}))


def test_the_first_look_waits_for_the_last_phase_of_a_changing_load() -> None:
    users = {"users": 20, "spawn_rate": 10.0, "rate_ramp_s": None}
    assert load_settled_s(None, **users) == 2.0  # the users spawned
    assert load_settled_s(None, users=20, spawn_rate=10.0, rate_ramp_s=60.0) == 60.0  # the rate ramp
    spike = parse_shape("spike:at=50%,length=10%", users=20, duration_s=300.0)
    assert load_settled_s(spike, **users) == 180.0  # after the spike, not during it
    steps = parse_shape("steps:steps=4", users=20, duration_s=300.0)
    assert load_settled_s(steps, **users) == 225.5  # into the last step
    assert load_settled_s(parse_shape("soak:ramp=30s", users=20, duration_s=300.0), **users) == 30.0
    looks = planned_looks_of(options(run_time=300, num_users=20, spawn_rate=10.0,
                                     shape="spike:at=50%,length=10%", until_decided=True), SPEC, spike, 5.0)
    assert looks[0] == 185.0  # 180 s + 5 one-second slices of the base load again
    ramp = parse_shape("ramp", users=20, duration_s=300.0)
    assert planned_looks_of(options(run_time=300, until_decided=True), SPEC, ramp, 5.0) == (300.0,)


def test_options_that_cannot_decide_early_are_refused_naming_the_flag() -> None:
    with pytest.raises(ValueError, match="needs --slogate-spec"):
        planned_looks_of(options(run_time=60, until_decided=True), None, None, 5.0)
    with pytest.raises(ValueError, match="needs a maximum duration: -t/--run-time"):
        planned_looks_of(options(until_decided=True), SPEC, None, 5.0)
    with pytest.raises(ValueError, match="--slogate-min-duration 60s is not shorter than the run time 60s"):
        planned_looks_of(options(run_time=60, until_decided=True, min_duration=60.0), SPEC, None, 5.0)
    with pytest.raises(ValueError, match="--slogate-min-duration goes with --slogate-until-decided"):
        check_options(options(min_duration=10.0))
    assert planned_looks_of(options(run_time=60, until_decided=True, min_duration=5.0), SPEC, None,
                            5.0)[:2] == (5.0, 10.0)


def test_a_look_is_due_after_its_lag_and_a_late_one_skips_those_it_missed() -> None:
    stop = EarlyStop(SPEC, (10.0, 15.0, 20.0, 60.0), lag_s=2.0, stop=lambda: None)
    assert stop.due(11.9) is None and stop.due(12.0) == 1
    stop.taken = 1
    assert stop.due(16.0) is None and stop.due(40.0) == 3  # look 2 skipped: it spends nothing
    stop.taken = 3
    assert stop.due(100.0) is None  # the last look is the run's own end
    assert stop.record.look == 4 and not stop.stopped_early


def test_a_settled_look_stops_the_run_and_an_undecided_one_does_not() -> None:
    stopped: list[bool] = []
    looks = planned_looks(10.0, 60.0, 5.0)
    stop = EarlyStop(SPEC, looks, lag_s=2.0, stop=lambda: stopped.append(True))
    assert stop.progress == "until decided: first look at 0:10 of 1:00"
    # 4.5% errors against 5%: undecided at the first look's 99.9%.
    assert stop.judge(make_run({CONTENT: ([25.0] * 960, 45)}, slices=12), 1) is None
    assert ("look 1 of 11 at 0:10, 99.9% (covers slow episodes that recur at least every 1s): errors "
            "undecided [") in stop.progress
    assert stop.progress.endswith("; next look at 0:15")
    assert stop.judge(make_run({CONTENT: ([25.0] * 100, 0)}, slices=17), 2) == "pass"
    assert stop.stopped_early and stop.record.look == 2
    assert "errors pass [0%–" in stop.progress

    failing = EarlyStop(SPEC, looks, lag_s=2.0, stop=lambda: stopped.append(True))
    failing.watch(time.time() - 12.0, lambda: make_run({CONTENT: ([25.0] * 80, 20)}, slices=12))
    assert failing.record.look == 1 and stopped == [True]


# -- real runs ---------------------------------------------------------------------------------

GENEROUS = """\
service: reference-proxy
objectives:
  - {name: errors, kind: error_ratio, max: 20%}
  - {name: content-p50, kind: latency, endpoint: "GET /content/{id}", percentile: p50, threshold: 2s}
"""
STRICT_ERRORS = """\
service: reference-proxy
objectives:
  - {name: errors, kind: error_ratio, max: 1%}
  - {name: content-p50, kind: latency, endpoint: "GET /content/{id}", percentile: p50, threshold: 2s}
"""


def run_until_decided(tmp_path: Path, spec_text: str, faults: FaultConfig,
                      *processes: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """`slogate run --until-decided` for at most 60 s, then `slogate gate` on its bundle: the exit
    code, the evaluation and run.json."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text, encoding="utf-8")
    bundle = tmp_path / "bundle"
    with ReferenceTarget(faults=faults) as target:
        code = main(["run", "--host", target.proxy_url, "--spec", str(spec), "--duration", "60s",
                     "--users", "5", "--spawn-rate", "10", "--slice", "0.5s", "--until-decided",
                     "--min-duration", "5s", "--accept-saturated", "--out", str(bundle), *processes])
    run = json.loads((bundle / "run.json").read_text())
    assert run["complete"] is True and run["ended_at"] - run["started_at"] < 15.0
    first = json.loads((bundle / "evaluation.json").read_text())
    assert main(["gate", str(bundle), "--spec", str(spec)]) == code
    again = json.loads((bundle / "evaluation.json").read_text())
    assert again["verdict"] == first["verdict"] and again["reasons"] == first["reasons"]
    return code, again, run


@pytest.mark.slow
def test_a_generous_spec_stops_early_with_a_pass_decided_by_the_master_on_its_workers_data(
        tmp_path: Path) -> None:
    code, evaluation, run = run_until_decided(tmp_path, GENEROUS, FaultConfig(), "--processes", "2")
    assert code == 0, evaluation["reasons"]
    assert any(r.startswith("decided at 0:05 of 1:00") for r in evaluation["reasons"])
    # Both workers' requests reached the master's looks and the bundle; none was lost at the stop.
    assert run["load_model"]["processes"] == 2 and not run["validity"], run["validity"]
    workers = [w for w in run["workers"] if w["worker_id"] != "master"]
    assert len(workers) == 2 and not any(w["lost"] for w in workers), run["workers"]
    loaded = {name for s in run["slices"] for name in s.get("generator_processes", {})} - {"master"}
    assert len(loaded) == 2, loaded


@pytest.mark.slow
def test_a_target_failing_its_slo_stops_early_with_a_fail(tmp_path: Path) -> None:
    code, evaluation, _ = run_until_decided(tmp_path, STRICT_ERRORS, FaultConfig(error_ratio=0.5))
    assert code == 1, evaluation["reasons"]
    # About a quarter of the mix fails against 1% allowed, but with 0.5 s slices of some 20 requests
    # the error share varies so much between slices that the first look's interval may still reach
    # down to 1% (lower bounds of 2.8%-13% in six runs here, 0.93% once on CI, whose second look,
    # on twice the data, was 11.7%-34.6%: a fail).
    assert any(r.startswith(("decided at 0:05 of 1:00", "decided at 0:10 of 1:00"))
               for r in evaluation["reasons"]), evaluation["reasons"]
