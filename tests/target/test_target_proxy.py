"""The proxy in front of the simulated upstream, over real loopback sockets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from slogate.slo.contract import DEFAULT_CONTRACT, LATENCY_BUCKETS_S
from slogate.target.faults import ConstantLatency, FaultConfig
from tests.target.target_helpers import ThreadedTarget, samples, unused_port, value

MakeTarget = Callable[..., ThreadedTarget]
C = DEFAULT_CONTRACT
MESSAGE: dict[str, Any] = {
    "model": "claude-test",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "how fast is the proxy today"}],
}


def test_messages_are_forwarded_with_usage(make_target: MakeTarget) -> None:
    target = make_target()
    resp = requests.post(f"{target.proxy_url}/v1/messages", json=MESSAGE, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["X-Cache"] == "BYPASS"
    body = resp.json()
    assert body["type"] == "message"
    assert body["role"] == "assistant"
    assert body["model"] == "claude-test"
    assert body["id"].startswith("msg_")
    assert body["content"][0]["type"] == "text" and body["content"][0]["text"]
    assert body["usage"]["input_tokens"] == 6  # words in the prompt
    assert 1 <= body["usage"]["output_tokens"] <= 16
    assert body["stop_reason"] in ("end_turn", "max_tokens")


def test_list_content_blocks_and_system_count_as_input(make_target: MakeTarget) -> None:
    target = make_target()
    payload: dict[str, Any] = {
        "model": "m",
        "max_tokens": 2,
        "system": "be brief",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "one two three"}]}],
    }
    body = requests.post(f"{target.proxy_url}/v1/messages", json=payload, timeout=5).json()
    assert body["usage"] == {"input_tokens": 5, "output_tokens": 2}
    assert body["stop_reason"] == "max_tokens"


def test_bad_message_bodies_are_400_with_a_json_error(make_target: MakeTarget) -> None:
    target = make_target()
    url = f"{target.proxy_url}/v1/messages"
    bad_json = requests.post(url, data=b"{not json", timeout=5)
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["type"] == "invalid_request_error"
    no_tokens = requests.post(url, json={"model": "m", "messages": []}, timeout=5)
    assert no_tokens.status_code == 400
    assert "max_tokens" in no_tokens.json()["error"]["message"]


def test_content_is_a_miss_then_a_hit_with_the_same_body(make_target: MakeTarget) -> None:
    target = make_target()
    with requests.Session() as session:
        first = session.get(f"{target.proxy_url}/content/x", timeout=5)
        second = session.get(f"{target.proxy_url}/content/x", timeout=5)
        other = session.get(f"{target.proxy_url}/content/y", timeout=5)
        revalidated = session.get(
            f"{target.proxy_url}/content/x",
            headers={"If-None-Match": first.headers["ETag"]},
            timeout=5,
        )
        no_cache = session.get(
            f"{target.proxy_url}/content/x", headers={"Cache-Control": "no-cache"}, timeout=5
        )
    assert first.status_code == second.status_code == 200
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.content == second.content
    assert first.headers["ETag"] == second.headers["ETag"]
    assert "max-age=60" in second.headers["Cache-Control"]
    assert "Age" in second.headers
    assert other.headers["X-Cache"] == "MISS" and other.content != first.content
    assert revalidated.status_code == 304 and revalidated.headers["X-Cache"] == "HIT"
    assert no_cache.headers["X-Cache"] == "BYPASS"


def test_query_and_unknown_paths_are_forwarded(make_target: MakeTarget) -> None:
    target = make_target()
    with_query = requests.get(f"{target.proxy_url}/content/q?v=1", timeout=5)
    other_query = requests.get(f"{target.proxy_url}/content/q?v=2", timeout=5)
    assert with_query.headers["X-Cache"] == other_query.headers["X-Cache"] == "MISS"
    unknown = requests.get(f"{target.proxy_url}/nowhere/123", timeout=5)
    assert unknown.status_code == 404  # the upstream's answer, passed through


def test_health_endpoints(make_target: MakeTarget) -> None:
    target = make_target()
    live = requests.get(f"{target.proxy_url}/health/live", timeout=5)
    ready = requests.get(f"{target.proxy_url}/health/ready", timeout=5)
    assert (live.status_code, ready.status_code) == (200, 200)
    assert ready.json()["status"] == "ready"


def test_upstream_down_means_unready_and_502(make_target: MakeTarget) -> None:
    target = make_target(upstream_url=f"http://127.0.0.1:{unused_port()}")
    assert requests.get(f"{target.proxy_url}/health/live", timeout=5).status_code == 200
    ready = requests.get(f"{target.proxy_url}/health/ready", timeout=5)
    assert ready.status_code == 503
    assert "unreachable" in ready.json()["reason"]
    forwarded = requests.post(f"{target.proxy_url}/v1/messages", json=MESSAGE, timeout=5)
    assert forwarded.status_code == 502
    assert forwarded.json()["error"]["type"] == "upstream_unreachable"
    metrics = samples(requests.get(f"{target.proxy_url}/metrics", timeout=5).text)
    assert value(metrics, C.upstream_errors, reason="connect") == 1


def test_upstream_timeout_is_504(make_target: MakeTarget) -> None:
    faults = FaultConfig(latency=ConstantLatency(2.0))
    target = make_target(faults=faults, upstream_timeout_s=0.2)
    resp = requests.get(f"{target.proxy_url}/content/slow", timeout=5)
    assert resp.status_code == 504
    assert resp.json()["error"]["type"] == "upstream_timeout"
    metrics = samples(requests.get(f"{target.proxy_url}/metrics", timeout=5).text)
    assert value(metrics, C.upstream_errors, reason="timeout") == 1
    assert value(metrics, C.cache_requests, result="bypass") == 1


def test_error_ratio_one_gives_503s_counted_as_upstream_errors(make_target: MakeTarget) -> None:
    target = make_target(faults=FaultConfig(error_ratio=1.0))
    with requests.Session() as session:
        answers = [session.get(f"{target.proxy_url}/content/e", timeout=5) for _ in range(4)]
        answers.append(session.post(f"{target.proxy_url}/v1/messages", json=MESSAGE, timeout=5))
        metrics = samples(session.get(f"{target.proxy_url}/metrics", timeout=5).text)
    assert [a.status_code for a in answers] == [503] * 5
    assert {a.headers["X-Cache"] for a in answers} == {"BYPASS"}  # errors are never cached
    assert answers[0].json()["error"]["type"] == "overloaded_error"
    assert value(metrics, C.upstream_errors, reason="status_5xx") == 5
    count = f"{C.request_duration}_count"
    labels = {C.route_label: "/content/{id}", C.method_label: "GET", C.status_label: "503"}
    assert value(metrics, count, **labels) == 4
    assert value(metrics, C.llm_tokens, token_type="input") == 0


def test_metrics_follow_the_contract(make_target: MakeTarget) -> None:
    target = make_target()
    input_tokens = output_tokens = 0
    with requests.Session() as session:
        for i in range(6):
            session.get(f"{target.proxy_url}/content/item-{i % 2}", timeout=5)
        for _ in range(3):
            usage = session.post(f"{target.proxy_url}/v1/messages", json=MESSAGE, timeout=5)
            input_tokens += usage.json()["usage"]["input_tokens"]
            output_tokens += usage.json()["usage"]["output_tokens"]
        session.get(f"{target.proxy_url}/health/live", timeout=5)
        session.get(f"{target.proxy_url}/unknown/path-42", timeout=5)
        resp = session.get(f"{target.proxy_url}/metrics", timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    text = resp.text
    metrics = samples(text)

    for name in (
        f"{C.request_duration}_bucket",
        C.active_requests,
        C.cache_requests,
        f"{C.upstream_duration}_bucket",
        C.upstream_errors,
        C.rate_limited,
        C.circuit_breaker_state,
        C.llm_tokens,
    ):
        assert f"\n{name}{{" in text or f"\n{name} " in text, name

    # Route templates, never raw paths or ids.
    routes = {dict(labels).get(C.route_label) for (_, labels) in metrics} - {None}
    # The API routes' rate-limited counters exist from the start, the chat route's too.
    assert routes == {"/content/{id}", "/v1/messages", "/v1/chat/completions", "/health/live",
                      "other"}  # no /metrics
    assert "item-0" not in text and "path-42" not in text

    count = f"{C.request_duration}_count"
    get_200 = {C.method_label: "GET", C.status_label: "200"}
    assert value(metrics, count, **{C.route_label: "/content/{id}"}, **get_200) == 6
    post = {C.route_label: "/v1/messages", C.method_label: "POST", C.status_label: "200"}
    assert value(metrics, count, **post) == 3
    assert value(metrics, count, **{C.route_label: "/health/live"}, **get_200) == 1
    other = {C.route_label: "other", C.method_label: "GET", C.status_label: "404"}
    assert value(metrics, count, **other) == 1
    buckets = {
        dict(labels)["le"]
        for (name, labels) in metrics
        if name == f"{C.request_duration}_bucket"
    }
    assert buckets == {str(b) for b in LATENCY_BUCKETS_S} | {"+Inf"}

    assert value(metrics, C.cache_requests, result="hit") == 4
    assert value(metrics, C.cache_requests, result="miss") == 2
    assert value(metrics, C.cache_requests, result="bypass") == 4  # 3 POST + the unknown path
    upstream_count = f"{C.upstream_duration}_count"
    assert value(metrics, upstream_count, **{C.route_label: "/content/{id}"}) == 2
    assert value(metrics, upstream_count, **{C.route_label: "/v1/messages"}) == 3
    assert value(metrics, C.llm_tokens, token_type="input") == input_tokens
    assert value(metrics, C.llm_tokens, token_type="output") == output_tokens
    assert value(metrics, C.active_requests) == 0  # scrapes are not counted as traffic
    assert value(metrics, C.circuit_breaker_state, upstream="upstream") == 0
    for reason in ("connect", "timeout", "status_5xx"):
        assert (C.upstream_errors, frozenset({("reason", reason)})) in metrics
        assert value(metrics, C.upstream_errors, reason=reason) == 0
    for route in ("/v1/messages", "/content/{id}"):
        assert (C.rate_limited, frozenset({(C.route_label, route)})) in metrics


def test_authorization_never_appears_in_metrics(make_target: MakeTarget) -> None:
    target = make_target()
    secret = "sk-test-0123456789-do-not-leak"
    headers = {"Authorization": f"Bearer {secret}", "x-api-key": secret}
    with requests.Session() as session:
        session.post(f"{target.proxy_url}/v1/messages", json=MESSAGE, headers=headers, timeout=5)
        session.get(f"{target.proxy_url}/content/a", headers=headers, timeout=5)
        text = session.get(f"{target.proxy_url}/metrics", timeout=5).text
    assert secret not in text
