"""The pipeline's choices that need no server: which window a Prometheus gate judges, and that
a bundle is judged against the spec's own text (kept on the spec, not read again)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from slogate.pipeline import judge, server_window
from slogate.slo.bundle import write_run
from slogate.slo.specfile.load import parse_spec
from tests.builders import CONTENT, START, make_run

SPEC = """\
service: shop
warmup: 2s
objectives:
  - {name: content-p50, kind: latency, endpoint: "GET /content/{id}", percentile: p50, threshold: 250ms}
"""


def test_the_window_is_the_runs_judged_part_unless_given() -> None:
    spec = parse_spec(SPEC)
    run = make_run({CONTENT: ([20.0] * 10, 0)}, slices=10)
    assert server_window(spec, run, None, None) == (START + 2.0, START + 10.0)  # after the warm-up
    assert server_window(spec, run, START, None) == (START, START + 10.0)
    assert server_window(spec, run, None, START + 5) == (START + 2.0, START + 5)


def test_without_a_run_the_window_ends_now_and_needs_a_start() -> None:
    spec = parse_spec(SPEC)
    before = time.time()
    start, end = server_window(spec, None, before - 60, None)
    assert start == before - 60 and before <= end <= time.time()
    with pytest.raises(ValueError, match="needs a start"):
        server_window(spec, None, None, None)


def test_the_report_shows_the_spec_text_the_spec_was_read_from(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC, encoding="utf-8")
    spec = parse_spec(SPEC, str(spec_path))
    spec_path.unlink()  # judged from the spec in hand, not from the file again
    write_run(tmp_path / "run.json", make_run({CONTENT: ([20.0] * 10, 0)}, slices=10))
    judged = judge(tmp_path, spec)
    assert judged.evaluation.verdict == "pass"
    assert "content-p50" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "percentile: p50, threshold: 250ms" in (tmp_path / "report.html").read_text(encoding="utf-8")
