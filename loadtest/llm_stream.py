"""Timings of one streamed LLM answer, parsed incrementally as its bytes arrive: time to first byte,
time to first token, inter-token latency, time per output token, and how the stream ended.

Two stream styles (``API_STYLES``):

* ``anthropic`` (``POST /v1/messages``): ``content_block_delta`` events carry the content
  (``text_delta`` text, ``thinking_delta`` thinking, ``input_json_delta`` tool input);
  ``message_start`` the input tokens; ``message_delta`` the stop reason and the *cumulative* output
  tokens (the last value wins); ``message_stop`` ends the stream; ``event: error`` is a mid-stream
  error (``{"type": "error", "error": {"type": "overloaded_error", ...}}``).
* ``openai`` (``POST /v1/chat/completions``): ``data:`` chunks whose ``choices[].delta`` carries
  ``content``, ``tool_calls`` (or ``reasoning_content``/``reasoning``, as reasoning models' servers
  send); ``finish_reason`` the stop reason; the last chunk before ``data: [DONE]`` the ``usage``
  (``prompt_tokens``, ``completion_tokens``) when the request asked for
  ``stream_options.include_usage``; a chunk with an ``error`` object is a mid-stream error.

Definitions (all from the moment the request was sent, ``started``):

* TTFB: the first byte of the body (Anthropic's ``message_start``: no token yet);
* TTFT: the first *content chunk* (a non-empty delta: never ``message_start``, ``ping``, a block
  start or OpenAI's opening ``role`` chunk with empty content);
* ITL: the gap between two consecutive content chunks, **one sample per chunk gap**: a chunk that
  carries several tokens is one sample (its gap is longer), so ITL describes the pacing the reader
  sees, and TPOT the per-token rate;
* TPOT: (last content chunk − first content chunk) / (output tokens − 1), the output tokens from the
  stream's usage, else the number of content chunks (``tokens_from_usage`` False: flagged);
* output tokens/s: the decode rate after the first token, 1 / TPOT (so a floor on it is a ceiling
  on TPOT at the complementary percentile).

(``loadtest.sse`` is the general event parser; this one reads only what the timings need, at a
fraction of its cost per event.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import pairwise
from operator import sub
from typing import Any, NamedTuple

ANTHROPIC = "anthropic"
OPENAI = "openai"
API_STYLES = (ANTHROPIC, OPENAI)
OPENAI_DONE = b"[DONE]"
_ANTHROPIC_CONTENT = {"text_delta": "text", "thinking_delta": "thinking",
                      "input_json_delta": "partial_json"}
_OPENAI_CONTENT = ("content", "reasoning_content", "reasoning")
_ANTHROPIC_IGNORED = frozenset((b"ping", b"content_block_start", b"content_block_stop"))
"""Events that carry nothing the timings need: not decoded."""
_ANTHROPIC_QUIET = frozenset(
    [b'event: ping\ndata: {"type":"ping"}', b'event: ping\ndata: {"type": "ping"}']
    + [b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}' % index
       for index in range(8)]
    + [b'event: content_block_start\ndata: {"type":"content_block_start","index":%d,'
       b'"content_block":{"type":"text","text":""}}' % index for index in range(8)])
"""Whole ignored events in the forms the API sends, passed over with one set lookup each."""
_END_BLOCKS = {ANTHROPIC: b'event: message_stop\ndata: {"type":"message_stop"}', OPENAI: b"data: [DONE]"}
"""Each style's end marker as a whole event in its usual form."""
_LF, _CR, _QUOTE = 0x0A, 0x0D, 0x22
"""Bytes tested with ``in`` as integers: a memchr, where a one-byte bytes operand is first tried
as an integer (a TypeError formatted and dropped, about 2,000 instructions a test)."""
_DECODER = json.JSONDecoder()
# Once per stream each, in the APIs' usual compact form, read without decoding the JSON (anything
# else is decoded): message_start's usage (a key is never inside a string: its quotes would be
# escaped), and a whole message_delta of a stop reason, a stop sequence and the output tokens.
_USUAL_INPUT_TOKENS = re.compile(rb'"usage":\{"input_tokens":(\d+)[,}]')
_USUAL_MESSAGE_DELTA = re.compile(
    rb'\{"type":"message_delta","delta":\{"stop_reason":(?:"(\w+)"|null),'
    rb'"stop_sequence":(?:null|"[^"\\]*")\},"usage":\{"output_tokens":(\d+)\}\}')
# An Anthropic stream's usual opening and ending, when a read holds them whole: each by one pattern
# (the events an event at a time cost four times as much). The blocks' start and stop and the ping
# are ignored whatever their index; the message start and delta read as above. An ending is read
# once a process (``_ENDINGS``).
_USUAL_HEAD = re.compile(
    rb'event: message_start\ndata: ([^\n]*)\n\n'
    rb'event: content_block_start\ndata: \{"type":"content_block_start","index":\d+,'
    rb'"content_block":\{"type":"text","text":""\}\}\n\n'
    rb'event: ping\ndata: \{"type": ?"ping"\}')
_USUAL_TAIL = re.compile(
    rb'event: content_block_stop\ndata: \{"type":"content_block_stop","index":\d+\}\n\n'
    rb'event: message_delta\ndata: ' + _USUAL_MESSAGE_DELTA.pattern + rb'\n\n'
    rb'event: message_stop\ndata: \{"type":"message_stop"\}')
_ENDINGS: dict[bytes, tuple[str | None, int]] = {}
"""Usual endings read so far, by their bytes: the stop reason and output tokens they hold. Two
streams' endings differ only by these, so a run's streams share a few hundred at most; each is then
read by one lookup instead of the pattern."""
_ENDINGS_KEPT = 1024


class MidStreamError(Exception):
    """The server reported an error inside a stream it had started with a 200."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}" if message else error_type)
        self.error_type = error_type


class StreamCutError(Exception):
    """The stream ended (or broke) before its end marker, with no error event."""


class StreamTimings(NamedTuple):
    """One stream's timings (seconds since the request was sent) and outcome.

    A named tuple rather than a frozen dataclass: made once a stream, where a frozen dataclass's
    ``__init__`` (a ``object.__setattr__`` call per field) costs ten times the tuple."""

    ttfb_s: float | None
    ttft_s: float | None
    last_content_s: float | None
    read_gaps_s: tuple[float, ...]
    """The gap before each network read's first content chunk, since the last content chunk of the
    read before (none for the first read with content)."""
    chunks_per_read: tuple[int, ...]
    """Content chunks in each network read that held some: the chunks of one read arrived together."""
    content_chunks: int
    input_tokens: int | None
    output_tokens: int
    """From the stream's usage, else the content chunks counted (``tokens_from_usage`` False)."""
    tokens_from_usage: bool
    stop_reason: str | None
    error: MidStreamError | None
    complete: bool
    """The end marker arrived (``message_stop``, ``data: [DONE]``) and no error."""
    end_marker: str
    tpot_s: float | None
    """Time per output token after the first: (last content chunk − first) / (output tokens − 1);
    None with fewer than two tokens. (Computed once: the recorder and the goodput row read it.)"""

    @property
    def itl_s(self) -> tuple[float, ...]:
        """One gap per pair of consecutive content chunks, in order: a read's first chunk after its
        read gap, the others of the same read 0 apart (what the reader saw)."""
        gaps: list[float] = [0.0] * (self.chunks_per_read[0] - 1) if self.chunks_per_read else []
        for gap, chunks in zip(self.read_gaps_s, self.chunks_per_read[1:], strict=True):
            gaps.append(gap)
            gaps += [0.0] * (chunks - 1)
        return tuple(gaps)

    @property
    def same_read_gaps(self) -> int:
        """The gaps of 0 in ``itl_s``: between chunks that arrived in the same read."""
        return self.content_chunks - len(self.chunks_per_read)

    @property
    def output_tokens_per_s(self) -> float | None:
        """The decode rate after the first token (1 / TPOT); None when TPOT is none or zero."""
        tpot = self.tpot_s
        return 1.0 / tpot if tpot else None

    @property
    def failure(self) -> Exception | None:
        """Why the stream failed: its error event, else a cut before the end marker; None if whole."""
        if self.error is not None:
            return self.error
        if not self.complete:
            return StreamCutError(f"stream ended before {self.end_marker}")
        return None


_new_timings = tuple.__new__


def _delta_of(usual: re.Match[bytes]) -> tuple[str | None, int]:
    """The stop reason and output tokens of a message delta in its usual form
    (``_USUAL_MESSAGE_DELTA``'s groups, also inside ``_USUAL_TAIL``)."""
    return (usual[1].decode() if usual[1] else None), int(usual[2])


def _object(raw: bytes) -> dict[str, Any] | None:
    try:  # an event stream is UTF-8: decoded here, json.loads(bytes) would first guess (slower)
        data = _DECODER.decode(raw.decode())
    except ValueError:  # UnicodeDecodeError too
        return None
    return data if isinstance(data, dict) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _error_of(data: dict[str, Any]) -> MidStreamError:
    error = data.get("error")
    if not isinstance(error, dict):
        return MidStreamError(str(error) if error else "error", "")
    kind = error.get("type") or error.get("code") or "error"
    return MidStreamError(str(kind), str(error.get("message") or ""))


def _string_end(data: bytes, start: int, end: int) -> int:
    """Where the JSON string whose text starts at ``start`` closes (its quote), -1 if not before ``end``."""
    quote = data.find(b'"', start, end)
    while quote > 0 and data[quote - 1] == 0x5C:  # a backslash: escaped, unless itself escaped
        backslashes = quote - len(data[:quote].rstrip(b"\\"))
        if backslashes % 2 == 0:
            break
        quote = data.find(b'"', quote + 1, end)
    return quote


def _usual_anthropic(prefix: bytes, suffix: bytes) -> bool:
    """A text delta event and nothing else (its prefix holds the delta's opening)."""
    return suffix == b'"}}' and prefix.startswith(b"event: content_block_delta\ndata: {") and \
        prefix.count(b"\n") == 1


def _usual_openai(prefix: bytes, suffix: bytes) -> bool:
    """A content chunk without a stop reason, usage or error."""
    return (prefix.startswith(b"data: {") and suffix.find(b'"finish_reason":null') >= 0
            and _LF not in prefix and _LF not in suffix
            and all(part.find(marker) < 0 for part in (prefix, suffix)
                    for marker in (b'"usage":{', b'"error"', b'"finish_reason":"')))


class _Template(NamedTuple):
    """A stream's usual content event around its text, and what checking a run of them needs."""

    prefix: bytes
    suffix: bytes
    boundary: bytes
    """suffix + blank line + prefix: what lies between two texts of a run."""
    boundary_lines: int
    empty_text: bytes
    """A boundary followed by the closing quote: an empty text (not content)."""
    terminator: bytes
    """suffix + blank line: how each event of a checked run ends (and nothing else in it does),
    so how a read of one such event ends."""


_TEMPLATES: dict[tuple[bytes, bytes], _Template] = {}
"""Templates found usual, shared by the parsers of a process (a scenario's streams have one or
two): each stream's first run is checked by one lookup."""
_TEMPLATES_KEPT = 64
KEEP_BYTES = 1 << 16
"""A stream's bytes kept to be read once at its end (64 KiB: a 500-token answer; the memory a user
streaming holds at most); past them, the stream is read as it arrives."""


def _template_of(prefix: bytes, suffix: bytes, usual: Callable[[bytes, bytes], bool]) -> _Template | None:
    template = _TEMPLATES.get((prefix, suffix))
    if template is None and usual(prefix, suffix):
        if len(_TEMPLATES) >= _TEMPLATES_KEPT:
            _TEMPLATES.clear()
        boundary = suffix + b"\n\n" + prefix
        template = _TEMPLATES[prefix, suffix] = _Template(
            prefix, suffix, boundary, boundary.count(b"\n"), boundary + b'"', suffix + b"\n\n")
    return template


class LlmStreamParser:
    """Feed it a stream's bytes as they arrive (``feed(chunk, now)``, or many reads at once with
    their arrival times, ``feed_all``), then ``timings()``.

    ``now`` is the arrival time of the chunk on the clock of ``started`` (``time.perf_counter``):
    every event completed by a chunk is stamped with its arrival (events that arrive together are
    0 apart: that is what the reader saw). A chunk may end anywhere, even inside a line or a UTF-8
    sequence. Lines end in LF or CRLF (a lone CR, which the format also allows, is not read as a
    line end: no LLM API sends it).

    A stream is kept as it arrives and read once at its end (``timings``), as a whole, when it is
    the usual one: an opening, one run of usual content events (text deltas in the compact form the
    APIs send), an ending. The run is checked with three byte scans over it (``_usual_run``), then
    each read's content events are counted by their ends; that reads every event the same as
    reading it alone, for a fraction of the cost. Any other stream (several content blocks, an
    error, events of another layout), or one longer than ``KEEP_BYTES``, is read read by read
    (``at_the_end=False`` does so from the start: the reference the tests compare with), in the
    cheapest way that reads every event the same: a read of one usual content event by its
    template's prefix and suffix; a read's run of usual content events as above; the events around
    it and any run that is not all usual an event at a time: ignored events in their usual form by
    one set lookup, a content event in compact form recognised without decoding its JSON, message
    start and delta by a pattern, anything else decoded. ``benchmarks/llm_parse_cost.py`` counts
    what a stream costs.
    """

    def __init__(self, api: str, started: float, *, at_the_end: bool = True) -> None:
        if api not in API_STYLES:
            raise ValueError(f"API style must be one of {', '.join(API_STYLES)}, got {api!r}")
        self._openai = api == OPENAI
        self._end_marker = "data: [DONE]" if self._openai else "message_stop"
        self._token = b'"delta":{"content":"' if self._openai else \
            b'"delta":{"type":"text_delta","text":"'
        self._usual = _usual_openai if self._openai else _usual_anthropic
        self._template: _Template | None = None
        """The template of the stream's content events, once a run found it usual: a stream's
        content events all have the same; a read of one such event is recognised by it alone."""
        self._ignored = frozenset[bytes]() if self._openai else _ANTHROPIC_IGNORED
        self._quiet = frozenset[bytes]() if self._openai else _ANTHROPIC_QUIET
        self._end_block = _END_BLOCKS[api]
        self._started = started
        self._kept: list[bytes] | None = [] if at_the_end else None
        """The reads so far while the stream is kept to be read at its end; None once read as
        it arrives."""
        self._kept_times: list[float] = []
        self._kept_bytes = 0
        self._read_at_once = False
        """The kept stream was read whole (``timings`` may be asked again: it is not read twice)."""
        self._start_reading()

    @property
    def read_whole(self) -> bool:
        """Whether the stream was read whole at its end (the usual stream), not read by read."""
        return self._read_at_once

    def _start_reading(self) -> None:
        """What reading the stream finds, from nothing."""
        self._pending = b""
        self._ttfb: float | None = None
        self._first: float | None = None
        self._last: float | None = None
        self._gaps: list[float] = []
        self._reads: list[int] = []
        self._chunks = 0
        self._input_tokens: int | None = None
        self._output_tokens: int | None = None
        self._stop_reason: str | None = None
        self._error: MidStreamError | None = None
        self._complete = False

    def feed(self, chunk: bytes, now: float) -> None:
        """One read, ``chunk``, that arrived at ``now``."""
        self.feed_all([chunk], [now], len(chunk))

    def feed_all(self, chunks: list[bytes], arrivals: list[float], size: int) -> None:
        """Many reads at once: ``chunks[i]`` arrived at ``arrivals[i]``, ``size`` bytes in all.
        The same as ``feed`` of each in turn, for a fraction of the cost a read: a reading loop
        that only stamps and collects its reads leaves the network more of its time."""
        if b"" in chunks:  # (an empty read is no read: feed passes it over)
            arrivals = [now for chunk, now in zip(chunks, arrivals, strict=True) if chunk]
            chunks = [chunk for chunk in chunks if chunk]
        kept = self._kept
        if kept is not None and self._kept_bytes + size <= KEEP_BYTES:
            kept += chunks
            self._kept_times += arrivals
            self._kept_bytes += size
            return
        if kept is not None:
            self._read_kept()
        for chunk, now in zip(chunks, arrivals, strict=True):
            self._read(chunk, now)

    def _read_kept(self) -> None:
        """Read the kept reads as if each had been read as it arrived; from now on, read so."""
        kept, self._kept = self._kept or [], None
        self._start_reading()
        for chunk, now in zip(kept, self._kept_times, strict=True):
            self._read(chunk, now)
        self._kept_times = []

    def _read_whole(self) -> bool:
        """Read the kept stream at once if it is the usual one (then True); else nothing is kept
        of what was tried (False)."""
        kept = self._kept
        if not kept:
            return False
        data = kept[0] if len(kept) == 1 else b"".join(kept)
        if _CR in data:
            return False
        end = data.rfind(b"\n\n")
        bounds = self._run_bounds(data, end)
        if bounds is None:
            return False
        start, text, stop = bounds
        if (start and self._head(data, start - 2)) or (
                counted := self._usual_run(data, start, text, stop)) is None or (
                stop < end and self._tail(data, stop + 2, end)):
            self._start_reading()  # content around the run, or a run not all usual
            return False
        times = self._kept_times
        self._ttfb = times[0]
        if len(kept) == 1:
            self._content(times[0], counted)
            return True
        if len(kept) > 2 and self._one_event_a_read(kept, times, start, stop + 2, counted):
            return True
        # Each read's content events: those whose end it completed, counted by their ends (the
        # template's terminator, which nothing else in a checked run holds). A read that starts
        # where an event ended and ends as one does, shorter than two events, holds one (a paced
        # stream's reads): known without a count.
        template = self._template
        assert template is not None  # (found by the run check)
        terminator = template.terminator
        ending = len(terminator)
        two_events = 2 * (len(template.prefix) + 1 + ending)
        run_end, offset, done, event_end = stop + 2, 0, 0, start
        arrivals: list[float] = []
        reads = self._reads
        count = data.count
        for chunk, now in zip(kept, times, strict=True):
            read_from = offset
            offset += len(chunk)
            if offset <= start:
                continue
            if offset >= run_end:
                ended = counted - done
            elif read_from == event_end and len(chunk) < two_events and chunk[-ending:] == terminator:
                ended, event_end = 1, offset
            else:  # (from before the read: an end it cut counts in the read that completed it)
                ended = count(terminator, max(start, read_from - ending + 1), offset)
                if chunk[-ending:] == terminator:
                    event_end = offset
            if ended:
                arrivals.append(now)
                reads.append(ended)
                done += ended
                if done == counted:
                    break
        self._first, self._last, self._chunks = arrivals[0], arrivals[-1], counted
        self._gaps = [now - before for before, now in pairwise(arrivals)]
        return True

    def _one_event_a_read(self, kept: list[bytes], times: list[float], start: int, run_end: int,
                          counted: int) -> bool:
        """Whether the checked run ``[start, run_end)`` of ``counted`` content events came one
        event a read (a paced stream's reads); if so, each read's arrival is its event's.

        From the read that completes the run's first event (it ends past ``start``), ``counted``
        reads must reach the run's end, the last of them only, each before it ending on a blank
        line: in a checked run a blank line only ends an event, so those ``counted - 1`` reads end
        at ``counted - 1`` distinct event ends before the last: every one of them, in order."""
        if counted < 2:
            return False
        first, offset = 0, 0
        for chunk in kept:
            offset += len(chunk)
            if offset > start:
                break
            first += 1
        last = first + counted - 1
        if last >= len(kept):
            return False
        before_last = offset + sum(map(len, kept[first + 1:last]))
        if not before_last < run_end <= before_last + len(kept[last]) or \
                b"".join([chunk[-2:] for chunk in kept[first:last]]) != b"\n\n" * (counted - 1):
            return False
        arrivals = times[first:last + 1]
        self._first, self._last, self._chunks = arrivals[0], arrivals[-1], counted
        self._reads = [1] * counted
        self._gaps = list(map(sub, arrivals[1:], arrivals))
        return True

    def _read(self, chunk: bytes, now: float) -> None:
        """One read, as it arrives."""
        if not chunk:
            return
        if self._ttfb is None:
            self._ttfb = now
        template = self._template
        # (Sliced and compared: startswith's argument parsing costs more than the copy.)
        if template is not None and not self._pending and \
                chunk[:len(template.prefix)] == template.prefix and \
                chunk[-len(template.terminator):] == template.terminator:
            # One usual content event, its text not empty, without a line end (another event) or
            # a quote (an escape, or a text that is not the template's: read the general way).
            text = chunk[len(template.prefix):-len(template.terminator)]
            if text and _LF not in text and _QUOTE not in text:
                self._content(now, 1)
                return
        if self._pending:
            chunk = self._pending + chunk
        if _CR in chunk:
            if chunk.endswith(b"\r"):  # maybe half a CRLF: wait for the rest
                self._pending = chunk
                return
            chunk = chunk.replace(b"\r\n", b"\n")
        end = chunk.rfind(b"\n\n")
        if end < 0:
            self._pending = chunk
            return
        self._pending = chunk[end + 2:]
        content = self._events(chunk, end)
        if content:
            self._content(now, content)

    def _run_bounds(self, data: bytes, end: int) -> tuple[int, int, int] | None:
        """Where the events from the first usual content event's to the last one's lie in
        ``data[:end]`` (start, the first text, stop); None if there is none."""
        token = self._token
        first = data.find(token, 0, end)
        if first < 0:
            return None
        start = data.rfind(b"\n\n", 0, first) + 2
        start = 0 if start == 1 else start  # the first event holds it
        stop = data.find(b"\n\n", data.rfind(token, first, end), end)
        return start, first + len(token), end if stop < 0 else stop

    def _events(self, data: bytes, end: int) -> int:
        """The content chunks among the whole events of ``data[:end]``; the other events read."""
        bounds = self._run_bounds(data, end)
        counted = None if bounds is None else self._usual_run(data, *bounds)
        if bounds is None or counted is None:
            return self._one_by_one(data[:end])
        start, _, stop = bounds
        before = self._head(data, start - 2) if start else 0
        after = self._tail(data, stop + 2, end) if stop < end else 0
        return before + counted + after

    def _head(self, data: bytes, end: int) -> int:
        """The content chunks among the events of ``data[:end]``, before a read's run."""
        if not self._openai and (usual := _USUAL_HEAD.fullmatch(data, 0, end)) and \
                (tokens := _USUAL_INPUT_TOKENS.search(usual[1])):
            self._input_tokens = int(tokens[1])
            return 0
        return self._one_by_one(data[:end])

    def _tail(self, data: bytes, start: int, end: int) -> int:
        """The content chunks among the events of ``data[start:end]``, after a read's run."""
        ending = data[start:end]
        if not self._openai:
            delta = _ENDINGS.get(ending)
            if delta is None and (usual := _USUAL_TAIL.fullmatch(ending)):
                if len(_ENDINGS) >= _ENDINGS_KEPT:
                    _ENDINGS.clear()
                delta = _ENDINGS[ending] = _delta_of(usual)
            if delta is not None:
                self._take_delta(*delta)
                self._complete = True
                return 0
        return self._one_by_one(ending)

    def _take_delta(self, stop_reason: str | None, output_tokens: int) -> None:
        """A message delta's stop reason (if it has one) and cumulative output tokens."""
        if stop_reason:
            self._stop_reason = stop_reason
        self._output_tokens = output_tokens

    def _usual_run(self, data: bytes, start: int, text: int, stop: int) -> int | None:
        """The content chunks of the events ``data[start:stop]`` when they are all usual ones (the
        first's text at ``text``), counted in one pass; else None.

        The first event gives the template: what comes before its text (``prefix``) and after
        (``suffix``), which must be a usual content chunk's. Every other event of the run is the
        same template around another text: between the first text and the last suffix, every line
        end is in a ``suffix + blank line + prefix`` boundary (a JSON string holds no line end, so
        an event of another kind in between would add some), and no boundary is followed by the
        closing quote (an empty text).
        """
        text_end = _string_end(data, text, stop)
        if text_end <= text:  # empty, or no string end: not usual
            return None
        first_end = data.find(b"\n\n", text_end, stop)
        first_end = stop if first_end < 0 else first_end
        prefix, suffix = data[start:text], data[text_end:first_end]
        template = self._template
        if template is None or template.prefix != prefix or template.suffix != suffix:
            template = _template_of(prefix, suffix, self._usual)
            if template is None:
                return None
            self._template = template
        if first_end == stop:
            return 1
        if not data.endswith(suffix, start, stop):
            return None
        texts_end = stop - len(suffix)
        boundaries = data.count(template.boundary, text, texts_end)
        if data.count(b"\n", text, texts_end) != boundaries * template.boundary_lines or \
                data.find(template.empty_text, text, stop) >= 0:
            return None
        return boundaries + 1

    def _one_by_one(self, data: bytes) -> int:
        """The content chunks among ``data``'s events (blank-line separated), each event read."""
        dispatch = self._openai_event if self._openai else self._anthropic_event
        ignored, quiet = self._ignored, self._quiet
        content = 0
        for block in data.split(b"\n\n"):
            if block in quiet:
                continue
            if block == self._end_block:
                self._complete = True
                continue
            # The usual layouts first ('event: NAME\ndata: JSON', 'data: JSON'): no line loop.
            first, two_lines, data_line = block.partition(b"\n")
            if not two_lines:
                if first[:6] == b"data: ":
                    content += dispatch(b"", first[6:])
                    continue
            elif first[:7] == b"event: " and data_line[:6] == b"data: " and _LF not in data_line:
                name = first[7:]
                if name not in ignored:  # 'event: ping' and the like carry nothing: not read
                    content += dispatch(name, data_line[6:])
                continue
            content += self._block(block, dispatch)
        return content

    @staticmethod
    def _block(block: bytes, dispatch: Callable[[bytes, bytes], bool]) -> bool:
        """An event in any layout: fields line by line (comments and unknown fields skipped)."""
        name, data = b"", None
        for line in block.split(b"\n"):
            if line.startswith(b"data:"):
                value = line[6:] if line.startswith(b"data: ") else line[5:]
                data = value if data is None else data + b"\n" + value
            elif line.startswith(b"event:"):
                name = line[6:].strip()
        return data is not None and dispatch(name, data)

    def _content(self, now: float, chunks: int) -> None:
        """``chunks`` content chunks arrived at ``now``: one gap since the last, then 0 apart (kept
        as a count: a stream of one read would otherwise make a list of zeros to record)."""
        if self._last is None:
            self._first = now
        else:
            self._gaps.append(now - self._last)
        self._reads.append(chunks)
        self._last = now
        self._chunks += chunks

    def _anthropic_event(self, name: bytes, raw: bytes) -> bool:
        """Reads one event; whether it is a content chunk."""
        # (bytes.find rather than 'in', whose bytes operand is first tried as an integer, dearly)
        if name == b"content_block_delta" and raw.find(b'""') < 0 and (
                raw.find(b'"text_delta"') >= 0 or raw.find(b'"thinking_delta"') >= 0
                or raw.find(b'"input_json_delta"') >= 0):
            return True  # a content delta with no empty string in it: not empty
        if name in _ANTHROPIC_IGNORED:
            return False
        if name == b"message_stop":
            self._complete = True
            return False
        if name == b"message_start" and (usual := _USUAL_INPUT_TOKENS.search(raw)):
            self._input_tokens = int(usual[1])
            return False
        if name == b"message_delta" and (usual := _USUAL_MESSAGE_DELTA.fullmatch(raw)):
            self._take_delta(*_delta_of(usual))
            return False
        data = _object(raw)
        if data is None:
            return False
        if name == b"content_block_delta":
            delta = data.get("delta")
            if isinstance(delta, dict):
                field = _ANTHROPIC_CONTENT.get(str(delta.get("type")))
                return field is not None and bool(delta.get(field))
        elif name == b"message_delta":
            usage = data.get("usage")
            if isinstance(usage, dict) and (tokens := _count(usage.get("output_tokens"))) is not None:
                self._output_tokens = tokens
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason"):
                self._stop_reason = str(delta["stop_reason"])
        elif name == b"message_start":
            message = data.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                self._input_tokens = _count(usage.get("input_tokens"))
        elif name == b"error" or data.get("type") == "error":
            self._error = _error_of(data)
        return False

    def _openai_event(self, name: bytes, raw: bytes) -> bool:
        """Reads one event; whether it is a content chunk."""
        if (not name and raw.find(b'"content":"') >= 0 and raw.find(b'"finish_reason":null') >= 0
                and raw.find(b'""') < 0 and raw.find(b'"error"') < 0 and raw.find(b'"usage":{') < 0):
            return True  # the usual compact content chunk, its content not empty
        if raw == OPENAI_DONE:
            self._complete = True
            return False
        data = _object(raw)
        if data is None:
            return False
        if "error" in data or name == b"error":
            self._error = _error_of(data)
            return False
        content = False
        choices = data.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if not isinstance(choice, dict):
                    continue
                delta = choice.get("delta")
                if isinstance(delta, dict) and not content:
                    content = any(delta.get(field) for field in _OPENAI_CONTENT) or bool(
                        delta.get("tool_calls"))
                if choice.get("finish_reason"):
                    self._stop_reason = str(choice["finish_reason"])
        usage = data.get("usage")
        if isinstance(usage, dict):
            self._input_tokens = _count(usage.get("prompt_tokens"))
            self._output_tokens = _count(usage.get("completion_tokens"))
        return content

    def timings(self) -> StreamTimings:
        """What the stream showed so far (call it when the stream has ended)."""
        if self._kept is not None and not self._read_at_once:
            self._read_at_once = self._read_whole()
            if not self._read_at_once:
                self._read_kept()
        started, ttfb, first, last = self._started, self._ttfb, self._first, self._last
        from_usage = self._output_tokens is not None
        tokens = self._chunks if self._output_tokens is None else self._output_tokens
        ttft = None if first is None else first - started
        last_content = None if last is None else last - started
        tpot = None if ttft is None or last_content is None or tokens < 2 else \
            (last_content - ttft) / (tokens - 1)
        # (Positional, the named tuple's own: its __new__ matching 14 keywords costs as much as
        # the rest of this.)
        return _new_timings(StreamTimings, (
            None if ttfb is None else ttfb - started, ttft, last_content, tuple(self._gaps),
            tuple(self._reads), self._chunks, self._input_tokens, tokens, from_usage,
            self._stop_reason, self._error, self._complete and self._error is None,
            self._end_marker, tpot))
