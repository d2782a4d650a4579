"""The scenarios under plain `locust -f`, against the reference target, judged from run.json; and
their Locust-free traffic helpers."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from slogate.loadtest.traffic import ZipfKeys, api_key_for, cache_result, retry_after_seconds, split_keys
from slogate.slo.run import TTFB_SUFFIX, RunResult
from slogate.target import FaultConfig, ReferenceTarget
from slogate.target.faults import ConstantLatency
from slogate.target.ratelimit import RateLimit

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"
KEYS = ["sk-scenario-test-key-aaaa01", "sk-scenario-test-key-bbbb02", "sk-scenario-test-key-cccc03"]


def run_locust(scenario: str, host: str, bundle: Path, *extra: str) -> tuple[RunResult, str]:
    """A 3 s headless run of ``loadtest/<scenario>``; its run.json and Locust's output."""
    completed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOADTEST / scenario), "--headless",
         "--host", host, "-u", "4", "-r", "4", "-t", "3s", "--only-summary",
         "--slogate-out", str(bundle), *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    run = RunResult.from_dict(json.loads((bundle / "run.json").read_text()))
    return run, output


@pytest.mark.slow
def test_llm_scenario_records_ttfb_tokens_and_rate_limits_apart(tmp_path: Path) -> None:
    # 2 requests/s per key with a burst of 2: each user is refused within its first second.
    target = ReferenceTarget(rate_limit=RateLimit(2.0, 2), token_interval_s=0.005)
    with target:
        run, output = run_locust("llm_proxy.py", target.proxy_url, tmp_path / "llm",
                                 "--llm-stream-ratio", "0.5", "--llm-api-keys", ",".join(KEYS))
    assert set(run.endpoints) == {
        "POST /v1/messages", "POST /v1/messages" + TTFB_SUFFIX,
        "GET /health/live", "GET /health/ready", "GET /metrics",
    }
    total, _ = run.merged("POST /v1/messages")
    ttfb, _ = run.merged("POST /v1/messages" + TTFB_SUFFIX)
    # Refused requests are counted apart: neither failures nor successes.
    assert total.rate_limited >= 3
    assert total.failures == 0 and run.errors == ()
    # Streamed calls (half) have a TTFB each; plain ones only a total.
    assert 0 < ttfb.ok.count < total.ok.count
    # Every streamed answer sends at least 8 tokens 5 ms apart after its first byte, so the
    # request with the slowest first byte took at least 40 ms more in total. (Percentiles of the
    # two would compare different populations: the total includes the plain, unstreamed calls.)
    assert total.ok.max >= ttfb.ok.max + 35_000
    # Tokens of every answer, summed over the users, in the log.
    assert f"messages={total.ok.count} " in output and "input_tokens=" in output
    bundle_text = (tmp_path / "llm" / "run.json").read_text()
    for key in KEYS:
        assert key not in bundle_text and key not in output


@pytest.mark.slow
def test_caching_scenario_records_hits_misses_304s_and_purges(tmp_path: Path) -> None:
    # A slow upstream: a miss pays 20 ms that a hit does not.
    with ReferenceTarget(faults=FaultConfig(latency=ConstantLatency(0.02))) as target:
        run, output = run_locust("caching_proxy.py", target.proxy_url, tmp_path / "cache",
                                 "--cache-keys", "40", "--cache-conditional-ratio", "0.3",
                                 "--cache-purge-ratio", "0.05")
    assert {"GET /content/{id}:hit", "GET /content/{id}:miss",
            "PURGE /content/{id}"} <= set(run.endpoints)
    assert all("{id}" in name for name in run.endpoints if "/content/" in name)  # no raw URLs
    hit, _ = run.merged("GET /content/{id}:hit")
    miss, _ = run.merged("GET /content/{id}:miss")
    purge, _ = run.merged("PURGE /content/{id}")
    assert hit.statuses.get("304", 0) > 0 and hit.statuses.get("200", 0) > 0
    hit_p50, miss_p50 = hit.ok.quantile(0.5), miss.ok.quantile(0.5)
    assert hit_p50 is not None and miss_p50 is not None and hit_p50 < miss_p50
    assert miss_p50 >= 20_000
    assert purge.ok.count > 0 and purge.failures == 0
    assert sum(s.failures for s in run.slices) == 0
    assert f"cache_hit={hit.ok.count}" in output and f"cache_miss={miss.ok.count}" in output


def test_zipf_keys_favour_the_first_keys() -> None:
    keys, rng = ZipfKeys(100, exponent=1.1), random.Random(7)
    drawn = Counter(keys.draw(rng) for _ in range(20_000))
    assert set(drawn) <= set(range(100))
    assert drawn[0] > drawn[1] > drawn[9] > drawn[99]
    assert 0.18 < drawn[0] / 20_000 < 0.24  # 1 / H(100, 1.1) ≈ 0.21
    uniform = Counter(ZipfKeys(4, exponent=0).draw(rng) for _ in range(4_000))
    assert min(uniform.values()) > 850
    assert {ZipfKeys(1).draw(rng) for _ in range(10)} == {0}
    with pytest.raises(ValueError, match="at least 1 key"):
        ZipfKeys(0)


def test_api_keys_are_distinct_per_user_or_taken_in_turn() -> None:
    generated = {api_key_for([]) for _ in range(5)}
    assert len(generated) == 5 and all(k.startswith("sk-slogate-load-") for k in generated)
    configured = split_keys(" a, b ,, c ")
    assert configured == ["a", "b", "c"]
    assert {api_key_for(configured) for _ in range(6)} == {"a", "b", "c"}
    assert split_keys(None) == []


def test_retry_after_values_and_cache_results() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    for unusable in (None, "", "soon", "inf"):
        assert retry_after_seconds(unusable) is None
    assert [cache_result(v) for v in ("HIT", "MISS", "BYPASS", "hit from cloudfront")] == [
        "hit", "miss", "bypass", "hit",
    ]
    assert [cache_result(v) for v in (None, "", "<script>")] == ["none", "none", "none"]
