"""The run recorder: slicing, worker drain/absorb merging, error grouping and secret masking."""

from __future__ import annotations

import json

from slogate.loadtest.recorder import RunRecorder
from slogate.slo.run import RunResult

START = 1_700_000_000.0


def result(recorder: RunRecorder, seconds: float = 3.0) -> RunResult:
    return recorder.result(run_id="r", target="t", scenario="s", load_model={}, started_at=START,
                           ended_at=START + seconds, complete=True, git_revision=None,
                           slogate_version="x")


def test_requests_land_in_their_slices() -> None:
    recorder = RunRecorder(slice_s=1.0)
    recorder.record("GET /a", START + 0.5, 1000.0, "200")
    recorder.record("GET /a", START + 2.2, 3000.0, "200")
    recorder.record("GET /b", START + 2.9, 500.0, "503", ("HTTP 503", "boom"))
    run = result(recorder)
    assert [s.requests for s in run.slices] == [1, 0, 2]
    assert [s.start_s for s in run.slices] == [0.0, 1.0, 2.0]
    window, matched = run.merged()
    assert window.requests == 3 and window.failures == 1 and matched == ["GET /a", "GET /b"]


def test_worker_drains_merge_losslessly_on_master() -> None:
    master = RunRecorder(slice_s=1.0)
    single = RunRecorder(slice_s=1.0)
    workers = [RunRecorder(slice_s=1.0) for _ in range(3)]
    for i in range(3000):
        at, latency = START + (i % 30) / 10, 100.0 + i
        error = ("HTTP 500", "x") if i % 100 == 0 else None
        workers[i % 3].record("GET /a", at, latency, "500" if error else "200", error)
        single.record("GET /a", at, latency, "500" if error else "200", error)
        if i % 1000 == 999:  # workers report periodically, not only at the end
            for worker in workers:
                master.absorb(json.loads(json.dumps(worker.drain())))
    assert result(master).to_dict() == result(single).to_dict()


def test_result_can_be_taken_repeatedly_without_double_counting() -> None:
    recorder = RunRecorder(slice_s=1.0)
    recorder.record("GET /a", START - 0.5, 1000.0, "200")  # clock skew: before the start
    recorder.record("GET /a", START + 0.1, 1000.0, "200")
    first, second = result(recorder), result(recorder)
    assert first.slices[0].requests == 2 and second.slices[0].requests == 2


def test_a_result_is_a_snapshot_the_recorder_never_changes_afterwards() -> None:
    recorder = RunRecorder(slice_s=1.0)
    recorder.record("GET /a", START - 0.5, 1000.0, "200")  # merged into the first slice
    recorder.record("GET /a", START + 1.5, 2000.0, "200")
    recorder.record("GET /a", START + 2.5, 2000.0, "200")
    run = result(recorder)
    before = run.to_dict()
    # More requests into the same slices and windows, then the slices closed (compacted) and
    # a result taken: a worker's late report and late requests for them must not reach it either.
    recorder.record("GET /a", START + 1.6, 9000.0, "503", ("HTTP 503", "x"))
    recorder.record("GET /a", START + 0.2, 9000.0, "200")
    recorder.compact(START + 10)
    closed = result(recorder)
    closed_before = closed.to_dict()
    worker = RunRecorder(slice_s=1.0)
    worker.record("GET /a", START + 1.9, 7000.0, "200")
    recorder.absorb(worker.drain())
    recorder.record("GET /a", START + 2.7, 5000.0, "200", rate_limited=True)
    recorder.record("GET /a", START + 2.8, 5000.0, "200")
    assert run.to_dict() == before and closed.to_dict() == closed_before
    assert [s.requests for s in run.slices] == [1, 1, 1]
    assert [s.requests for s in closed.slices[:3]] == [2, 2, 1]
    assert [s.requests for s in result(recorder).slices[:3]] == [2, 3, 2]  # the recorder counts on
    recorder.drain()
    assert run.to_dict() == before and closed.to_dict() == closed_before


def test_error_messages_are_masked_and_grouped() -> None:
    recorder = RunRecorder(slice_s=1.0, secrets=("hunter2-secret",))
    for _ in range(3):
        recorder.record("POST /v1", START, 10.0, "401",
                        ("HTTP 401", "bad key hunter2-secret; Authorization: Bearer abc.def.ghi"))
    [group] = result(recorder).errors
    assert group.count == 3
    assert "hunter2" not in group.message and "abc.def" not in group.message


def test_compacting_closed_slices_changes_nothing_but_memory() -> None:
    import math
    import random
    import tracemalloc

    rng = random.Random(3)
    recorder = RunRecorder(slice_s=1.0)
    tracemalloc.start()
    try:
        for second in range(60):
            for _ in range(300):
                recorder.record("GET /a", START + second + 0.5, rng.lognormvariate(math.log(2e4), 0.8), "200")
        before_bytes = tracemalloc.get_traced_memory()[0]
        before = result(recorder, 60).to_dict()
        recorder.compact(START + 60)
        after_bytes = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert result(recorder, 60).to_dict() == before
    assert after_bytes < 0.6 * before_bytes
    recorder.record("GET /a", START + 10.5, 5000.0, "200")  # a late request still counts
    assert result(recorder, 60).slices[10].requests == 301
