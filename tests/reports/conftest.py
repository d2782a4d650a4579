"""Synthetic runs with known latencies, judged by the real evaluator, for the report tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from slogate.slo.evaluation import Evaluation
from slogate.slo.evaluator import evaluate
from slogate.slo.run import TTFB_SUFFIX, ErrorGroup, RunResult, SlowRequest, ValidityFlag, WorkerInfo
from slogate.slo.spec import ErrorRatioObjective, LatencyObjective, Spec
from slogate.slo.specfile.load import parse_spec
from tests.builders import CONTENT, MESSAGES, START, make_run, window

SECRET = "sk-test-SECRET123"
HOSTILE = "<script>alert(1)</script> | a&b `tick` \x07bell\x00 *x*\nnext"

SPEC = f"""\
service: checkout-api
warmup: 2s
objectives:
  - name: messages-p95
    kind: latency
    endpoint: {MESSAGES}
    percentile: p95
    threshold: 80ms
  - name: content-p99
    kind: latency
    endpoint: {CONTENT}
    percentile: p99
    threshold: 50ms
  - name: error-ratio
    kind: error_ratio
    max: 2%
  - name: availability
    kind: availability
    target: 99%
  - name: tail-p99.9
    kind: latency
    percentile: 99.9
    threshold: 1s
    gating: false
"""


@dataclass(frozen=True)
class Judged:
    run: RunResult
    evaluation: Evaluation


def standard_run(**kwargs: object) -> RunResult:
    """messages: 1..100 ms and one failure per slice; content: 200 x 20 ms per slice."""
    return make_run(
        {MESSAGES: ([float(v) for v in range(1, 101)], 1), CONTENT: ([20.0] * 200, 0)},
        errors=[ErrorGroup(MESSAGES, "HTTP 503", "503 Service Unavailable: upstream busy", 10)],
        **kwargs,  # type: ignore[arg-type]
    )


def judge(run: RunResult, spec: Spec | str = SPEC) -> Judged:
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    return Judged(run, evaluate(parsed, run, now=START + 60))


@pytest.fixture(scope="session")
def failing() -> Judged:
    """messages-p95 fails (95 ms > 80 ms), the rest pass, the non-gating tail is inconclusive."""
    return judge(standard_run())


@pytest.fixture(scope="session")
def passing() -> Judged:
    return judge(standard_run(), SPEC.replace("threshold: 80ms", "threshold: 100ms"))


@pytest.fixture(scope="session")
def invalid() -> Judged:
    flags = [ValidityFlag("generator_saturated", "load generator CPU at 97% over 90%")]
    return judge(standard_run(validity=flags, complete=False))


@pytest.fixture(scope="session")
def empty() -> Judged:
    """A run that recorded nothing at all."""
    return judge(replace(make_run({}, slices=0), ended_at=START + 5.0))


@pytest.fixture(scope="session")
def failures_only() -> Judged:
    """Requests were made, and every one failed: no latency to chart."""
    run = make_run({MESSAGES: ([], 20)},
                   errors=[ErrorGroup(MESSAGES, "ConnectionRefusedError", "connection refused",
                                      200)])
    return judge(run)


@pytest.fixture(scope="session")
def hostile() -> Judged:
    """Markup, pipes, backticks, control characters and a secret wherever run text goes."""
    run = make_run(
        {HOSTILE: ([float(v) for v in range(1, 51)], 2), "GET /price/$id/$x": ([5.0] * 50, 0),
         "_private": ([5.0] * 10, 0)},
        errors=[
            ErrorGroup(HOSTILE, f"kind {HOSTILE}", f"HTTP 401 {HOSTILE} x-api-key: {SECRET}", 7),
            ErrorGroup(HOSTILE, "HTTP 401", f"upstream said: Authorization: Bearer {SECRET}", 3),
            ErrorGroup("GET /x", "Error", "y" * 5000 + f" api_key={SECRET}", 1),
        ],
        validity=[ValidityFlag(f"code{HOSTILE}", f"message {HOSTILE} token={SECRET}")],
        target=f"https://user:{SECRET}@api.example.com/?api_key={SECRET}",
    )
    spec = Spec(
        service=f"svc {HOSTILE}",
        source="<hostile>",
        objectives=(
            LatencyObjective(name=f"lat {HOSTILE}", percentile=95.0, threshold_s=0.01,
                             endpoint=HOSTILE),
            ErrorRatioObjective(name=f"err {HOSTILE}", max_ratio=0.0),  # infinite burn rate
        ),
    )
    return judge(run, spec)


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def rich_run() -> RunResult:
    """Everything the model can hold: errors by kind per slice, an open-model target rate with
    late and dropped dispatches, 429s, a streamed endpoint's TTFB, slowest requests with trace
    ids, workers (one lost) and validity flags, a known one and one no renderer knows."""
    base = standard_run()
    slices = []
    for i, time_slice in enumerate(base.slices):
        endpoints = dict(time_slice.endpoints)
        endpoints[MESSAGES].rate_limited = 3
        endpoints[MESSAGES + TTFB_SUFFIX] = window([float(v) / 4 for v in range(1, 101)])
        slices.append(replace(
            time_slice, endpoints=endpoints, target_rate=420.0,
            errors={"HTTP 503": 1} if i < 6 else {"HTTP 503": 1, "ReadTimeout": 0},
            generator_cpu_percent=40.0 + 3 * i, dispatch_late=2, dispatch_dropped=1 if i == 7 else 0,
        ))
    return replace(
        base,
        slices=tuple(slices),
        slowest=(
            SlowRequest(MESSAGES, 412_345.0, 7.25, "200", TRACE_ID),
            SlowRequest(CONTENT, 98_000.0, 3.5, "200", None),
        ),
        workers=(WorkerInfo("worker-a", 61.0), WorkerInfo("worker-b", 58.0, lost=True)),
        validity=(
            ValidityFlag("worker_lost", "worker worker-b stopped reporting at 6.0s"),
            ValidityFlag("mystery_code", "something no renderer knows about"),
        ),
    )


@pytest.fixture(scope="session")
def rich() -> Judged:
    return judge(rich_run())


WINDOWED_SPEC = SPEC + f"""\
  - name: messages-p95-per-2s
    kind: latency
    endpoint: {MESSAGES}
    percentile: p95
    threshold: 90ms
    window: 2s
    window_target: 75%
  - name: errors-per-2s
    kind: error_ratio
    max: 2%
    window: 2s
  - name: throughput
    kind: throughput
    min: 100/s
"""


@pytest.fixture(scope="session")
def windowed() -> Judged:
    """Windowed objectives (one misses every 2 s window, one meets each), and a throughput floor."""
    return judge(standard_run(), WINDOWED_SPEC)


@pytest.fixture(scope="session")
def baseline_run() -> RunResult:
    """An earlier run of the same endpoints, a little faster: messages 1..80 ms."""
    run = make_run({MESSAGES: ([float(v) for v in range(1, 81)], 0), CONTENT: ([18.0] * 200, 0)})
    return replace(run, run_id="run-baseline-2023-12-01")


@dataclass(frozen=True)
class Rendered:
    html: str
    markdown: str
    junit: str
    json: str

    def all(self) -> dict[str, str]:
        return {"html": self.html, "markdown": self.markdown, "junit": self.junit,
                "json": self.json}


@pytest.fixture(scope="session")
def render() -> Callable[[Judged], Rendered]:
    """Renders a judged run once per session (matplotlib is the slow part)."""
    from slogate import reports

    # Keyed by identity, the judged run kept with its rendering: a run a test made and dropped
    # would otherwise free its id for another test's run, which would get its pages (seen in CI).
    cache: dict[int, tuple[Judged, Rendered]] = {}

    def rendered(judged: Judged) -> Rendered:
        key = id(judged)
        if key not in cache:
            cache[key] = judged, Rendered(
                html=reports.render_html(judged.run, judged.evaluation, spec_text=SPEC),
                markdown=reports.render_markdown(judged.run, judged.evaluation),
                junit=reports.render_junit(judged.run, judged.evaluation),
                json=reports.render_json(judged.evaluation),
            )
        return cache[key][1]

    return rendered


@pytest.fixture(scope="session")
def rich_html(rich: Judged, baseline_run: RunResult) -> str:
    """The rich run's page, compared with the baseline run (rendered once per session)."""
    from slogate import reports

    return reports.render_html(rich.run, rich.evaluation, spec_text=SPEC, baseline=baseline_run)
