"""The caching scenario and the caching-reverse-proxy preset gate a real nginx ``proxy_cache``
(Debian's nginx, tests/nginx_server.py) in front of the reference target's upstream, through the
``slogate run`` command line: hits and misses judged apart, revalidations (304) counted, purges
through Lua when Debian's ``libnginx-mod-http-lua`` is installed.

The origin's content is cacheable for 60 s; nginx keeps it 2 s, so the runs see entries expire and
nginx revalidate them with ``If-None-Match`` (``REVALIDATED``: recorded as a miss, the client
waited for the origin's 304).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from slogate.slo.bundle import read_run
from slogate.slo.run import RunResult
from slogate.target import FaultConfig, ReferenceTarget
from slogate.target.faults import ConstantLatency
from tests.conftest import REPO, unavailable
from tests.nginx_server import nginx_cache

SCENARIO = REPO / "loadtest" / "caching_proxy.py"
PRESET = REPO / "slo" / "presets" / "caching-reverse-proxy.yaml"
SLOGATE = Path(sys.executable).parent / "slogate"
HIT, MISS = "GET /content/{id}:hit", "GET /content/{id}:miss"


def gate_nginx(
    host: str, bundle: Path, *, duration: str, users: int, keys: int, purge_ratio: float = 0.0
) -> tuple[int, dict[str, dict[str, Any]], RunResult]:
    """``slogate run`` of the caching scenario against ``host``, judged by the preset: the exit
    code, the objectives by name, and the run."""
    # Scenario options reach Locust through their environment variables; nothing else of the
    # caller's SLOGATE_* settings does.
    env = {name: value for name, value in os.environ.items() if not name.startswith("SLOGATE_")}
    env |= {"SLOGATE_CACHE_KEYS": str(keys), "SLOGATE_CACHE_PURGE_RATIO": str(purge_ratio)}
    completed = subprocess.run(
        [str(SLOGATE), "run", "--host", host, "--spec", str(PRESET), "--scenario", str(SCENARIO),
         "--users", str(users), "--spawn-rate", str(users), "--duration", duration,
         "--out", str(bundle)],
        capture_output=True, text=True, timeout=90, check=False, env=env,
    )
    output = completed.stdout + completed.stderr
    assert (bundle / "evaluation.json").exists(), output[-3000:]
    evaluation = json.loads((bundle / "evaluation.json").read_text())
    assert evaluation["exit_code"] == completed.returncode, output[-3000:]
    objectives = {objective["name"]: objective for objective in evaluation["objectives"]}
    return completed.returncode, objectives, read_run(bundle)


@pytest.mark.slow
def test_the_preset_judges_nginx_cache_hits_misses_and_revalidations(tmp_path: Path) -> None:
    with ReferenceTarget() as origin, nginx_cache(tmp_path / "nginx", origin.upstream_url,
                                                  valid_s=2) as cache:
        purge_ratio = 0.02 if cache.purge else 0.0
        exit_code, objectives, run = gate_nginx(cache.url, tmp_path / "bundle", duration="6s",
                                                users=6, keys=200, purge_ratio=purge_ratio)
        assert "signal" not in cache.log_text() and "[alert]" not in cache.log_text()
    # Each objective judges its own series. 6 s cannot show 99.9% availability (3,000 requests)
    # nor a p99 of misses (1,000 misses): inconclusive, never failed. The hits' p95 is judged on
    # enough of them; on an idle machine it passes (~1 ms), but a loaded one can push the client's
    # measured p95 past 10 ms (seen: 13 ms at a load average of 7 on 2 cores), so its verdict is
    # not asserted here; the median is.
    hit_objective, miss_objective = objectives["cache-hit-p95"], objectives["cache-miss-p99"]
    assert hit_objective["matched_endpoints"] == [HIT] and miss_objective["matched_endpoints"] == [MISS]
    assert hit_objective["samples"] >= hit_objective["required_samples"]
    assert miss_objective["verdict"] in ("pass", "inconclusive") and miss_objective["samples"] > 0
    assert objectives["availability"]["verdict"] != "fail"
    assert exit_code == (1 if hit_objective["verdict"] == "fail" else 3), objectives

    hit, _ = run.merged(HIT)
    miss, _ = run.merged(MISS)
    hit_p50, miss_p50 = hit.ok.quantile(0.5), miss.ok.quantile(0.5)
    assert hit_p50 is not None and miss_p50 is not None
    assert hit_p50 < 10_000 and hit_p50 < miss_p50  # µs
    assert hit.failures == miss.failures == 0
    # Conditional reads of cached keys answered 304 by nginx itself; expired entries revalidated
    # with the origin (nginx's REVALIDATED).
    assert hit.statuses.get("304", 0) > 0 and hit.statuses.get("200", 0) > 0
    counters = run.counters
    assert counters["cache_hit"] == counters["cache_status_hit"] == hit.ok.count
    assert counters["cache_miss"] == miss.ok.count > 0
    assert counters["cache_status_revalidated"] > 0 and counters["cache_status_miss"] > 0
    assert counters["cache_miss"] == counters["cache_status_miss"] + counters["cache_status_revalidated"]
    assert "cache_none" not in counters and not any("/health" in name for name in run.endpoints)
    if cache.purge:
        purges, _ = run.merged("PURGE /content/{id}")
        assert purges.ok.count > 0 and purges.failures == 0
        assert set(purges.statuses) <= {"200", "404"}
    else:
        assert "PURGE /content/{id}" not in run.endpoints


@pytest.mark.slow
def test_a_slow_origin_fails_the_miss_latency_objective_not_the_hits(tmp_path: Path) -> None:
    slow = FaultConfig(latency=ConstantLatency(0.3))
    with ReferenceTarget(faults=slow) as origin, nginx_cache(tmp_path / "nginx", origin.upstream_url,
                                                             valid_s=2) as cache:
        exit_code, objectives, run = gate_nginx(cache.url, tmp_path / "bundle", duration="4s",
                                                users=6, keys=40)
    assert exit_code == 1, objectives
    miss_objective = objectives["cache-miss-p99"]
    assert miss_objective["verdict"] == "fail", miss_objective["reason"]
    assert miss_objective["ci_low"] > 0.25
    hit, _ = run.merged(HIT)
    miss, _ = run.merged(MISS)
    hit_p50, miss_min = hit.ok.quantile(0.5), miss.ok.min
    assert hit_p50 is not None and hit_p50 < 10_000 and miss_min >= 300_000


def test_nginx_purges_through_lua_and_revalidates_with_the_origin(tmp_path: Path) -> None:
    with ReferenceTarget() as origin, nginx_cache(tmp_path / "nginx", origin.upstream_url,
                                                  valid_s=1) as cache:
        if not cache.purge:
            unavailable("nginx's Lua module not found: install Debian's 'libnginx-mod-http-lua' "
                        "(scripts/setup --with-system does); without it purging stays off")
        url = f"{cache.url}/content/7"
        with requests.Session() as session:
            first, second = session.get(url, timeout=5), session.get(url, timeout=5)
            etag = first.headers["ETag"]
            conditional = session.get(url, headers={"If-None-Match": etag}, timeout=5)
            purged = session.request("PURGE", url, timeout=5)
            purged_again = session.request("PURGE", url, timeout=5)
            refetched = session.get(url, timeout=5)
            time.sleep(2.1)  # nginx's clock has a one-second grain: the 1 s entry has expired
            revalidated = session.get(url, timeout=5)
    answers = [(r.status_code, r.headers.get("X-Cache-Status")) for r in
               (first, second, conditional, refetched, revalidated)]
    assert answers == [(200, "MISS"), (200, "HIT"), (304, "HIT"), (200, "MISS"), (200, "REVALIDATED")]
    assert (purged.status_code, purged_again.status_code) == (200, 404)
    assert revalidated.headers["ETag"] == etag and revalidated.content == first.content
