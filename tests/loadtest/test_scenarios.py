"""The scenarios under plain `locust -f`, against the reference target, judged from run.json; and
their Locust-free traffic helpers."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from slogate import catalog
from slogate.loadtest.cache_status import (
    cache_outcome,
    cache_status_word,
    parse_cache_headers,
)
from slogate.loadtest.traffic import ZipfKeys, api_key_for, retry_after_seconds, split_keys
from slogate.slo.bundle import read_run
from slogate.slo.evaluator import evaluate
from slogate.slo.run import ITL_SUFFIX, TPOT_SUFFIX, TTFB_SUFFIX, TTFT_SUFFIX, RunResult
from slogate.slo.specfile.load import load_spec
from slogate.target import FaultConfig, ReferenceTarget
from slogate.target.faults import ConstantLatency
from slogate.target.ratelimit import RateLimit

LOADTEST = Path(__file__).resolve().parents[2] / "loadtest"
KEYS = ["sk-scenario-test-key-aaaa01", "sk-scenario-test-key-bbbb02", "sk-scenario-test-key-cccc03"]


def run_locust(
    scenario: str, host: str, bundle: Path, *extra: str, exit_code: int = 0
) -> tuple[RunResult, str]:
    """A 3 s headless run of ``loadtest/<scenario>``; its run.json and Locust's output (Locust
    exits 1 when some request failed)."""
    completed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOADTEST / scenario), "--headless",
         "--host", host, "-u", "4", "-r", "4", "-t", "3s", "--only-summary",
         "--slogate-out", str(bundle), *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == exit_code, output[-3000:]
    run = RunResult.from_dict(json.loads((bundle / "run.json").read_text()))
    return run, output


@pytest.mark.slow
def test_llm_scenario_records_first_token_pacing_tokens_and_rate_limits_apart(tmp_path: Path) -> None:
    # 2 requests/s per key with a burst of 2: each user is refused within its first second. The
    # first token comes 60 ms after message_start, then a token every 5 ms.
    target = ReferenceTarget(rate_limit=RateLimit(2.0, 2), token_interval_s=0.005, first_token_s=0.06)
    with target:
        run, output = run_locust("llm_proxy.py", target.proxy_url, tmp_path / "llm",
                                 "--llm-stream-ratio", "0.5", "--llm-api-keys", ",".join(KEYS),
                                 "--health-interval", "1")
    route = "POST /v1/messages"
    derived = {route + suffix for suffix in (TTFB_SUFFIX, TTFT_SUFFIX, ITL_SUFFIX, TPOT_SUFFIX)}
    probes = {f"GET {r}#probe" for r in ("/health/live", "/health/ready", "/metrics")}
    assert set(run.endpoints) == {route, *derived, *probes}
    total, _ = run.merged(route)
    ttfb, _ = run.merged(route + TTFB_SUFFIX)
    ttft, _ = run.merged(route + TTFT_SUFFIX)
    itl, _ = run.merged(route + ITL_SUFFIX)
    tpot, _ = run.merged(route + TPOT_SUFFIX)
    # Refused requests are counted apart: neither failures nor successes.
    assert total.rate_limited >= 3
    assert total.failures == 0 and run.errors == ()
    # Streamed calls (half) have their derived series each; plain ones only a total.
    assert 0 < ttft.ok.count == ttfb.ok.count == tpot.ok.count < total.ok.count
    assert itl.ok.count >= 7 * ttft.ok.count  # at least 8 tokens, one chunk each
    # The first byte (message_start) comes at once; the first token 60 ms later.
    ttfb_p50, ttft_p50 = ttfb.ok.quantile(0.5), ttft.ok.quantile(0.5)
    assert ttfb_p50 is not None and ttft_p50 is not None
    assert ttft.ok.min >= 60_000 and ttft_p50 >= ttfb_p50 + 50_000
    # Token pacing, 5 ms: the upstream keeps to its schedule, so a late chunk is followed by a
    # short gap; the mean gap holds even on a busy machine.
    tpot_p50 = tpot.ok.quantile(0.5)
    assert tpot_p50 is not None and 3_500 <= tpot_p50 <= 10_000
    assert 4_000 <= itl.ok.sum / itl.ok.count <= 10_000
    counters = run.counters
    assert counters["messages"] == total.ok.count and counters["input_tokens"] > 0
    stops = sum(count for name, count in counters.items() if name.startswith("stop_reason_"))
    assert stops == total.ok.count and {"stop_reason_end_turn", "stop_reason_max_tokens"} & set(counters)
    assert counters["rate_limited_by_requests"] == total.rate_limited
    assert counters["rate_limit_low_requests"] > 0 and "tpot_from_chunks" not in counters
    # Tokens of every answer, summed over the users, in the log.
    assert f"messages={total.ok.count} " in output and "input_tokens=" in output
    bundle_text = (tmp_path / "llm" / "run.json").read_text()
    for key in KEYS:
        assert key not in bundle_text and key not in output


@pytest.mark.slow
def test_llm_scenario_openai_style_with_multi_token_chunks_and_mid_stream_errors(tmp_path: Path) -> None:
    target = ReferenceTarget(token_interval_s=0.004, tokens_per_chunk=(2, 2),
                             faults=FaultConfig(stream_error_ratio=0.25, error_ratio=0.05, seed=5))
    with target:
        run, _ = run_locust("llm_proxy.py", target.proxy_url, tmp_path / "openai", "--llm-api", "openai",
                            "--llm-stream-ratio", "1", "--llm-max-tokens", "uniform:20,40",
                            "--llm-prompt-tokens", "lognormal:50,0.3", "--health-interval", "0",
                            exit_code=1)
    route = "POST /v1/chat/completions"
    assert {route, route + TTFT_SUFFIX, route + ITL_SUFFIX, route + TPOT_SUFFIX} <= set(run.endpoints)
    itl, _ = run.merged(route + ITL_SUFFIX)
    tpot, _ = run.merged(route + TPOT_SUFFIX)
    tpot_p50 = tpot.ok.quantile(0.5)
    assert tpot_p50 is not None
    # Two tokens per chunk: a chunk gap is two token intervals (8 ms), the time per token about one
    # (less when the first chunk's second token is counted after it: (n - 2) intervals / (n - 1)).
    assert 6_000 <= itl.ok.sum / itl.ok.count <= 12_000 and 3_000 <= tpot_p50 <= 6_500
    counters = run.counters
    # Mid-stream errors by error.type, apart from the 503s before the stream and from cuts.
    kinds = {(e.kind, e.message.split(":")[0]) for e in run.errors}
    assert ("MidStreamError", "server_error") in kinds and ("HTTP 503", "HTTP 503") in kinds
    assert counters["stream_error_server_error"] == sum(
        e.count for e in run.errors if e.kind == "MidStreamError")
    assert counters["http_5xx"] == sum(e.count for e in run.errors if e.kind == "HTTP 503")
    assert "stream_cut" not in counters and counters["stop_reason_length"] > 0
    assert counters["input_tokens"] >= 30 * counters["messages"]  # prompts of about 50 words
    # The OpenAI-style preset judges this run's route: every objective finds its samples (the
    # Anthropic-style preset, on POST /v1/messages, would find none and say so).
    # Its 2 s warm-up is the production setting; this run lasts 3 s on slices of the epoch's second
    # grid, so what follows 2 s can be a last slice a few ms long with no stream in it. The route
    # is what this checks: the whole run is judged.
    preset = replace(load_spec(catalog.preset_path("llm-openai-proxy")), warmup_s=0.0)
    judged = evaluate(preset, read_run(tmp_path / "openai"))
    for result in judged.objectives:
        assert result.samples > 0, result
    assert {r.name for r in judged.objectives} >= {
        "completions-ttft-p95", "completions-tpot-p95", "completions-goodput"}
    anthropic = evaluate(load_spec(catalog.preset_path("llm-api-proxy")), run)
    assert all(r.verdict == "inconclusive" and r.samples == 0 for r in anthropic.objectives
               if r.endpoint is not None)


@pytest.mark.slow
def test_caching_scenario_records_hits_misses_304s_and_purges(tmp_path: Path) -> None:
    # A slow upstream: a miss pays 20 ms that a hit does not.
    with ReferenceTarget(faults=FaultConfig(latency=ConstantLatency(0.02))) as target:
        run, output = run_locust("caching_proxy.py", target.proxy_url, tmp_path / "cache",
                                 "--cache-keys", "40", "--cache-conditional-ratio", "0.3",
                                 "--cache-purge-ratio", "0.05")
    # Probes are off by default: only the content and its purges.
    assert {"GET /content/{id}:hit", "GET /content/{id}:miss",
            "PURGE /content/{id}"} <= set(run.endpoints)
    assert all("/content/" in name for name in run.endpoints)
    assert all("{id}" in name for name in run.endpoints)  # no raw URLs
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
    assert run.counters["cache_status_hit"] == hit.ok.count


@pytest.mark.slow
def test_caching_scenario_reads_the_cache_header_it_is_told_and_purges_only_when_asked(
    tmp_path: Path,
) -> None:
    # The reference target answers X-Cache; told to read another header, every answer is :none.
    with ReferenceTarget() as target:
        run, output = run_locust("caching_proxy.py", target.proxy_url, tmp_path / "cache",
                                 "--cache-keys", "20", "--cache-header", "X-Cache-Status",
                                 "--cache-path", "/content/item-{id}")
    assert set(run.endpoints) == {"GET /content/item-{id}:none"}
    assert run.counters["cache_none"] > 0 and "cache_hit" not in run.counters
    assert "cache_status_" not in output


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


def test_retry_after_values() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    for unusable in (None, "", "soon", "inf"):
        assert retry_after_seconds(unusable) is None


def test_cache_status_words_from_the_first_configured_header_grouped_by_origin_wait() -> None:
    names = parse_cache_headers(" X-Cache , X-Cache-Status,")
    assert names == ("X-Cache", "X-Cache-Status")
    with pytest.raises(ValueError, match="at least one header"):
        parse_cache_headers(" , ")
    words = [cache_status_word(headers, names) for headers in (
        {"X-Cache-Status": "HIT"}, {"X-Cache": "Miss from cloudfront", "X-Cache-Status": "HIT"},
        {"X-Cache": "MISS, HIT"}, {"X-Cache-Status": "<script>"}, {"Other": "HIT"}, {}, None)]
    assert words == ["hit", "miss", "miss", "none", "none", "none", "none"]
    # nginx's $upstream_cache_status, by what the client waited for.
    nginx = ["HIT", "STALE", "UPDATING", "MISS", "EXPIRED", "REVALIDATED", "BYPASS", "huh"]
    assert [cache_outcome(word.lower()) for word in nginx] == [
        "hit", "hit", "hit", "miss", "miss", "miss", "bypass", "none"]
