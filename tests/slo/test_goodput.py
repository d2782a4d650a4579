"""Goodput judged from a run's request rows: each streamed request's TTFT, TPOT and total together,
counted in the slice of its start; the rows survive the bundle (llm_requests.csv.gz) and bad
files are named."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import pytest

from slogate.slo.bundle import BundleError, read_run, write_run
from slogate.slo.evaluator import evaluate
from slogate.slo.request_rows import REQUEST_ROWS_FILE, RequestRow, RequestRows
from slogate.slo.run import RunResult
from slogate.slo.specfile.load import parse_spec
from tests.builders import MESSAGES, START, make_run

CHAT = "POST /v1/chat/completions"
SPEC = ("service: s\nobjectives:\n  - {name: g, kind: goodput, endpoint: POST /v1/messages, "
        "target: 90%, limits: {ttft: 500ms, tpot: 50ms, total: 5s}}\n")


def row(second: float, *, ttft: float | None = 0.2, tpot: float | None = 0.02, total: float = 1.0,
        ok: bool = True, endpoint: str = MESSAGES) -> RequestRow:
    return RequestRow(START + second, endpoint, ok, ttft, tpot, total)


def with_rows(rows: list[RequestRow], slices: int = 10) -> RunResult:
    return dataclasses.replace(make_run({MESSAGES: ([900.0] * 10, 0)}, slices=slices),
                               request_rows=RequestRows.of(rows))


def test_a_request_is_good_only_when_it_succeeded_and_met_every_limit_together() -> None:
    good = [row(s + 0.5) for s in range(10) for _ in range(50)]
    # Each of these meets all but one limit: histograms of each figure apart would count them good.
    bad = [row(1.1, ttft=0.6), row(2.1, tpot=0.06), row(3.1, total=6.0), row(4.1, ok=False, ttft=None,
           tpot=None), row(5.1, tpot=None), row(6.1, endpoint=CHAT, ttft=9.0)]
    [result] = evaluate(parse_spec(SPEC), with_rows(good + bad), now=START).objectives
    assert result.kind == "goodput" and result.samples == 505 and result.bad_events == 5
    assert result.verdict == "pass" and result.measured == pytest.approx(500 / 505)
    assert result.matched_endpoints == (MESSAGES,)
    assert "goodput rate 50 good requests/s" in result.reason


def test_goodput_takes_the_slices_variation_and_the_warmup_into_account() -> None:
    # 93% good overall, but every bad request in two slices: a burst, not independent misses.
    rows = [row(s + 0.5, ttft=0.2 if s not in (3, 7) or i >= 175 else 0.9) for s in range(10)
            for i in range(500)]
    spec = parse_spec(SPEC)
    [bursty] = evaluate(spec, with_rows(rows), now=START).objectives
    assert bursty.measured == pytest.approx(0.93)
    steady = [row(s + 0.5, ttft=0.2 if i % 100 >= 7 else 0.9) for s in range(10) for i in range(500)]
    [even] = evaluate(spec, with_rows(steady), now=START).objectives
    assert even.verdict == "pass" and bursty.verdict != "pass"
    warm = parse_spec(SPEC.replace("objectives:", "warmup: 8s\nobjectives:"))
    [after_warmup] = evaluate(warm, with_rows(rows), now=START).objectives
    assert after_warmup.samples == 1000


def test_a_run_without_rows_of_the_endpoint_is_inconclusive_and_says_what_it_has() -> None:
    spec = parse_spec(SPEC)
    [none] = evaluate(spec, make_run({MESSAGES: ([900.0] * 10, 0)}), now=START).objectives
    assert none.verdict == "inconclusive" and REQUEST_ROWS_FILE in none.reason
    [other] = evaluate(spec, with_rows([row(1.0, endpoint=CHAT)]), now=START).objectives
    assert other.verdict == "inconclusive" and CHAT in other.reason


def test_rows_survive_the_bundle_and_a_later_run_without_rows_removes_them(tmp_path: Path) -> None:
    rows = [row(0.25, ttft=None, tpot=None, ok=False, total=0.0125), row(1.5),
            row(2.5, endpoint="POST /a,b \"quoted\"")]
    run = with_rows(rows)
    write_run(tmp_path / "run.json", run)
    back = read_run(tmp_path)
    assert list(back.request_rows.rows()) == [
        dataclasses.replace(r, ttft_s=r.ttft_s and pytest.approx(r.ttft_s), total_s=pytest.approx(r.total_s),
                            tpot_s=r.tpot_s and pytest.approx(r.tpot_s)) for r in rows]
    assert evaluate(parse_spec(SPEC), back, now=START).objectives[0].samples == 2
    write_run(tmp_path / "run.json", make_run({MESSAGES: ([900.0] * 10, 0)}))
    assert not (tmp_path / REQUEST_ROWS_FILE).exists() and not read_run(tmp_path).request_rows.blocks


def test_rows_are_written_block_by_block_and_read_as_one_file(tmp_path: Path) -> None:
    first, second = RequestRows.of([row(1.0)]), RequestRows.of([row(2.0, ok=False)])
    both = RequestRows(first.blocks + second.blocks)
    text = gzip.decompress(both.csv_gz()).decode().splitlines()
    assert text[0] == "start_epoch_s,endpoint,ok,ttft_ms,tpot_ms,total_ms"
    assert text[1:] == [f"{START + 1:.6f},{MESSAGES},1,200.000,20.000,1000.000",
                        f"{START + 2:.6f},{MESSAGES},0,200.000,20.000,1000.000"]
    assert both.csv_gz().startswith(RequestRows().csv_gz())  # the header's member, then the blocks'
    assert first.blocks[0].encoded is first.blocks[0].encoded  # encoded once


@pytest.mark.parametrize(("content", "problem"), [
    (b"not gzip", "not a gzip-compressed"),
    (gzip.compress(b"a,b\n"), "line 1: expected the header"),
    (gzip.compress(b"start_epoch_s,endpoint,ok,ttft_ms,tpot_ms,total_ms\n1,POST /x,1,,\n"),
     "line 2: expected 6 fields, got 5"),
    (gzip.compress(b"start_epoch_s,endpoint,ok,ttft_ms,tpot_ms,total_ms\n1,POST /x,yes,1,1,1\n"),
     "line 2: ok 'yes' must be 0 or 1"),
    (gzip.compress(b"start_epoch_s,endpoint,ok,ttft_ms,tpot_ms,total_ms\n1,POST /x,1,1,1,\n"),
     "line 2: total_ms '' is not a number"),
    (gzip.compress(b"start_epoch_s,endpoint,ok,ttft_ms,tpot_ms,total_ms\n1,POST /x,1,-1,1,1\n"),
     "line 2: ttft_ms '-1' is negative"),
])
def test_a_bad_rows_file_is_named_with_its_line(tmp_path: Path, content: bytes, problem: str) -> None:
    write_run(tmp_path / "run.json", make_run({MESSAGES: ([900.0] * 10, 0)}))
    (tmp_path / REQUEST_ROWS_FILE).write_bytes(content)
    with pytest.raises(BundleError, match=REQUEST_ROWS_FILE) as raised:
        read_run(tmp_path)
    assert problem in str(raised.value)
