"""The incremental LLM stream parser on hand-written streams, fed at awkward boundaries with known
arrival times; rate-limit headers and token lengths of the LLM scenario."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest

from slogate.loadtest import llm_stream
from slogate.loadtest.llm_lengths import parse_lengths, prompt_of
from slogate.loadtest.llm_limits import duration_seconds, exhausted_limit, rate_limit_headroom, reset_wait_s
from slogate.loadtest.llm_stream import (
    ANTHROPIC,
    OPENAI,
    LlmStreamParser,
    MidStreamError,
    StreamCutError,
    StreamTimings,
)


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def delta(kind: str, field: str, value: str) -> bytes:
    return event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                         "delta": {"type": kind, field: value}})


def chunk(delta_: dict[str, Any] | None = None, finish: str | None = None,
          usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk",
                            "choices": [] if delta_ is None else [
                                {"index": 0, "delta": delta_, "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n".encode()


START = event("message_start", {"type": "message_start", "message": {
    "id": "m1", "usage": {"input_tokens": 12, "output_tokens": 1}}})
OPENING = START + event("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "text", "text": ""}}) + \
    event("ping", {"type": "ping"})


def closing(output_tokens: int | None, stop: str = "end_turn") -> bytes:
    usage = {} if output_tokens is None else {"usage": {"output_tokens": output_tokens}}
    return (event("content_block_stop", {"type": "content_block_stop", "index": 0})
            + event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop}, **usage})
            + event("message_stop", {"type": "message_stop"}))


def run(api: str, timed: list[tuple[float, bytes]], split: int | None = None) -> StreamTimings:
    """Feed (arrival time, bytes) pieces, each cut every ``split`` bytes (all at its arrival)."""
    parser = LlmStreamParser(api, started=100.0)
    for at, data in timed:
        step = split or len(data) or 1
        for offset in range(0, len(data), step):
            parser.feed(data[offset:offset + step], 100.0 + at)
    return parser.timings()


@pytest.mark.parametrize("split", [None, 1, 3, 7])
def test_anthropic_ttft_is_the_first_content_delta_not_message_start(split: int | None) -> None:
    timed = [
        (0.030, OPENING),  # the first byte: no token yet
        (0.160, delta("text_delta", "text", "Hello")),
        (0.180, delta("text_delta", "text", " there") + delta("text_delta", "text", ",")),
        (0.250, delta("text_delta", "text", " friend")),
        (0.260, closing(5)),
    ]
    t = run(ANTHROPIC, timed, split)
    assert t.ttfb_s == pytest.approx(0.030) and t.ttft_s == pytest.approx(0.160)
    # One ITL sample per gap between content chunks, two chunks arriving together give a 0 gap.
    assert t.itl_s == pytest.approx((0.020, 0.0, 0.070))
    assert t.content_chunks == 4 and t.output_tokens == 5 and t.tokens_from_usage
    assert t.tpot_s == pytest.approx((0.250 - 0.160) / 4)
    assert t.output_tokens_per_s == pytest.approx(4 / 0.090)
    assert (t.input_tokens, t.stop_reason, t.complete, t.failure) == (12, "end_turn", True, None)


def test_anthropic_thinking_and_tool_input_are_content_empty_deltas_are_not() -> None:
    timed = [
        (0.01, OPENING + delta("text_delta", "text", "")),
        (0.02, delta("signature_delta", "signature", "abc")),  # not content
        (0.05, delta("thinking_delta", "thinking", "hmm")),
        (0.07, delta("input_json_delta", "partial_json", "")),
        (0.09, delta("input_json_delta", "partial_json", '{"a":')),
        (0.10, closing(7, "tool_use")),
    ]
    t = run(ANTHROPIC, timed, split=5)
    assert t.ttft_s == pytest.approx(0.05) and t.itl_s == pytest.approx((0.04,))
    assert t.stop_reason == "tool_use" and t.tpot_s == pytest.approx(0.04 / 6)


def test_output_tokens_fall_back_to_counted_chunks_and_say_so() -> None:
    timed = [(0.01, OPENING), (0.02, delta("text_delta", "text", "a")),
             (0.04, delta("text_delta", "text", "b")), (0.08, delta("text_delta", "text", "c")),
             (0.09, closing(None))]
    t = run(ANTHROPIC, timed)
    assert t.output_tokens == 3 and not t.tokens_from_usage
    assert t.tpot_s == pytest.approx(0.03)


def test_a_mid_stream_error_is_a_failure_of_its_type() -> None:
    error = event("error", {"type": "error", "error": {"type": "overloaded_error",
                                                        "message": "Overloaded"}})
    t = run(ANTHROPIC, [(0.01, OPENING), (0.02, delta("text_delta", "text", "a")), (0.03, error)], 2)
    assert isinstance(t.failure, MidStreamError)
    assert t.failure.error_type == "overloaded_error" and "Overloaded" in str(t.failure)
    assert not t.complete


def test_a_stream_cut_before_its_end_is_a_cut() -> None:
    t = run(ANTHROPIC, [(0.01, OPENING), (0.02, delta("text_delta", "text", "a")[:-5])])
    assert isinstance(t.failure, StreamCutError) and "message_stop" in str(t.failure)
    assert t.ttft_s is None  # the delta never completed
    assert isinstance(run(OPENAI, [(0.01, chunk({"content": "x"}))]).failure, StreamCutError)


@pytest.mark.parametrize("split", [None, 1, 4])
def test_openai_stream_role_chunk_is_not_a_token_and_usage_comes_last(split: int | None) -> None:
    timed = [
        (0.050, chunk({"role": "assistant", "content": ""})),
        (0.200, chunk({"content": "Hi"})),
        (0.230, chunk({"content": " there, multi token"})),
        (0.300, chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})),
        (0.310, chunk({}, "stop")),
        (0.311, chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 6})),
        (0.312, b"data: [DONE]\n\n"),
    ]
    t = run(OPENAI, timed, split)
    assert t.ttfb_s == pytest.approx(0.050) and t.ttft_s == pytest.approx(0.200)
    assert t.itl_s == pytest.approx((0.030, 0.070))
    assert (t.input_tokens, t.output_tokens, t.tokens_from_usage) == (9, 6, True)
    assert t.tpot_s == pytest.approx(0.100 / 5)
    assert (t.stop_reason, t.complete, t.failure) == ("stop", True, None)


def test_openai_error_chunk_and_reasoning_content() -> None:
    error = b'data: {"error": {"message": "boom", "type": "server_error", "code": null}}\n\n'
    t = run(OPENAI, [(0.1, chunk({"reasoning_content": "think"})), (0.2, error)], 3)
    assert t.ttft_s == pytest.approx(0.1)
    assert isinstance(t.failure, MidStreamError) and t.failure.error_type == "server_error"
    named = b'event: error\ndata: {"error": {"code": "rate_limit_exceeded"}}\n\n'
    assert run(OPENAI, [(0.1, named)]).error is not None
    # A stream without the usage chunk counts chunks, flagged.
    t = run(OPENAI, [(0.1, chunk({"content": "a"})), (0.3, chunk({"content": "b"})),
                     (0.4, b"data: [DONE]\r\n\r\n")])
    assert t.complete and not t.tokens_from_usage and t.tpot_s == pytest.approx(0.2)


def test_utf8_split_inside_a_character_and_crlf_lines() -> None:
    text = delta("text_delta", "text", "héllo wörld").replace(b"\n", b"\r\n").replace(
        b"\\u00e9", "é".encode()).replace(b"\\u00f6", "ö".encode())
    t = run(ANTHROPIC, [(0.01, OPENING), (0.05, text), (0.06, closing(2))], split=1)
    assert t.ttft_s == pytest.approx(0.05) and t.complete
    with pytest.raises(ValueError, match="API style"):
        LlmStreamParser("gemini", 0.0)


def test_rate_limit_headroom_of_both_styles_and_the_limit_a_429_hits() -> None:
    now = 1_700_000_000.0
    anthropic = {"anthropic-ratelimit-requests-limit": "50",
                 "anthropic-ratelimit-requests-remaining": "20",
                 "anthropic-ratelimit-tokens-limit": "10000",
                 "anthropic-ratelimit-tokens-remaining": "0",
                 "anthropic-ratelimit-tokens-reset": "2023-11-14T22:13:25Z"}
    headroom = rate_limit_headroom(anthropic, now)
    assert set(headroom) == {"requests", "tokens"}
    assert headroom["requests"].share == pytest.approx(0.4) and not headroom["requests"].low
    assert headroom["tokens"].low and exhausted_limit(headroom) == "tokens"
    assert reset_wait_s(headroom, "tokens") == pytest.approx(5.0)
    openai = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "3",
              "x-ratelimit-reset-requests": "1m0.5s", "x-ratelimit-limit-tokens": "1000",
              "x-ratelimit-remaining-tokens": "500", "x-ratelimit-reset-tokens": "250ms"}
    headroom = rate_limit_headroom(openai, now)
    assert headroom["requests"].low and exhausted_limit(headroom) == "requests"
    assert reset_wait_s(headroom, "requests") == pytest.approx(60.5)
    assert headroom["tokens"].reset_s == pytest.approx(0.25)
    assert rate_limit_headroom({}, now) == {} and exhausted_limit({}) is None
    assert [duration_seconds(v) for v in ("2", "6m0s", "1h2m", "soon", "5x")] == [
        2.0, 360.0, 3720.0, None, None]


def test_token_lengths() -> None:
    rng = random.Random(3)
    assert {parse_lengths("64").draw(rng) for _ in range(5)} == {64}
    uniform = [parse_lengths("uniform:16,32").draw(rng) for _ in range(500)]
    assert min(uniform) == 16 and max(uniform) == 32
    lognormal = sorted(parse_lengths("lognormal:200,0.5").draw(rng) for _ in range(2001))
    assert 180 < lognormal[1000] < 220 and lognormal[-1] > 400
    assert len(prompt_of(30, rng).split()) == 30
    for bad in ("0", "uniform:5,2", "lognormal:100", "pareto:1,2", "many"):
        with pytest.raises(ValueError, match=f"bad token lengths {bad!r}"):
            parse_lengths(bad)


def test_layouts_off_the_fast_path_read_the_same() -> None:
    # A text ending in an escaped quote holds '""'; spaced JSON; content and finish in one chunk.
    quoted = delta("text_delta", "text", 'say "hi"')
    assert b'""' in quoted
    t = run(ANTHROPIC, [(0.01, OPENING), (0.02, quoted), (0.03, delta("text_delta", "text", "x")),
                        (0.04, closing(2))])
    assert t.content_chunks == 2 and t.ttft_s == pytest.approx(0.02)
    spaced = json.dumps({"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]},
                        separators=(", ", ": "))
    last = json.dumps({"choices": [{"index": 0, "delta": {"content": "b"}, "finish_reason": "length"}]})
    t = run(OPENAI, [(0.1, f"data: {spaced}\n\n".encode()), (0.2, f"data: {last}\n\n".encode()),
                     (0.3, b"data: [DONE]\n\n")])
    assert t.itl_s == pytest.approx((0.1,)) and t.stop_reason == "length" and t.complete


def anthropic_events(texts: list[str], *, ping_at: int | None = None,
                     plain: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """A whole Anthropic stream's events: a thinking block (unless ``plain``), then a text block
    of ``texts``."""
    thinking: list[tuple[str, dict[str, Any]]] = [
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "thinking", "thinking": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "signature_delta", "signature": "c2ln"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {
            "id": "m1", "type": "message", "role": "assistant", "content": [], "stop_reason": None,
            "usage": {"input_tokens": 21, "output_tokens": 1}}}),
        *([] if plain else thinking),
        ("content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    for at, text in enumerate(texts):
        if at == ping_at:
            events.append(("ping", {"type": "ping"}))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 1,
                                               "delta": {"type": "text_delta", "text": text}}))
    return [
        *events,
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"},
                           "usage": {"output_tokens": 3 + len(texts)}}),
        ("message_stop", {"type": "message_stop"}),
    ]


def openai_events(texts: list[str], *, usage_each: bool = False,
                  plain: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """A whole OpenAI stream's chunks: role, reasoning, ``texts``, a tool call (those two unless
    ``plain``), finish, usage."""
    def chunk_of(delta_: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "created": 1,
                                "choices": [{"index": 0, "delta": delta_, "logprobs": None,
                                             "finish_reason": finish}]}
        if usage_each:
            body["usage"] = {"prompt_tokens": 9, "completion_tokens": 1}
        return body
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [] if plain else [{"reasoning_content": "think"}]
    deltas += [{"content": text} for text in texts]
    deltas += [] if plain else [{"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}]
    chunks = [chunk_of(d) for d in deltas] + [chunk_of({}, "length")]
    chunks.append({"id": "c1", "choices": [], "usage": {"prompt_tokens": 9,
                                                        "completion_tokens": 4 + len(texts)}})
    return [("", c) for c in chunks]


def serialized(events: list[tuple[str, dict[str, Any]]], api: str, *, compact: bool) -> list[bytes]:
    separators = (",", ":") if compact else (", ", ": ")
    out = [(f"event: {name}\n" if name else "").encode()
           + f"data: {json.dumps(data, separators=separators)}\n\n".encode() for name, data in events]
    return out + ([b"data: [DONE]\n\n"] if api == OPENAI else [])


def read_in_groups(pieces: list[bytes], seed: int, *, at_the_end: bool = True) -> StreamTimings:
    """Feed the events in random groups, each read ending inside an event at a random share of it,
    the reads 10 ms apart: whatever the layout, the same events arrive with the same read."""
    rng = random.Random(seed)
    parser = LlmStreamParser(OPENAI if pieces[-1] == b"data: [DONE]\n\n" else ANTHROPIC, started=0.0,
                             at_the_end=at_the_end)
    body = b"".join(pieces)
    starts = [sum(len(piece) for piece in pieces[:at]) for at in range(len(pieces))]
    cuts, at = [], 0
    while (at := at + rng.choice((1, 1, 2, 3, 7, 40))) < len(pieces):
        cuts.append(starts[at] + int(len(pieces[at]) * rng.random()))
    for read, (begin, end) in enumerate(zip([0, *cuts], [*cuts, len(body)], strict=True)):
        parser.feed(body[begin:end], (read + 1) * 0.01)
    return parser.timings()


TEXTS = ["Hello", " wor", "ld", 'say \\"', "\\\\", "é", "", "tab\\t", '"q"', "x" * 300, "a\nb", "end"]


@pytest.mark.parametrize("seed", range(12))
def test_compact_streams_read_in_bulk_time_as_decoded_ones(seed: int) -> None:
    # The compact form goes through the bulk count, the spaced one event by event through JSON:
    # whatever the grouping, the same content chunks arrive at the same reads.
    rng = random.Random(seed)
    texts = [rng.choice(TEXTS) for _ in range(rng.randint(1, 80))]
    for api, events in ((ANTHROPIC, anthropic_events(texts, ping_at=rng.choice((None, 3)))),
                        (OPENAI, openai_events(texts)), (OPENAI, openai_events(texts, usage_each=True))):
        bulk = read_in_groups(serialized(events, api, compact=True), seed)
        decoded = read_in_groups(serialized(events, api, compact=False), seed)
        assert bulk == decoded
        expected = sum(1 for t in texts if t) + (2 if api == OPENAI else 1)
        assert bulk.content_chunks == expected and bulk.complete
        assert len(bulk.itl_s) == expected - 1 and bulk.stop_reason in {"stop_sequence", "length"}
        assert bulk.tokens_from_usage and bulk.input_tokens == (21 if api == ANTHROPIC else 9)


@pytest.mark.parametrize("seed", range(32))
def test_a_stream_read_at_its_end_reads_as_read_as_it_arrives(seed: int) -> None:
    # Read whole at its end (one pass, each read's content events counted by the ends it completed)
    # when it is the usual stream, else read by read: the same as reading every read as it came,
    # in random reads cut anywhere and in a read per event (a paced stream).
    rng = random.Random(seed)
    texts = [rng.choice(TEXTS) for _ in range(rng.randint(1, 80))]
    if seed % 4:  # mostly without an empty text, which sends a stream read by read
        texts = [text for text in texts if text] or ["x"]
    for plain in (True, False):
        for api, events in ((ANTHROPIC, anthropic_events(texts, plain=plain, ping_at=rng.choice(
                (None, None, None, 3)))), (OPENAI, openai_events(texts, plain=plain))):
            pieces = serialized(events, api, compact=True)
            assert read_in_groups(pieces, seed) == read_in_groups(pieces, seed, at_the_end=False)
            paced = one_read_each(pieces, api, at_the_end=True)
            assert paced == one_read_each(pieces, api)
            extra = 0 if plain else 1 if api == ANTHROPIC else 2  # thinking; reasoning, tool call
            assert paced.content_chunks == sum(1 for t in texts if t) + extra


def test_the_usual_stream_is_read_whole_others_read_by_read() -> None:
    texts = ["a", "b", "c"]
    for events, api, whole in ((anthropic_events(texts, plain=True), ANTHROPIC, True),
                               (openai_events(texts, plain=True), OPENAI, True),
                               (anthropic_events(texts), ANTHROPIC, False),  # two content blocks
                               (anthropic_events(texts, plain=True, ping_at=1), ANTHROPIC, False)):
        parser = LlmStreamParser(api, started=0.0)
        for piece in serialized(events, api, compact=True):
            parser.feed(piece, 0.1)
        timings = parser.timings()
        assert timings.complete and parser.read_whole == whole
        assert parser.timings() == timings  # asked again: the same, not read twice


def test_a_stream_longer_than_what_is_kept_is_read_as_it_arrives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_stream, "KEEP_BYTES", 1_000)
    pieces = serialized(anthropic_events(["word"] * 40, plain=True), ANTHROPIC, compact=True)
    parser = LlmStreamParser(ANTHROPIC, started=0.0)
    for at, piece in enumerate(pieces):
        parser.feed(piece, at * 0.01)
    t = parser.timings()
    assert not parser.read_whole and t.content_chunks == 40 and t.complete
    assert t == one_read_each(pieces, ANTHROPIC)._replace(
        read_gaps_s=t.read_gaps_s, chunks_per_read=t.chunks_per_read, ttfb_s=t.ttfb_s,
        ttft_s=t.ttft_s, last_content_s=t.last_content_s, tpot_s=t.tpot_s)
    assert t.read_gaps_s == pytest.approx((0.01,) * 39)


def test_a_burst_of_chunks_in_one_read_is_one_gap_then_zeros() -> None:
    pieces = serialized(anthropic_events(["a", "b", "c", "d"]), ANTHROPIC, compact=True)
    parser = LlmStreamParser(ANTHROPIC, started=0.0)
    parser.feed(b"".join(pieces[:8]), 0.1)  # the opening (a thinking delta) and the first text
    parser.feed(b"".join(pieces[8:]), 0.3)  # the rest at once
    t = parser.timings()
    assert t.ttft_s == pytest.approx(0.1) and t.itl_s == pytest.approx((0.0, 0.2, 0.0, 0.0))
    assert t.content_chunks == 5 and t.output_tokens == 7 and t.stop_reason == "stop_sequence"


def one_read_each(pieces: list[bytes], api: str, *, at_the_end: bool = False) -> StreamTimings:
    """The reference: every event its own read, read as it arrives (one by one), all at the same
    moment."""
    parser = LlmStreamParser(api, started=0.0, at_the_end=at_the_end)
    for piece in pieces:
        parser.feed(piece, 0.1)
    return parser.timings()


def in_one_read(pieces: list[bytes], api: str, line_end: bytes = b"\n") -> StreamTimings:
    parser = LlmStreamParser(api, started=0.0)
    parser.feed(b"".join(pieces).replace(b"\n", line_end), 0.1)
    return parser.timings()


def compact_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def text_delta(text: str, kind: str = "text_delta", field: str = "text") -> bytes:
    return compact_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": kind, field: text}})


PING = compact_event("ping", {"type": "ping"})


def usual_opening(usage: dict[str, int]) -> list[bytes]:
    """The API's compact opening: message start (with ``usage``), text block start, ping."""
    return [compact_event("message_start", {"type": "message_start", "message": {
                "id": "m1", "type": "message", "content": [], "usage": usage}}),
            compact_event("content_block_start", {"type": "content_block_start", "index": 0,
                                                  "content_block": {"type": "text", "text": ""}}),
            PING]


def usual_ending(output_tokens: int, stop_reason: str | None = "end_turn",
                 stop_sequence: str | None = None) -> list[bytes]:
    """The API's compact ending: block stop, message delta, message stop."""
    return [compact_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            compact_event("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": {"output_tokens": output_tokens}}),
            compact_event("message_stop", {"type": "message_stop"})]


@pytest.mark.parametrize("middle", [
    PING,  # a ping between tokens: not a token, the run around it still counted
    text_delta(""),  # an empty text delta: not a token
    text_delta('{"city": "Par', "input_json_delta", "partial_json"),  # tool input: a token
    text_delta("hmm", "thinking_delta", "thinking"),  # thinking: a token
    text_delta("c2ln", "signature_delta", "signature"),  # a signature: not a token
    b": keep-alive\n\n",  # a comment
    compact_event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "x"}}),
    # One event in three lines: with an id field, still a token; renamed by a second event
    # line (ending as a token's event does), not one.
    text_delta("a")[:-2] + b"\nid: 7\n\n",
    text_delta("a")[:-2] + b'\nevent: renamed"}}\n\n',
])
@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_a_read_of_many_events_reads_as_the_events_one_by_one(middle: bytes, line_end: bytes) -> None:
    texts = [text_delta(word) for word in ("Hello", " wor", "ld", " \\\"q\\\"", " é", " end")]
    pieces = [OPENING, *texts[:3], middle, *texts[3:], closing(9, "max_tokens")]
    bulk, reference = in_one_read(pieces, ANTHROPIC, line_end), one_read_each(pieces, ANTHROPIC)
    assert bulk.content_chunks == reference.content_chunks >= 6
    assert bulk.itl_s == reference.itl_s == (0.0,) * (reference.content_chunks - 1)
    assert (bulk.ttft_s, str(bulk.error), bulk.complete, bulk.stop_reason, bulk.output_tokens) == (
        reference.ttft_s, str(reference.error), reference.complete, reference.stop_reason, 9)
    error = b"error" in middle and b"overloaded" in middle
    assert isinstance(bulk.failure, MidStreamError) == error


def test_a_read_ending_anywhere_in_the_marker_between_two_tokens() -> None:
    # Two reads cut at every byte of one token's end, the blank line and the next token's opening:
    # the first read holds the tokens whose blank line it completed.
    texts = [text_delta(f"w{n}") for n in range(6)]
    body = OPENING + b"".join(texts) + closing(6)
    boundary = len(OPENING) + sum(map(len, texts[:3]))  # the end of the third token's event
    for cut, at_the_end in itertools.product(range(boundary - 6, boundary + 90), (True, False)):
        parser = LlmStreamParser(ANTHROPIC, started=0.0, at_the_end=at_the_end)
        parser.feed(body[:cut], 0.1)
        parser.feed(body[cut:], 0.3)
        t = parser.timings()
        first = 3 if cut >= boundary else 2
        assert t.chunks_per_read == (first, 6 - first), cut
        assert t.itl_s == pytest.approx((0.0,) * (first - 1) + (0.2,) + (0.0,) * (5 - first))
        assert t.complete and t.output_tokens == 6


def test_openai_tool_calls_and_a_usage_chunk_among_content_in_one_read() -> None:
    pieces = [chunk({"role": "assistant", "content": ""}), chunk({"content": "a"}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"q\""}}]}),
              chunk({"content": ""}), chunk({"content": "b"}), chunk({"content": "c"}),
              chunk({}, "tool_calls"), chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 5}),
              b"data: [DONE]\n\n"]
    compact = [piece if not piece.startswith(b"data: {") else
               b"data: " + json.dumps(json.loads(piece[6:]), separators=(",", ":")).encode() + b"\n\n"
               for piece in pieces]
    for form in (pieces, compact):
        for line_end in (b"\n", b"\r\n"):
            t = in_one_read(form, OPENAI, line_end)
            assert (t.content_chunks, t.stop_reason, t.output_tokens, t.complete) == (
                4, "tool_calls", 5, True)
            assert t == one_read_each(form, OPENAI)._replace(chunks_per_read=(4,), read_gaps_s=())


RAW_TEXTS = [b"plain", b"", b'\\"quoted\\"', b"back\\\\", b"odd\\", b'"', b'a","x":"b', b"tab\\t",
             b"\xc3\xa9"]


@pytest.mark.parametrize("api", [ANTHROPIC, OPENAI])
def test_a_read_of_one_content_event_reads_as_the_general_way(api: str) -> None:
    # A paced stream's reads hold one event each: once the template is known, such a read is
    # recognised by its prefix and suffix. The reference cuts each event in two reads at the same
    # moment, so the second one completes it the general way.
    def content(text: bytes) -> bytes:
        if api == OPENAI:
            return (b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"' + text
                    + b'"},"logprobs":null,"finish_reason":null}]}\n\n')
        return (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
                b'"delta":{"type":"text_delta","text":"' + text + b'"}}\n\n')
    end = [chunk({}, "stop"), b"data: [DONE]\n\n"] if api == OPENAI else [closing(None)]
    opening = [] if api == OPENAI else [OPENING]
    pieces = [*opening, content(b"first"), *map(content, RAW_TEXTS), *end]
    lone = LlmStreamParser(api, 0.0, at_the_end=False)
    reference = LlmStreamParser(api, 0.0, at_the_end=False)
    whole = LlmStreamParser(api, 0.0)
    for at, piece in enumerate(pieces):
        lone.feed(piece, at * 0.01)
        whole.feed(piece, at * 0.01)
        reference.feed(piece[:1], at * 0.01)
        reference.feed(piece[1:], at * 0.01)
    assert lone.timings() == reference.timings() == whole.timings()
    assert lone.timings().content_chunks >= 1 + len(RAW_TEXTS) - 2  # not the empty, nor '"'


@pytest.mark.parametrize("usage", [{"input_tokens": 21, "output_tokens": 1}, {"output_tokens": 1}])
@pytest.mark.parametrize("stop", [("end_turn", None), (None, None), ("stop_sequence", "END")])
def test_the_usual_opening_and_ending_in_one_read_read_as_their_events(
        usage: dict[str, int], stop: tuple[str | None, str | None]) -> None:
    # The API's compact opening (message start, text block start, ping) and ending (block stop,
    # message delta, stop), each recognised whole in a read: the same as their events read alone.
    head, tail = usual_opening(usage), usual_ending(7, *stop)
    pieces = [*head, *(text_delta(word) for word in ("a", "b", "c")), *tail]
    bulk, reference = in_one_read(pieces, ANTHROPIC), one_read_each(pieces, ANTHROPIC)
    assert bulk._replace(chunks_per_read=(), read_gaps_s=()) == reference._replace(
        chunks_per_read=(), read_gaps_s=())
    assert (bulk.input_tokens, bulk.output_tokens, bulk.stop_reason, bulk.complete) == (
        usage.get("input_tokens"), 7, stop[0], True)


def test_endings_read_once_are_remembered_by_their_bytes_within_a_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A usual ending is read by its pattern once, then by its bytes: each stream still gets its own
    # stop reason and output tokens, again and after the bound emptied what was kept.
    monkeypatch.setattr(llm_stream, "_ENDINGS", {})
    monkeypatch.setattr(llm_stream, "_ENDINGS_KEPT", 4)
    opening = usual_opening({"input_tokens": 3})
    for tokens, stop in [(5, "end_turn"), (9, "max_tokens"), (5, "end_turn")] * 3 + [
            (n, "end_turn") for n in range(10, 20)] + [(9, "max_tokens")]:
        pieces = [*opening, text_delta("a"), text_delta("b"), *usual_ending(tokens, stop)]
        parser = LlmStreamParser(ANTHROPIC, started=0.0)
        parser.feed(b"".join(pieces), 0.1)
        t = parser.timings()
        assert parser.read_whole and (t.output_tokens, t.stop_reason, t.complete) == (tokens, stop, True)
        assert t == one_read_each(pieces, ANTHROPIC)._replace(
            chunks_per_read=t.chunks_per_read, read_gaps_s=t.read_gaps_s, ttfb_s=t.ttfb_s,
            ttft_s=t.ttft_s, last_content_s=t.last_content_s, tpot_s=t.tpot_s)
        assert 1 <= len(llm_stream._ENDINGS) <= 4


@pytest.mark.parametrize("keep_bytes", [1 << 16, 300])
def test_reads_handed_over_at_once_read_as_fed_one_by_one(
        monkeypatch: pytest.MonkeyPatch, keep_bytes: int) -> None:
    # The scenario's reading loop stamps and collects its reads, then hands them over in batches
    # (feed_all): the same timings as each read fed as it came, empty reads passed over, and past
    # what is kept (a small bound here) read as they came.
    monkeypatch.setattr(llm_stream, "KEEP_BYTES", keep_bytes)
    rng = random.Random(7)
    for api in (ANTHROPIC, OPENAI):
        pieces = serialized(anthropic_events(["w"] * 20, plain=True) if api == ANTHROPIC else
                            openai_events(["w"] * 20, plain=True), api, compact=True)
        data = b"".join(pieces)
        cuts = sorted(rng.sample(range(1, len(data)), 12))
        reads = [data[a:b] for a, b in itertools.pairwise([0, *cuts, len(data)])]
        reads.insert(0, b"")  # (its arrival is no first byte)
        arrivals = [0.01 * index for index in range(len(reads))]
        one_by_one = LlmStreamParser(api, started=0.0)
        for read, now in zip(reads, arrivals, strict=True):
            one_by_one.feed(read, now)
        batched = LlmStreamParser(api, started=0.0)
        for at in range(0, len(reads), 5):
            batch, times = reads[at:at + 5], arrivals[at:at + 5]
            batched.feed_all(batch, times, sum(map(len, batch)))
        expected = one_by_one.timings()
        assert batched.timings() == expected and expected.complete
        assert expected.content_chunks == 20 and batched.read_whole == (keep_bytes > len(data))


def test_as_many_reads_as_events_are_one_event_a_read_only_when_each_ends_one() -> None:
    # Reads as many as the run's events are taken one event a read (a paced stream) only when each
    # ends on an event's end: here the first holds half an event, the second one and a half.
    opening, ending = usual_opening({"input_tokens": 3}), usual_ending(4)
    events = [text_delta(word) for word in ("one", "two", "three", "four")]
    paced = [b"".join(opening), *events, b"".join(ending)]
    uneven = [b"".join(opening) + events[0][:10], events[0][10:] + events[1], events[2],
              events[3] + b"".join(ending)]
    for reads, chunks_per_read in ((paced, (1, 1, 1, 1)), (uneven, (2, 1, 1))):
        whole, reference = (LlmStreamParser(ANTHROPIC, started=0.0, at_the_end=at_the_end)
                            for at_the_end in (True, False))
        for index, read in enumerate(reads):
            for parser in (whole, reference):
                parser.feed(read, 0.1 * (index + 1))
        assert whole.timings() == reference.timings() and whole.read_whole
        assert whole.timings().chunks_per_read == chunks_per_read
