"""An LLM run across Locust workers: a stream's derived series reach slogate's histograms in one
call per series (no Locust event per inter-token gap), each stream's row (goodput's data) reaches
the bundle, and each slice keeps the lowest rate-limit headroom any worker saw."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from slogate.slo.bundle import read_run
from slogate.slo.run import ITL_SUFFIX, RATE_LIMIT_HEADROOM_PREFIX, TTFT_SUFFIX
from slogate.target import ReferenceTarget
from slogate.target.ratelimit import RateLimit
from tests.loadtest.test_plugin import json_documents

REPO = Path(__file__).resolve().parents[2]
ROUTE = "POST /v1/messages"


@pytest.mark.slow
def test_stream_timings_and_headroom_merge_from_workers(tmp_path: Path, closed_port: int) -> None:
    bundle = tmp_path / "bundle"
    # 4 requests/s per key, a burst of 4: every key's headroom falls within its first second.
    target = ReferenceTarget(rate_limit=RateLimit(4.0, 4), token_interval_s=0.002, first_token_s=0.01)
    with target:
        completed = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(REPO / "loadtest" / "llm_proxy.py"), "--headless",
             "--json", "--host", target.proxy_url, "-u", "4", "-r", "4", "-t", "4s", "--processes", "2",
             "--master-bind-port", str(closed_port), "--master-port", str(closed_port),
             "--llm-stream-ratio", "1", "--health-interval", "0", "--slogate-out", str(bundle)],
            capture_output=True, text=True, timeout=90, check=False, cwd=REPO,
        )
    assert completed.returncode == 0, completed.stderr[-3000:]
    run = read_run(bundle)
    streams, _ = run.merged(ROUTE)
    ttft, _ = run.merged(ROUTE + TTFT_SUFFIX)
    itl, _ = run.merged(ROUTE + ITL_SUFFIX)
    assert 0 < ttft.ok.count == streams.ok.count
    assert itl.ok.count >= 7 * ttft.ok.count and itl.statuses == {"200": itl.ok.count}
    # One row per stream from both workers (429s have none), its TTFT the one in the histogram's range.
    rows = list(run.request_rows.rows())
    assert len(rows) == streams.requests and {row.endpoint for row in rows} == {ROUTE}
    assert sum(row.ok for row in rows) == ttft.ok.count
    row_ttfts = sorted(row.ttft_s * 1e6 for row in rows if row.ttft_s is not None)
    assert len(row_ttfts) == ttft.ok.count
    assert ttft.ok.min * 0.99 <= row_ttfts[0] and row_ttfts[-1] <= ttft.ok.max * 1.01  # buckets' 1%
    # Locust's own stats see the requests only: the derived series never went through its events.
    locust_names = {entry["name"] for document in json_documents(completed.stdout) for entry in document}
    assert "/v1/messages" in locust_names and not any("#" in name for name in locust_names)
    headroom = [s.minimums.get(RATE_LIMIT_HEADROOM_PREFIX + "requests") for s in run.slices]
    seen = [share for share in headroom if share is not None]
    assert len(seen) >= 3 and all(0.0 <= share <= 1.0 for share in seen)
    assert min(seen) <= 0.25  # a burst of 4 spent: the lowest share left, whichever worker saw it
