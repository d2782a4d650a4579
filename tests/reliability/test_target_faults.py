"""Faults of the target, over real sockets: every run completes, classifies its errors, writes its
report, and never passes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from slogate.target import FaultConfig, ReferenceTarget
from tests.reliability.conftest import FaultyRun
from tests.reliability.helpers import (
    ERRORS_SPEC,
    SLOW_SPEC,
    error_kinds,
    read_json,
    run_args,
    start_slogate,
)
from tests.target.target_helpers import unused_port

BUNDLE_FILES = ("run.json", "evaluation.json", "report.html", "summary.md", "junit.xml", "locust.log")


def assert_judged_not_passed(bundle: Path, code: int) -> dict[str, Any]:
    for name in BUNDLE_FILES:
        assert (bundle / name).is_file(), name
    evaluation: dict[str, Any] = read_json(bundle / "evaluation.json")
    assert evaluation["verdict"] in ("fail", "inconclusive"), evaluation["verdict"]
    assert code in (1, 3), code
    assert evaluation["verdict"].upper() in (bundle / "report.html").read_text(encoding="utf-8").upper()
    return evaluation


def test_resets_hangs_and_error_bursts_are_classified_and_fail(faulty_run: FaultyRun) -> None:
    evaluation = assert_judged_not_passed(faulty_run.bundle, faulty_run.code)
    assert faulty_run.code == 1, faulty_run.slogate.stderr()
    assert evaluation["verdict"] == "fail"
    run = read_json(faulty_run.bundle / "run.json")
    assert run["complete"] is True
    kinds = error_kinds(run)
    assert kinds.get("HTTP 503", 0) > 0, kinds  # the bursts
    assert kinds.get("HTTP 504", 0) > 0, kinds  # hanging bodies: the proxy's read timed out
    # A body cut by a reset is the client's own exception, named apart from HTTP statuses.
    cut = {kind: n for kind, n in kinds.items() if not kind.startswith("HTTP ")}
    assert cut, kinds
    errors = next(o for o in evaluation["objectives"] if o["name"] == "errors")
    assert errors["verdict"] == "fail"
    summary = (faulty_run.bundle / "summary.md").read_text(encoding="utf-8")
    assert "HTTP 503" in summary or "503" in summary


def test_slow_bodies_and_stalls_fail_latency(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SLOW_SPEC, encoding="utf-8")
    faults = FaultConfig(slow_body_s=0.15, stall_ms=400, stall_every_s=1.5, seed=3)
    bundle = tmp_path / "bundle"
    with ReferenceTarget(faults=faults) as target:
        child = start_slogate(run_args(target.proxy_url, spec, bundle), tmp_path)
        code = child.wait(timeout=60)
    evaluation = assert_judged_not_passed(bundle, code)
    assert code == 1, child.stderr()
    p50 = next(o for o in evaluation["objectives"] if o["name"] == "messages-p50")
    assert p50["verdict"] == "fail" and p50["measured"] >= 0.14, p50  # 0.15 s, give or take timer slack
    p99 = next(o for o in evaluation["objectives"] if o["name"] == "messages-p99")
    assert p99["measured"] >= 0.3, p99  # a request caught at the start of a stall waited it out


def test_a_target_that_dies_and_comes_back(tmp_path: Path) -> None:
    """Killed at 1.5 s, back on the same port at 3 s: refused connections in between, answers
    after, and the run is judged, not passed."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(ERRORS_SPEC, encoding="utf-8")
    port = unused_port()
    bundle = tmp_path / "bundle"
    first = ReferenceTarget(proxy_port=port).start()
    child = start_slogate(run_args(first.proxy_url, spec, bundle, duration="5s"), tmp_path)
    second = ReferenceTarget(proxy_port=port)
    started_at = time.monotonic()
    try:
        # The load starts once Locust is up: wait for its first progress line, then break it.
        while "recording run" not in child.stderr() and time.monotonic() - started_at < 20:
            time.sleep(0.1)
        time.sleep(1.5)
        assert first._proc is not None
        first._proc.kill()  # no clean shutdown: connections are cut, the port closes
        first.stop()
        time.sleep(1.5)
        second.start()
        code = child.wait(timeout=60)
    finally:
        first.stop()
        second.stop()
    assert_judged_not_passed(bundle, code)
    run = read_json(bundle / "run.json")
    kinds = error_kinds(run)
    refused = sum(n for kind, n in kinds.items() if "Refused" in kind or "refused" in kind.lower())
    assert refused > 0, kinds
    # Answers came again after the return: a slice after the last refused connection has successful
    # requests. (The very last slice may hold only a user/CPU sample taken as the run stopped.)
    slices = run["slices"]
    last_refused = max(i for i, s in enumerate(slices) if any("efused" in kind for kind in s["errors"]))
    answered = [sum(e["ok"]["count"] for e in s["endpoints"].values()) for s in slices[last_refused:]]
    assert sum(answered) > 0, (last_refused, len(slices), answered)
