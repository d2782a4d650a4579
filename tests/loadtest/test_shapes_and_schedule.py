"""Load shapes and the open-model arrival schedule, as plans (no Locust run needed)."""

from __future__ import annotations

import pytest

from slogate.loadtest.open_model import ArrivalSchedule
from slogate.loadtest.recorder import SLOWEST_KEPT, RunRecorder
from slogate.loadtest.shapes import ShapeError, parse_shape


def test_shapes_follow_their_plans() -> None:
    ramp = parse_shape("ramp", users=10, duration_s=10)
    assert [ramp.users_at(t) for t in (0.5, 5, 9.9, 10)] == [1, 5, 10, None]
    steps = parse_shape("steps:steps=2", users=10, duration_s=10)
    assert [steps.users_at(t) for t in (1, 6)] == [5, 10]
    spike = parse_shape("spike:base=20%,at=40%,length=2s", users=50, duration_s=10)
    assert [spike.users_at(t) for t in (1, 4.5, 6.5)] == [10, 50, 10]
    soak = parse_shape("soak", users=10, duration_s=100)
    assert soak.params["ramp"] == 10 and soak.users_at(50) == 10


@pytest.mark.parametrize(("text", "duration", "message"), [
    ("wave", 10.0, "unknown"),
    ("ramp", None, "needs a run time"),
    ("steps:count=3", 10.0, "bad parameter 'count=3'"),
    ("spike:base=2s", 10.0, "base is a share"),
    ("spike:at=150%", 10.0, "between 0% and 100%"),
])
def test_bad_shapes_are_named(text: str, duration: float | None, message: str) -> None:
    with pytest.raises(ShapeError, match=message):
        parse_shape(text, users=5, duration_s=duration)


def test_a_ramping_schedule_places_arrivals_on_the_integral() -> None:
    schedule = ArrivalSchedule(10, rate_to=30, ramp_s=10)
    assert schedule.arrivals_until(10) == pytest.approx(200)
    offsets = schedule.offsets()
    times = [next(offsets) for _ in range(260)]
    assert times[200] == pytest.approx(10.0)
    assert times[230] - times[200] == pytest.approx(1.0)  # 30/s after the ramp
    assert times == sorted(times)
    assert ArrivalSchedule(25).arrivals_until(4) == 100


def test_rate_limited_requests_count_apart_and_slowest_are_kept_across_processes() -> None:
    worker, master = RunRecorder(), RunRecorder()
    for i in range(50):
        worker.record("GET /a", 100.0, 1000.0 + i, "200", trace_id=f"{i:032x}")
    worker.record("GET /a", 100.2, 5.0, "429", rate_limited=True)
    worker.record("GET /a", 100.3, 7.0, "503", ("HTTP 503", "Service Unavailable"))
    worker.dispatched(100.4, late=True)
    master.absorb(worker.drain())
    master.record("GET /b", 100.5, 9_000_000.0, "200")
    run = master.result(run_id="r", target="t", scenario="s", load_model={}, started_at=100.0,
                        ended_at=101.0, complete=True, git_revision=None, slogate_version="x")
    window, _ = run.merged("GET /a")
    assert (window.requests, window.failures, window.rate_limited) == (51, 1, 1)
    assert run.slices[0].errors == {"HTTP 503": 1} and run.slices[0].dispatch_late == 1
    assert len(run.slowest) == SLOWEST_KEPT
    assert run.slowest[0].endpoint == "GET /b" and run.slowest[0].trace_id is None
    assert run.slowest[1].trace_id == f"{49:032x}" and run.slowest[1].latency_us == 1049.0
