"""The load test's validity checks, and the codes table: every code the load generator emits is
explained, and the table explains nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

from slogate.loadtest.open_model import ArrivalSchedule
from slogate.loadtest.recorder import RunRecorder
from slogate.loadtest.validity import (
    ACCEPTED_NOTE,
    RunValidity,
    generator_saturated,
    ran_planned_time,
    rate_not_held,
    saturated_slices,
    users_not_reached,
)
from slogate.slo import validity
from slogate.slo.run import ProcessCpu, ValidityFlag

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"


def emitted_codes() -> set[str]:
    """The codes loadtest/ refers to: ``validity.NAME`` constants and ``validity.worker_lost(...)``."""
    codes = set()
    for source in LOADTEST.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "validity" and node.attr != "EXPLANATIONS"):
                value = getattr(validity, node.attr)
                codes.add(value if isinstance(value, str) else validity.kind_of(value("x")))
    return codes


def test_the_table_explains_exactly_the_codes_the_load_generator_emits() -> None:
    assert emitted_codes() == set(validity.EXPLANATIONS)


def test_codes_are_never_written_as_literals_in_loadtest() -> None:
    literal_codes = []
    for source in LOADTEST.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            if name in ("flag", "ValidityFlag") and isinstance(first, ast.Constant | ast.JoinedStr):
                literal_codes.append(f"{source.name}:{node.lineno}")
    assert not literal_codes


def test_a_lost_worker_is_its_own_code_of_the_worker_lost_kind() -> None:
    assert validity.worker_lost("w-1") == "worker_lost:w-1"
    assert validity.kind_of(validity.worker_lost("w-1")) == validity.WORKER_LOST
    assert validity.kind_of(validity.NOT_STARTED) == validity.NOT_STARTED


def test_users_not_reached_only_when_fewer_ran_than_asked() -> None:
    assert users_not_reached(None, 0) is None
    assert users_not_reached(10, 10) is None
    found = users_not_reached(10, 7)
    assert found is not None and found.code == validity.USERS_NOT_REACHED and "only 7 of 10" in found.message


def test_rate_not_held_beyond_one_percent_of_arrivals_dropped() -> None:
    schedule = ArrivalSchedule(rate=100.0)  # 1,000 arrivals in 10 s
    assert rate_not_held(schedule, 10.0, late=50, dropped=10, max_lag_s=2.0) is None
    found = rate_not_held(schedule, 10.0, late=5, dropped=11, max_lag_s=2.0)
    assert found is not None and found.code == validity.RATE_NOT_HELD
    assert "11 of 1000 arrivals" in found.message and "within 2 s; 5 more were late" in found.message


def test_a_run_shorter_than_planned_is_not_whole() -> None:
    assert ran_planned_time(None, 1.0) and ran_planned_time(10, 9.6)
    assert not ran_planned_time(10, 9.4)


def test_one_saturated_slice_of_one_process_is_enough() -> None:
    assert saturated_slices({}) is None
    calm = {7: {"local": ProcessCpu(89.9)}, 8: {"local": ProcessCpu(60.0, 29.0)}}
    assert saturated_slices(calm) is None
    found = saturated_slices({**calm, 9: {"local": ProcessCpu(40.0), "w-2": ProcessCpu(93.0)}})
    assert found is not None and found.code == validity.GENERATOR_SATURATED
    assert "load generator w-2 CPU at 93%, over 90% in 1 slice:" in found.message
    # Starved by its neighbours: little CPU of its own, but runnable and waiting the rest.
    starved = saturated_slices({1: {"w-1": ProcessCpu(55.0, 40.0)}, 2: {"w-2": ProcessCpu(91.0)}})
    assert starved is not None
    assert ("load generator w-1, w-2 CPU at 55% + 40% waiting for a CPU, over 90% in 2 slices"
            in starved.message)


def test_saturation_the_user_accepted_goes_to_the_load_model_not_the_flags() -> None:
    saturated = generator_saturated(ProcessCpu(97.0), "local", 1)
    assert "load generator local CPU at 97%, over 90% in 1 slice" in saturated.message
    for accept in (False, True):
        recorder = RunRecorder()
        checks = RunValidity(recorder, accept_saturated=accept)
        checks.flag(saturated)
        checks.flag(generator_saturated(ProcessCpu(99.0), "worker-b", 2))  # the first message is kept
        checks.flag(ValidityFlag(validity.NOT_STARTED, "never started"))
        if accept:
            assert checks.accepted == {validity.GENERATOR_SATURATED: saturated.message + ACCEPTED_NOTE}
            assert set(recorder.validity) == {validity.NOT_STARTED}
        else:
            assert recorder.validity[validity.GENERATOR_SATURATED] == saturated.message
            assert not checks.accepted


def test_end_of_run_checks_judge_each_slice_users_and_rate() -> None:
    recorder = RunRecorder()
    recorder.process_cpu("local", 1_700_000_000.0, 1_700_000_001.0, 30.0)
    recorder.process_cpu("local", 1_700_000_001.0, 1_700_000_002.0, 95.0)  # one busy second
    recorder.sample(1_700_000_000.0, users=3)
    recorder.dispatched(1_700_000_000.0, dropped=True)
    checks = RunValidity(recorder, accept_saturated=False)
    checks.check_end(wanted_users=5, shaped=False, schedule=ArrivalSchedule(rate=1.0), elapsed_s=10.0,
                     max_lag_s=2.0)
    assert set(recorder.validity) == {validity.GENERATOR_SATURATED, validity.USERS_NOT_REACHED,
                                      validity.RATE_NOT_HELD}
    saturated = recorder.validity[validity.GENERATOR_SATURATED]
    assert "load generator local CPU at 95%, over 90% in 1 slice" in saturated
    shaped = RunRecorder()
    RunValidity(shaped, accept_saturated=False).check_end(
        wanted_users=5, shaped=True, schedule=None, elapsed_s=10.0, max_lag_s=2.0)
    assert not shaped.validity  # a shape plans its own users
