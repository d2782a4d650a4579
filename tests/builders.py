"""Runs of known content, the one builder the tests share: say what each one-second slice holds
per endpoint (latencies of the successes, and the failures), get a ``RunResult``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slogate.slo.run import EndpointWindow, ErrorGroup, RunResult, TimeSlice, ValidityFlag

START = 1_700_000_000.0
MESSAGES = "POST /v1/messages"
CONTENT = "GET /content/{id}"

Failures = int | Mapping[str, int]
"""An endpoint's failed requests in a slice: a number of 503s, or counts by status."""

SliceContent = Mapping[str, tuple[Sequence[float], Failures]]
"""One slice's requests per endpoint: (latencies of the successes in ms, failures)."""


def window(
    latencies_ms: Sequence[float], failures: Failures = 0, *, failed_ms: float = 5.0,
    rate_limited: int = 0,
) -> EndpointWindow:
    """One endpoint's requests: successes at ``latencies_ms``, then failures of ``failed_ms`` each."""
    result = EndpointWindow(rate_limited=rate_limited)
    for ms in latencies_ms:
        result.record(ms * 1000.0, "200", failed=False)
    by_status = {"503": failures} if isinstance(failures, int) else failures
    for status, count in by_status.items():
        for _ in range(count):
            result.record(failed_ms * 1000.0, status, failed=True)
    return result


def make_run(
    content: SliceContent | Sequence[SliceContent],
    *,
    slices: int = 10,
    slice_s: float = 1.0,
    rate_limited: int = 0,
    errors: Sequence[ErrorGroup] = (),
    validity: Sequence[ValidityFlag] = (),
    complete: bool = True,
    target: str = "http://127.0.0.1:8080",
) -> RunResult:
    """A run of ``slice_s`` slices from ``START``: the same ``content`` in each of ``slices`` slices,
    or one content per slice. Every endpoint also had ``rate_limited`` 429s per slice."""
    per_slice = [content] * slices if isinstance(content, Mapping) else list(content)
    return RunResult(
        run_id="run-2024-01-01-abc",
        target=target,
        scenario="scenarios/reference.py",
        load_model={"model": "open", "rate_per_s": 200, "stages": [{"duration": "10s"}]},
        started_at=START,
        ended_at=START + len(per_slice) * slice_s,
        slice_s=slice_s,
        slices=tuple(
            TimeSlice(
                start_s=i * slice_s,
                duration_s=slice_s,
                users=10 + i,
                endpoints={name: window(ms, fails, rate_limited=rate_limited)
                           for name, (ms, fails) in endpoints.items()},
            )
            for i, endpoints in enumerate(per_slice)
        ),
        errors=tuple(errors),
        validity=tuple(validity),
        complete=complete,
        slogate_version="0.1.0-test",
    )
