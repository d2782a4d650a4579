"""Streamed messages (server-sent events) from the simulated upstream, through the proxy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from slogate.loadtest.sse import SseParser, parse_events, stream_usage
from slogate.slo.contract import DEFAULT_CONTRACT
from tests.target.target_helpers import ThreadedTarget, samples, value

MakeTarget = Callable[..., ThreadedTarget]
C = DEFAULT_CONTRACT
PROMPT: dict[str, Any] = {
    "model": "claude-test",
    "max_tokens": 12,
    "messages": [{"role": "user", "content": "stream the release notes please"}],
}


def test_stream_events_carry_the_same_message_as_the_plain_answer(make_target: MakeTarget) -> None:
    target = make_target(token_interval_s=0.0)
    url = f"{target.proxy_url}/v1/messages"
    plain = requests.post(url, json=PROMPT, timeout=5).json()
    streamed = requests.post(url, json={**PROMPT, "stream": True}, timeout=5)
    assert streamed.status_code == 200
    assert streamed.headers["Content-Type"].startswith("text/event-stream")
    assert streamed.headers["X-Cache"] == "BYPASS"
    events = parse_events(streamed.content)
    names = [e.event for e in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [e for e in events if e.event == "content_block_delta"]
    assert len(deltas) == plain["usage"]["output_tokens"]
    text = "".join(json.loads(e.data)["delta"]["text"] for e in deltas)
    assert text == plain["content"][0]["text"]  # deterministic per prompt
    usage = stream_usage(streamed.content)
    assert (usage.input_tokens, usage.output_tokens) == (
        plain["usage"]["input_tokens"], plain["usage"]["output_tokens"],
    )
    assert usage.stopped
    metrics = samples(requests.get(f"{target.proxy_url}/metrics", timeout=5).text)
    # Tokens of both answers, the stream's counted from its events on the way through.
    assert value(metrics, C.llm_tokens, token_type="output") == 2 * plain["usage"]["output_tokens"]
    assert value(metrics, C.llm_tokens, token_type="input") == 2 * plain["usage"]["input_tokens"]
    labels = {C.route_label: "/v1/messages", C.method_label: "POST", C.status_label: "200"}
    assert value(metrics, f"{C.request_duration}_count", **labels) == 2


def test_the_proxy_streams_through_without_buffering(make_target: MakeTarget) -> None:
    # 8 or more tokens 40 ms apart: a buffering proxy would deliver the first event with the last.
    target = make_target(token_interval_s=0.04)
    parser, first_at, names = SseParser(), 0.0, []
    started = time.perf_counter()
    with requests.post(f"{target.proxy_url}/v1/messages", json={**PROMPT, "stream": True},
                       stream=True, timeout=10) as resp:
        for chunk in resp.iter_content(chunk_size=None):
            events = parser.feed(chunk)
            if events and not first_at:
                first_at = time.perf_counter() - started
            names += [e.event for e in events]
    ended_at = time.perf_counter() - started
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert names.count("content_block_delta") >= 8
    assert ended_at - first_at > 0.2, (first_at, ended_at)


def test_sse_parser_handles_chunks_split_anywhere() -> None:
    body = (b'event: message_start\r\ndata: {"type":"message_start","message":{"usage":'
            b'{"input_tokens":7,"output_tokens":1}}}\r\n\r\n: keep-alive\n\n'
            b'data: line one\ndata: line two\n\n'
            b'event: message_delta\ndata: {"usage":{"output_tokens":9}}\n\n')
    parser, events = SseParser(), []
    for i in range(len(body)):
        events += parser.feed(body[i:i + 1])
    assert [(e.event, e.data) for e in events][1] == ("message", "line one\nline two")
    assert events == parse_events(body)
    usage = stream_usage(body)
    assert (usage.input_tokens, usage.output_tokens, usage.stopped) == (7, 9, False)


def test_stream_must_be_a_boolean(make_target: MakeTarget) -> None:
    target = make_target()
    resp = requests.post(f"{target.proxy_url}/v1/messages", json={**PROMPT, "stream": "yes"},
                         timeout=5)
    assert resp.status_code == 400
    assert "stream" in resp.json()["error"]["message"]
