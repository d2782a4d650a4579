"""Server-sent events (the ``text/event-stream`` format) and the token usage of an Anthropic-style
message stream.

``SseParser`` is incremental (feed it bytes as they arrive: a proxy counting tokens while it
streams) and works on a whole body too (``parse_events``). It imports nothing but the standard
library, so the reference target can use it without pulling in Locust.

An Anthropic-style stream carries its usage in two events: ``message_start`` (``message.usage``:
the input tokens, and the output tokens so far) and ``message_delta`` (``usage.output_tokens``:
the running output total); the last value seen of each wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True)
class ServerSentEvent:
    event: str
    """The ``event:`` field; ``message`` when the stream gave none (the specification's default)."""
    data: str
    """The ``data:`` lines joined with newlines."""


class SseParser:
    """Turns chunks of an event stream into events; a chunk may end anywhere, even mid-line."""

    def __init__(self) -> None:
        self._pending = b""
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk`` (an event ends at an empty line)."""
        self._pending += chunk
        events: list[ServerSentEvent] = []
        *lines, self._pending = self._pending.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if not line:
                if self._data:
                    events.append(ServerSentEvent(self._event or "message", "\n".join(self._data)))
                self._event, self._data = "", []
                continue
            if line.startswith(":"):
                continue  # a comment (keep-alive)
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)
        return events


def parse_events(body: bytes) -> list[ServerSentEvent]:
    """Every complete event of a whole stream body."""
    return SseParser().feed(body if body.endswith(b"\n\n") else body + b"\n\n")


def _data_object(event: ServerSentEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.data)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


class StreamUsage:
    """Input and output tokens of a message stream, updated event by event."""

    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.stopped = False
        """True once ``message_stop`` arrived: the stream is whole."""

    def update(self, events: Iterable[ServerSentEvent]) -> None:
        for event in events:
            if event.event == "message_stop":
                self.stopped = True
            elif event.event in ("message_start", "message_delta"):
                data = _data_object(event)
                source = data.get("message", {}) if event.event == "message_start" else data
                usage = source.get("usage") if isinstance(source, dict) else None
                if not isinstance(usage, dict):
                    continue
                if (tokens := _count(usage.get("input_tokens"))) is not None:
                    self.input_tokens = tokens
                if (tokens := _count(usage.get("output_tokens"))) is not None:
                    self.output_tokens = tokens


def stream_usage(body: bytes) -> StreamUsage:
    """The usage of a whole message stream body."""
    usage = StreamUsage()
    usage.update(parse_events(body))
    return usage
