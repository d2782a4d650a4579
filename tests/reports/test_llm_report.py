"""The report's LLM parts: TTFT/ITL/TPOT over time and distributions, goodput per slice, and the
summary.md line; a run without streams gets none of them."""

from __future__ import annotations

import dataclasses

from slogate.reports.llm_charts import llm_charts
from slogate.reports.llm_summary import stream_summary
from slogate.reports.markdown import render_markdown
from slogate.slo.evaluator import evaluate
from slogate.slo.request_rows import RequestRow, RequestRows
from slogate.slo.run import ITL_SUFFIX, TPOT_SUFFIX, TTFT_SUFFIX, RunResult
from slogate.slo.specfile.load import parse_spec
from tests.builders import MESSAGES, START, make_run

SPEC = parse_spec(
    "service: s\nobjectives:\n"
    "  - {name: ttft, kind: ttft, endpoint: POST /v1/messages, percentile: p95, threshold: 500ms}\n"
    "  - {name: good, kind: goodput, endpoint: POST /v1/messages, target: 90%, limits: {ttft: 200ms}}\n")


def streamed_run() -> RunResult:
    run = make_run({MESSAGES: ([900.0] * 20, 0), MESSAGES + TTFT_SUFFIX: ([150.0] * 19 + [250.0], 0),
                    MESSAGES + ITL_SUFFIX: ([0.0] * 100 + [20.0] * 300, 0),
                    MESSAGES + TPOT_SUFFIX: ([30.0] * 20, 0)})
    rows = [RequestRow(START + second + i / 20, MESSAGES, True, 0.15 if i else 0.25, 0.03, 0.9)
            for second in range(10) for i in range(20)]
    return dataclasses.replace(run, request_rows=RequestRows.of(rows))


def test_a_streamed_run_gets_timings_distributions_and_goodput_charts() -> None:
    run = streamed_run()
    evaluation = evaluate(SPEC, run, now=START)
    [good] = [o for o in evaluation.objectives if o.kind == "goodput"]
    assert good.limits == {"ttft": 0.2} and good.measured == 0.95
    charts = llm_charts(run, evaluation)
    assert [c.key for c in charts] == ["llm-timings", "llm-distribution", "llm-goodput"]
    assert all(c.svg is not None for c in charts)
    timings, distribution, goodput = (str(c.svg) for c in charts)
    assert "time to first token (POST /v1/messages)" in timings and "ttft: p95 ≤ 500ms" in timings
    assert "n=4,000, 1,000 of 0" in distribution  # ITL's same-read zeros counted apart from the log bins
    assert "good: TTFT ≤ 200ms" in goodput and "target 90%" in goodput


def test_the_summary_line_gives_percentiles_and_the_goodput_rate() -> None:
    run = streamed_run()
    evaluation = evaluate(SPEC, run, now=START)
    line = stream_summary(run, evaluation)
    assert line is not None and "TTFT 150ms / 150ms / 24" in line and "ITL 20ms / 20ms / 20ms" in line
    assert "goodput good 95% (19 good requests/s)" in line
    assert line.replace("\\", "") in render_markdown(run, evaluation).replace("\\", "")


def test_a_run_without_streams_has_no_llm_parts() -> None:
    run = make_run({MESSAGES: ([900.0] * 20, 0)})
    evaluation = evaluate(SPEC, run, now=START)
    assert llm_charts(run, evaluation) == [] and stream_summary(run, evaluation) is None
