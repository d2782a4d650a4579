"""The reference target as an LLM API: the OpenAI-style endpoint, stream pacing, mid-stream errors,
rate-limit headers and the GenAI histograms of its /metrics, through the proxy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from slogate.loadtest.llm_limits import exhausted_limit, rate_limit_headroom
from slogate.loadtest.llm_stream import ANTHROPIC, OPENAI, LlmStreamParser, MidStreamError, StreamTimings
from slogate.loadtest.sse import parse_events
from slogate.target import FaultConfig
from slogate.target.metrics import (
    GENAI_TIME_PER_OUTPUT_TOKEN,
    GENAI_TIME_TO_FIRST_TOKEN,
    GENAI_TOKEN_USAGE,
)
from slogate.target.ratelimit import RateLimit
from tests.target.target_helpers import ThreadedTarget, samples, value

MakeTarget = Callable[..., ThreadedTarget]
MESSAGES: dict[str, Any] = {
    "model": "claude-test",
    "max_tokens": 40,
    "messages": [{"role": "user", "content": "stream the release notes please"}],
}
CHAT: dict[str, Any] = {
    "model": "gpt-test",
    "max_tokens": 40,
    "messages": [{"role": "system", "content": "be brief"},
                 {"role": "user", "content": "stream the release notes please"}],
}
ROUTES = {ANTHROPIC: "/v1/messages", OPENAI: "/v1/chat/completions"}


def streamed(url: str, body: dict[str, Any], api: str) -> tuple[StreamTimings, requests.Response]:
    """A streamed call timed by the scenario's own parser (as its chunks arrive)."""
    started = time.perf_counter()
    parser = LlmStreamParser(api, started)
    with requests.post(url, json=body, stream=True, timeout=10) as resp:
        for piece in resp.iter_content(chunk_size=None):
            parser.feed(piece, time.perf_counter())
    return parser.timings(), resp


def test_openai_endpoint_answers_like_the_messages_one(make_target: MakeTarget) -> None:
    target = make_target(token_interval_s=0.0)
    url = f"{target.proxy_url}/v1/chat/completions"
    plain = requests.post(url, json=CHAT, timeout=5).json()
    assert plain["object"] == "chat.completion"
    text, usage = plain["choices"][0]["message"]["content"], plain["usage"]
    assert usage["completion_tokens"] == len(text.split(" ")) and usage["prompt_tokens"] == 7
    assert plain["choices"][0]["finish_reason"] in ("stop", "length")
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    resp = requests.post(url, json=body, timeout=5)
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    events = parse_events(resp.content)
    assert events[-1].data == "[DONE]"
    chunks = [json.loads(e.data) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == text
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == usage
    without_usage = parse_events(requests.post(url, json={**CHAT, "stream": True}, timeout=5).content)
    assert all("usage" not in json.loads(e.data) for e in without_usage[:-1])
    bad = requests.post(url, json={**CHAT, "messages": [{"role": "robot", "content": "x"}]}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    metrics = samples(requests.get(f"{target.proxy_url}/metrics", timeout=5).text)
    # Tokens of the three answers, the streams' counted on the way through.
    assert value(metrics, "proxy_llm_tokens_total", token_type="output") == 3 * usage["completion_tokens"]


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
def test_streams_are_paced_prefill_first_token_then_tokens(make_target: MakeTarget, api: str) -> None:
    target = make_target(prefill_s=0.05, first_token_s=0.15, token_interval_s=0.01)
    body = ({**MESSAGES, "stream": True} if api == ANTHROPIC
            else {**CHAT, "stream": True, "stream_options": {"include_usage": True}})
    t, _ = streamed(target.proxy_url + ROUTES[api], body, api)
    assert t.complete and t.tokens_from_usage and t.output_tokens >= 8
    assert t.ttfb_s is not None and t.ttft_s is not None and t.tpot_s is not None
    assert 0.045 <= t.ttfb_s < 0.12  # the opening comes after the prefill, before any token
    assert 0.195 <= t.ttft_s < 0.28
    assert 0.006 <= t.tpot_s < 0.016 and len(t.itl_s) == t.output_tokens - 1


def test_multi_token_chunks_keep_the_token_rate(make_target: MakeTarget) -> None:
    target = make_target(token_interval_s=0.01, tokens_per_chunk=(3, 3))
    t, _ = streamed(target.proxy_url + "/v1/messages", {**MESSAGES, "stream": True}, ANTHROPIC)
    assert t.complete and t.content_chunks == -(-t.output_tokens // 3)
    # A chunk is sent when its last token is ready: chunk gaps are 3 intervals (on average: the
    # upstream keeps to its schedule, a late chunk is followed by a short gap), TPOT stays near one.
    full_gaps = t.itl_s[:-1]  # the last chunk may hold fewer tokens
    assert sum(full_gaps) / len(full_gaps) >= 0.025
    assert t.tpot_s is not None and 0.006 <= t.tpot_s < 0.016


@pytest.mark.parametrize(("api", "error_type"), [(ANTHROPIC, "overloaded_error"), (OPENAI, "server_error")])
def test_mid_stream_errors_after_a_200(make_target: MakeTarget, api: str, error_type: str) -> None:
    target = make_target(faults=FaultConfig(stream_error_ratio=1.0), token_interval_s=0.0)
    body = {**(MESSAGES if api == ANTHROPIC else CHAT), "stream": True}
    t, resp = streamed(target.proxy_url + ROUTES[api], body, api)
    assert resp.status_code == 200
    assert isinstance(t.failure, MidStreamError) and t.failure.error_type == error_type
    assert t.content_chunks >= 4 and not t.complete
    # Plain answers are not streams: unaffected.
    plain = requests.post(target.proxy_url + ROUTES[api], json=body | {"stream": False}, timeout=5)
    assert plain.status_code == 200


def test_rate_limit_headers_announce_the_headroom(make_target: MakeTarget) -> None:
    target = make_target(rate_limit=RateLimit(0.5, 3), token_interval_s=0.0)
    headers = {"x-api-key": "sk-headroom-test-1"}
    seen = [requests.post(f"{target.proxy_url}/v1/messages", json=MESSAGES, headers=headers, timeout=5)
            for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    remaining = [r.headers["anthropic-ratelimit-requests-remaining"] for r in seen]
    assert remaining == ["2", "1", "0", "0"]
    refused = rate_limit_headroom(seen[-1].headers, time.time())
    assert refused["requests"].limit == 3 and exhausted_limit(refused) == "requests"
    assert refused["requests"].reset_s is not None and 4.0 < refused["requests"].reset_s <= 6.0
    assert seen[-1].headers["Retry-After"] == "2"
    chat = requests.post(f"{target.proxy_url}/v1/chat/completions", json=CHAT,
                         headers={"Authorization": "Bearer sk-headroom-test-2"}, timeout=5)
    openai = rate_limit_headroom(chat.headers, time.time())
    assert openai["requests"].remaining == 2 and openai["requests"].limit == 3
    assert "anthropic-ratelimit-requests-remaining" not in chat.headers
    content = requests.get(f"{target.proxy_url}/content/a", timeout=5)
    assert not rate_limit_headroom(content.headers, time.time())  # not an LLM route


def test_genai_histograms_in_metrics(make_target: MakeTarget) -> None:
    target = make_target(first_token_s=0.03, token_interval_s=0.002)
    for api in (ANTHROPIC, OPENAI):
        body = {**(MESSAGES if api == ANTHROPIC else CHAT), "stream": True}
        streamed(target.proxy_url + ROUTES[api], body, api)
        requests.post(target.proxy_url + ROUTES[api], json={**body, "stream": False}, timeout=5)
    text = requests.get(f"{target.proxy_url}/metrics", timeout=5).text
    metrics = samples(text)
    for provider, model in ((ANTHROPIC, "claude-test"), (OPENAI, "gpt-test")):
        labels = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": provider,
                  "gen_ai_request_model": model}
        assert value(metrics, f"{GENAI_TIME_TO_FIRST_TOKEN}_count", **labels) == 1  # streams only
        assert value(metrics, f"{GENAI_TIME_PER_OUTPUT_TOKEN}_count", **labels) == 1
        assert value(metrics, "gen_ai_server_request_duration_seconds_count", **labels) == 2
        assert value(metrics, f"{GENAI_TOKEN_USAGE}_count", **labels, gen_ai_token_type="output") == 2
        # TTFT: at least the first-token delay, under the next semconv bucket boundary.
        assert value(metrics, f"{GENAI_TIME_TO_FIRST_TOKEN}_bucket", **labels, le="0.02") == 0
        assert value(metrics, f"{GENAI_TIME_TO_FIRST_TOKEN}_bucket", **labels, le="0.08") == 1
        assert value(metrics, f"{GENAI_TIME_PER_OUTPUT_TOKEN}_bucket", **labels, le="0.01") == 1
    assert "# TYPE gen_ai_client_token_usage histogram" in text
