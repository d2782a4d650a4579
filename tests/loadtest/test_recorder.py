"""The run recorder: slicing, worker drain/absorb merging, error grouping and secret masking."""

from __future__ import annotations

import json
import random

from slogate.loadtest.llm_series import SeriesKeys, record_stream
from slogate.loadtest.llm_stream import StreamTimings
from slogate.loadtest.recorder import LATER_KEPT, RunRecorder
from slogate.slo.run import ProcessCpu, RunResult

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


def test_each_process_cpu_lands_in_its_slice_and_merges_from_workers() -> None:
    master = RunRecorder(slice_s=1.0)
    master.process_cpu("master", START + 0.0, START + 1.0, 3.0)
    worker = RunRecorder(slice_s=1.0)
    worker.process_cpu("w-1", START + 1.0, START + 2.0, 40.0, 2.0)
    worker.process_cpu("w-1", START + 1.5, START + 2.4, 97.0, 1.0)  # two samples in slice 1: the peak
    master.absorb(json.loads(json.dumps(worker.drain())))
    worker.process_cpu("w-1", START + 2.0, START + 3.0, 20.0, None)
    master.absorb(json.loads(json.dumps(worker.drain())))
    run = result(master)
    assert [s.generator_processes for s in run.slices] == [
        {"master": ProcessCpu(3.0)},
        {"w-1": ProcessCpu(97.0, 2.0)},
        {"w-1": ProcessCpu(20.0)},
    ]
    assert [s.generator_cpu_percent for s in run.slices] == [3.0, 97.0, 20.0]
    assert {w.worker_id: w.max_cpu_percent for w in run.workers} == {"master": 3.0, "w-1": 97.0}
    assert master.cpu_now["w-1"] == ProcessCpu(20.0)
    assert RunResult.from_dict(json.loads(json.dumps(run.to_dict()))).slices == run.slices


def test_a_late_cpu_sample_counts_in_every_slice_it_mostly_covers() -> None:
    recorder = RunRecorder(slice_s=1.0)
    recorder.process_cpu("local", START + 0.3, START + 1.9, 95.0)  # woke 0.9 s late
    recorder.process_cpu("local", START + 1.9, START + 3.02, 50.0)  # and again, just past slice 2
    recorder.process_cpu("local", START + 3.02, START + 3.3, 20.0)  # a short one: where it is
    assert [s.generator_cpu_percent for s in result(recorder, 4.0).slices] == [95.0, 95.0, 50.0, 20.0]


def test_minimum_gauges_keep_the_lowest_per_slice_across_processes() -> None:
    master, worker = RunRecorder(slice_s=1.0), RunRecorder(slice_s=1.0)
    master.minimum("rate_limit_headroom_tokens", START + 0.2, 0.8)
    master.minimum("rate_limit_headroom_tokens", START + 0.4, 0.5)
    worker.minimum("rate_limit_headroom_tokens", START + 0.9, 0.3)
    worker.minimum("rate_limit_headroom_requests", START + 1.5, 0.9)
    master.absorb(json.loads(json.dumps(worker.drain())))
    run = result(master)
    assert [s.minimums for s in run.slices] == [
        {"rate_limit_headroom_tokens": 0.3}, {"rate_limit_headroom_requests": 0.9}, {}]
    old = run.to_dict()
    for time_slice in old["slices"]:  # a run.json written before these fields
        del time_slice["minimums"], time_slice["generator_processes"]
    assert all(not s.minimums and not s.generator_processes for s in RunResult.from_dict(old).slices)


def test_many_samples_of_one_request_in_one_call_equal_one_by_one() -> None:
    batched, single = RunRecorder(slice_s=1.0), RunRecorder(slice_s=1.0)
    gaps_us = [12_000.0, 15_500.0, -1.0, 30_000.0]
    batched.record_series(START + 1.2, [("POST /v1/messages#itl", gap, 1) for gap in gaps_us])
    for gap in gaps_us:
        single.record("POST /v1/messages#itl", START + 1.2, gap, "200")
    assert result(batched).to_dict()["slices"] == result(single).to_dict()["slices"]
    assert not batched.slowest  # a part of a request is not one of the slowest requests
    batched.compact(START + 10)
    closed = result(batched)
    # A closed slice: copy on write.
    batched.record_series(START + 1.3, [("POST /v1/messages#itl", 1_000.0, 1)])
    assert closed.slices[1].requests == 4 and result(batched).slices[1].requests == 5


def assert_same_slices(got: RunResult, expected: RunResult) -> None:
    """The same slices, a histogram's sum to rounding (added in another order)."""
    for got_slice, expected_slice in zip(got.to_dict()["slices"], expected.to_dict()["slices"], strict=True):
        for window in (*got_slice["endpoints"].values(), *expected_slice["endpoints"].values()):
            window["ok"]["sum_us"] = round(window["ok"]["sum_us"], 3)
        assert got_slice == expected_slice


def test_streams_kept_to_record_later_record_as_their_samples_one_by_one() -> None:
    # Streams' series kept as each ends and recorded in bulk when the windows are read: the same
    # slices as each stream's samples recorded in turn; a stream in a closed slice copies it.
    rng = random.Random(3)
    keys = SeriesKeys.of("POST /v1/messages")
    later, direct = RunRecorder(slice_s=1.0), RunRecorder(slice_s=1.0)
    for at in range(300):
        chunks = tuple(rng.choice((1, 1, 2, 5)) for _ in range(rng.randint(0, 6)))
        gaps = tuple(rng.uniform(0.001, 0.2) for _ in chunks[1:])
        ttft = rng.uniform(0.05, 0.5) if chunks else None
        timings = StreamTimings(
            ttfb_s=rng.uniform(0.001, 0.05), ttft_s=ttft, last_content_s=None, read_gaps_s=gaps,
            chunks_per_read=chunks, content_chunks=sum(chunks), input_tokens=3, output_tokens=9,
            tokens_from_usage=True, stop_reason=None, error=None, complete=True,
            end_marker="message_stop", tpot_s=rng.choice((None, rng.uniform(0.001, 0.05))))
        start = START + at * 0.02
        record_stream(later, keys, start, timings)
        samples = [(key, seconds * 1e6, 1) for key, seconds in (
            (keys.ttfb, timings.ttfb_s), (keys.ttft, timings.ttft_s), (keys.tpot, timings.tpot_s))
            if seconds is not None]
        samples += [(keys.itl, gap * 1e6, 1) for gap in gaps]
        samples += [(keys.itl, 0.0, timings.same_read_gaps)] if timings.same_read_gaps else []
        direct.record_series(start, samples)
        if at in (150, 299):  # a read of the windows records what was kept
            assert_same_slices(result(later), result(direct))
    later.compact(START + 100)
    closed = result(later)
    record_stream(later, keys, START + 0.5, timings)
    assert closed.slices[0].endpoints[keys.ttfb].requests + 1 == \
        result(later).slices[0].endpoints[keys.ttfb].requests


def test_what_is_kept_to_record_later_is_bounded() -> None:
    recorder = RunRecorder(slice_s=1.0)
    keys = SeriesKeys.of("POST /v1/messages")
    timings = StreamTimings(0.01, 0.02, 0.03, (), (1,), 1, None, 1, False, None, None, True, "x", None)
    for _ in range(LATER_KEPT + 5):
        record_stream(recorder, keys, START, timings)
    assert len(recorder._later[keys]) == 5  # the first LATER_KEPT recorded on the way
    assert recorder.drain()["windows"][str(int(START))][keys.ttft]["ok"]["count"] == LATER_KEPT + 5
