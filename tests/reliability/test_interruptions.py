"""SIGINT and SIGTERM to `slogate run` mid-run, with one Locust process and with two workers: the
partial results are written whole, the report says the run is incomplete, the exit code is not
0, and nothing slogate started outlives it."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slogate.target import ReferenceTarget
from tests.reliability.helpers import (
    ERRORS_SPEC,
    alive,
    descendants,
    kill_tree,
    listening_addresses,
    read_json,
    recorded_requests,
    run_args,
    served_requests,
    start_slogate,
    temp_files,
    wait_for,
)


@pytest.fixture(scope="module")
def target() -> Iterator[ReferenceTarget]:
    with ReferenceTarget() as running:
        yield running


# Each signal and each process layout once (Ctrl-C of a multi-process run, a CI job's SIGTERM of a
# single one): the four combinations took 40 s of a suite kept under 12 minutes, and the handling of
# a signal does not depend on the layout (one handler in the master, the workers follow the master).
@pytest.mark.parametrize(
    ("signum", "processes"),
    [(signal.SIGTERM, 1), (signal.SIGINT, 2)],
    ids=["SIGTERM-single", "SIGINT-2-workers"],
)
def test_signal_mid_run_keeps_partial_results(
    target: ReferenceTarget, tmp_path: Path, signum: signal.Signals, processes: int
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(ERRORS_SPEC, encoding="utf-8")
    bundle = tmp_path / "bundle"
    served_before = served_requests(target)
    extra = ["--processes", str(processes)] if processes > 1 else []
    child = start_slogate(run_args(target.proxy_url, spec, bundle, duration="60s", users=4, extra=extra),
                          tmp_path)
    try:
        wait_for(lambda: "recording run" in child.stderr(), 30, "the load to start")
        if processes > 1:
            wait_for(lambda: len(descendants(child.pid)) >= 1 + processes, 10, "the workers")
        # Past the first of the workers' 3-second reports, not on it: the last seconds before the
        # signal exist only in the workers until the master collects their final reports.
        time.sleep(4.5 if processes > 1 else 1.5)
        started = descendants(child.pid)
        assert started, "slogate started no Locust process"
        # The master's port for its workers is served too: loopback only.
        listening = listening_addresses([p.pid for p in started])
        assert {ip for _, ip, _ in listening} <= {"127.0.0.1"}, listening
        child.process.send_signal(signum)
        code = child.wait(timeout=40)
    finally:
        kill_tree(child.pid)
    stderr = child.stderr()
    assert code not in (0, 1) and code == 3, (code, stderr)
    assert "Traceback" not in stderr, stderr
    assert alive(started) == [], [p.pid for p in alive(started)]

    run = read_json(bundle / "run.json")  # parses: written whole
    assert run["complete"] is False
    # Nothing measured is lost: every request the proxy answered is in the run, but for the few
    # in flight when the users were stopped (at most one per user).
    recorded, served = recorded_requests(run), served_requests(target) - served_before
    assert recorded > 0
    assert served - 4 <= recorded <= served, (recorded, served)
    evaluation = read_json(bundle / "evaluation.json")
    assert evaluation["verdict"] == "inconclusive"
    html = (bundle / "report.html").read_text(encoding="utf-8").lower()
    assert "incomplete" in html or "interrupted" in html
    assert temp_files(bundle) == []
