"""A capacity step as a Locust run: the options that decide it early, and how a judged run becomes
a step (as its deciding look saw it; the achieved rate over whole slices)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slogate.capacity_steps import LocustSteps, StepSettings, achieved_rate, step_result
from slogate.loadtest.options import parse_warmup
from slogate.loadtest.recorder import RunRecorder
from slogate.pipeline import JudgedRun
from slogate.slo import validity
from slogate.slo.evaluator import evaluate
from slogate.slo.run import ValidityFlag
from slogate.slo.sequential import planned_looks, record
from slogate.slo.specfile.load import parse_spec
from tests.builders import CONTENT, START, make_run

SPEC = parse_spec("""\
service: svc
objectives:
  - {name: p50, kind: latency, endpoint: "GET /content/{id}", percentile: p50, threshold: 100ms}
""")


def settings(tmp_path: Path, **changes: object) -> StepSettings:
    given = StepSettings(host="http://127.0.0.1:1", spec=SPEC, spec_paths=(Path("a.yaml"), Path("b.yaml")),
                         scenario=Path("locustfile.py"), out=tmp_path, step_s=60.0, settle_s=5.0)
    return dataclasses.replace(given, **changes)  # type: ignore[arg-type]


def test_a_step_is_decided_early_from_its_settle_time_on(tmp_path: Path) -> None:
    steps = LocustSteps(settings(tmp_path, min_step_s=10.0, contract=Path("envoy"),
                                 scenario_args=("--cache-keys", "5")))
    load = steps.load_settings(200.0)
    assert load.duration_s == 65.0
    assert load.extra_args[load.extra_args.index("--slogate-until-decided"):] == (
        "--slogate-until-decided", "--slogate-spec", f"a.yaml{os.pathsep}b.yaml", "--slogate-warmup", "5",
        "--slogate-min-duration", "15", "--slogate-contract", "envoy")
    assert load.scenario_args == ("--cache-keys", "5")
    fixed = LocustSteps(settings(tmp_path, until_decided=False)).load_settings(200.0)
    assert not any(arg.startswith("--slogate-until") or arg == "--slogate-spec" for arg in fixed.extra_args)


def test_a_step_stopped_early_is_described_as_its_deciding_look_saw_it(tmp_path: Path) -> None:
    fast = {CONTENT: ([20.0 + i % 21 for i in range(100)], 0)}
    slow = {CONTENT: ([500.0] * 100, 0)}  # after the look: not part of the verdict nor the figures
    looks = planned_looks(25.0, 65.0, 5.0)
    run = dataclasses.replace(make_run([fast] * 26 + [slow] * 3), until_decided=record(looks, 1))
    spec = dataclasses.replace(SPEC, warmup_s=5.0)
    judged = JudgedRun(tmp_path / "steps" / "01-100rps", run, evaluate(spec, run), files=())
    step = step_result(100.0, judged, 5.0, relative_to=tmp_path)
    assert (step.verdict, step.decided_s, step.max_s) == ("pass", 25.0, 65.0)
    assert step.p99_s is not None and step.p99_s < 0.05
    assert step.achieved_rate == pytest.approx(100.0)
    assert step.bundle == "steps/01-100rps"


POOL_RAN_OUT = ValidityFlag(validity.RATE_NOT_HELD, "open model: 24 of 672 arrivals could not be sent (no "
                           f"free user within 2 s; 256 more were late): {validity.RATE_NOT_HELD_ADVICE}")


@pytest.mark.parametrize(("latencies_ms", "verdict", "said"), [
    # The target broke: its slowness held every user.
    ([500.0] * 100, "fail", "broke p50 of GET /content/{id} (p50) (and the user pool ran out)"),
    # p50 on the threshold: the target may be breaking.
    ([90.0, 110.0] * 50, "undecided", " (and open model: 24 of 672 arrivals could not be sent"),
    # Every objective held: the generator could not send the load.
    ([20.0] * 100, "generator", "open model: 24 of 672 arrivals could not be sent"),
])
def test_an_open_models_pool_that_ran_out_is_the_generators_only_while_every_objective_held(
    latencies_ms: list[float], verdict: str, said: str, tmp_path: Path,
) -> None:
    run = make_run({CONTENT: (latencies_ms, 0)}, validity=[POOL_RAN_OUT])
    judged = JudgedRun(tmp_path / "steps" / "02-60rps", run, evaluate(SPEC, run), files=())
    step = step_result(60.0, judged, 0.0, relative_to=tmp_path)
    assert step.verdict == verdict, step.reason
    assert said in step.reason
    assert "raise -u" not in step.reason  # the step sizes its pool itself: no -u to raise


def test_the_achieved_rate_counts_whole_slices_only() -> None:
    # The run starts 0.6 s before a slice boundary (slices are on the clock's grid) and stops
    # 0.4 s after its last arrival: 25 arrivals a second, evenly spaced, for 10 s.
    began = START - 0.6
    recorder = RunRecorder(slice_s=1.0)
    for n in range(250):
        recorder.record("GET /work", began + n / 25, 5000.0, "200")
    run = recorder.result(run_id="r", target="t", scenario="s", load_model={}, started_at=began,
                          ended_at=began + 10.4, complete=True, git_revision=None, slogate_version="x")
    settle = 2.0
    assert achieved_rate(run, settle) == pytest.approx(25.0)
    window, _ = run.merged(None, from_s=settle)
    assert window.requests / (run.duration_s - settle) < 0.93 * 25  # the old count: 7% low


SESSION_SPEC = """\
import argparse
import sys

from locust.env import Environment

from slogate.loadtest.plugin import SlogateSession

options = argparse.Namespace(slogate_spec=sys.argv[1], slogate_out=sys.argv[2], slogate_warmup=7.0,
                             slogate_no_traceparent=True)
print(SlogateSession(Environment(parsed_options=options)).spec.warmup_s)
"""


def test_locust_judges_with_the_warmup_it_is_given(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("service: s\nwarmup: 30s\nobjectives:\n  - {name: e, kind: error_ratio, max: 1%}\n")
    # Its own process: Locust's gevent patching must not happen inside the test runner.
    done = subprocess.run([sys.executable, "-c", SESSION_SPEC, str(spec), str(tmp_path / "bundle")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "7.0", done.stderr[-2000:]
    assert (parse_warmup("0"), parse_warmup("2.5s")) == (0.0, 2.5)
    with pytest.raises(ValueError, match="expected a positive number of seconds"):
        parse_warmup("-1")
