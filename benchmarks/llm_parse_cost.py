"""What parsing an LLM stream costs the generator, per stream, in instructions or CPU time.

Instructions do not move with the machine's load (``benchmarks.llm_stream_accuracy``'s streams per
CPU second do: its rounds' on/off ratios spread over ±20% on a shared machine); CPU time counts
what instructions leave out (the kernel's share, caches).

Three sets of sides, each measured after a warm-up:

- default (from memory): the canned 64-token Anthropic stream of ``llm_stream_accuracy``'s cost
  benchmark handed to ``LlmStreamParser`` (``feed_all``, as the scenario's reading loop does) in
  three read patterns (two reads, 3855 bytes then the rest, as nginx's canned stream arrives on
  loopback; 1460-byte reads, a TCP segment each, so reads end anywhere, mid-marker too; one event
  per read, as a paced server's tokens arrive), then its timings and their recording
  (``loadtest.llm_series.record_stream`` into a ``RunRecorder``): the parsing side's extra work,
  its token counters aside;
- ``--nginx``: the LLM scenario's call (``MessageCaller.call``, rate-limit headroom, counters,
  slogate's request listener) streaming that stream from Debian's nginx with parsing on, and the
  same call reading the body in one go (``BodyInOneGo``: parsing off), as the wall-clock benchmark
  runs them; off / on is the share of streams per CPU second that parsing leaves (goal >= 0.9).
  nginx sends the whole stream at once: two network reads, the parser's worst case;
- ``--paced GAP_MS``: the same two calls against ``benchmarks.paced_server``, which sends the
  stream one event per network read, GAP_MS apart, as an LLM API paces its tokens (CPU time only:
  under valgrind a stream would take ~50 times as long, its series spread over as many more of the
  recorder's slices).

``--callgrind`` counts the CPU instructions of the N streams only (valgrind's callgrind, switched
on and off around the loop, as ``benchmarks.request_path_cost``; each side in its own process);
without it, the CPU time a stream takes (kernel time included), both sides in one process in
alternating blocks of ``--streams`` (default 100; 50 paced), ``--rounds`` blocks a side (default
100; 20 paced): the median, the ratio of the sides' sums and the spread of the blocks' ratios. Each
side's series recorded later are recorded inside its window; the process's long-lived objects are
frozen out of the collector's way first.

    .venv/bin/python -m benchmarks.llm_parse_cost [--callgrind] [--nginx] [--streams N] [--rounds R]
    .venv/bin/python -m benchmarks.llm_parse_cost --paced GAP_MS [--streams N] [--rounds R]

Needs valgrind for --callgrind (``apt-get install valgrind``), nginx for --nginx.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.paced_server import events_of, gap_ms, paced_server
from benchmarks.request_path_cost import (
    START_INSTRUMENTATION,
    STOP_INSTRUMENTATION,
    client_request,
    instructions_of,
    measured,
)
from slogate.loadtest.llm import MessageCaller
from slogate.loadtest.llm_series import SeriesKeys, record_stream
from slogate.loadtest.llm_stream import ANTHROPIC, LlmStreamParser

REPO = Path(__file__).resolve().parents[1]
WARMUP = 50
SEGMENT = 1460
NGINX_FIRST_READ = 3855
"""Bytes of the body in the first read of a stream from nginx on loopback (the rest in a second)."""
READ_PATTERNS = ("two reads", f"{SEGMENT}-byte reads", "an event per read")
NGINX_SIDES = {"on": "parsing on (the scenario's call)", "off": "parsing off (body in one go)"}
ROUTE_KEY = "POST /v1/messages"


class BodyInOneGo(MessageCaller):
    """The scenario's call (rate-limit headroom, counters) with the stream read in one go: no
    parsing, no derived series."""

    def _read_stream(self, response: Any, started: float) -> None:
        length = len(response.read(1)) + len(response.read())
        response.request_meta["response_time"] = (time.perf_counter() - started) * 1e3
        response.request_meta["response_length"] = length
        response.release()


def reads_of(stream: bytes, pattern: str) -> list[bytes]:
    if pattern == READ_PATTERNS[0]:
        return [stream[:NGINX_FIRST_READ], stream[NGINX_FIRST_READ:]]
    if pattern == READ_PATTERNS[1]:
        return [stream[at:at + SEGMENT] for at in range(0, len(stream), SEGMENT)]
    return events_of(stream)


def parse_streams(pattern: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """One stream from memory: its reads handed to the parser, its timings recorded; and what
    records the series the recorder kept to record later."""
    from benchmarks.llm_stream_accuracy import canned_stream
    from slogate.loadtest.recorder import RunRecorder

    reads = reads_of(canned_stream(), pattern)
    recorder = RunRecorder(slice_s=1.0)
    keys = SeriesKeys.of(ROUTE_KEY)
    start = time.time()

    arrivals = [0.001 + 0.0001 * index for index in range(1, len(reads) + 1)]
    size = sum(map(len, reads))

    def one() -> None:
        parser = LlmStreamParser(ANTHROPIC, 0.0)
        parser.feed_all(reads, arrivals, size)  # as the scenario's reading loop hands them over
        timings = parser.timings()
        if not timings.complete or timings.content_chunks != 64:
            raise SystemExit(f"llm_parse_cost: the canned stream read wrong: {timings}")
        record_stream(recorder, keys, start, timings)

    return one, recorder.flush


def stream_calls(side: str, host: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """One call of the LLM scenario against nginx's canned stream, parsing on or off; and what
    records the series the run's recorder kept to record later."""
    from locust import FastHttpUser
    from locust.env import Environment

    from slogate.loadtest.plugin import SlogateSession

    class Streamer(FastHttpUser):
        pass

    Streamer.host = host
    environment = Environment(user_classes=[Streamer])
    environment.create_local_runner()  # Locust's stats listener, as in every run
    session = SlogateSession(environment)
    environment.events.request.add_listener(session.on_request)
    caller = (MessageCaller if side == "on" else BodyInOneGo)(Streamer(environment))

    def one() -> None:
        caller.call("hello", stream=True)

    return one, session.recorder.flush


def run_side(side: str, streams: int, host: str | None) -> None:
    """One side's N streams in this process; prints MEASURED with the CPU nanoseconds they took."""
    one, flush = stream_calls(side, host) if host else parse_streams(side)
    for _ in range(WARMUP):
        one()
    flush()
    # The process's long-lived objects out of the collector's way: a full collection (every few
    # hundred streams, over all of Locust's objects) would fall in one side's window or not.
    gc.collect()
    gc.freeze()
    instrument = client_request()
    instrument(START_INSTRUMENTATION)
    started = time.process_time_ns()  # CPU time: a shared machine's waits for a core left out
    for _ in range(streams):
        one()
    flush()  # the series recorded later are part of each stream's cost
    elapsed = time.process_time_ns() - started
    instrument(STOP_INSTRUMENTATION)
    print("MEASURED " + json.dumps({"ns": elapsed, "streams": streams}), flush=True)


def side_command(side: str, streams: int, host: str | None) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.llm_parse_cost", "--side", side,
               "--streams", str(streams)]
    return command + (["--host", host] if host else [])


def instructions_per_stream(side: str, streams: int, host: str | None) -> float:
    """The side's streams under callgrind, instrumented only while they run."""
    return instructions_of(side_command(side, streams, host), "llm_parse_cost") / streams


def run_interleaved(sides: list[str], blocks: int, streams: int, host: str | None) -> None:
    """Every side in this one process, in alternating blocks of ``streams``: prints MEASURED with
    each side's CPU nanoseconds per stream, block by block. One process and adjacent blocks: the
    memory layout and a shared machine's drift are the same for both sides."""
    calls = {side: stream_calls(side, host) if host else parse_streams(side) for side in sides}
    for one, flush in calls.values():
        for _ in range(WARMUP):
            one()
        flush()
    gc.collect()
    gc.freeze()
    per_stream: dict[str, list[float]] = {side: [] for side in sides}
    for block in range(blocks):
        for side in sides[block % len(sides):] + sides[:block % len(sides)]:
            one, flush = calls[side]
            started = time.process_time_ns()
            for _ in range(streams):
                one()
            flush()
            per_stream[side].append((time.process_time_ns() - started) / streams)
    print("MEASURED " + json.dumps({"ns": 0, "per_stream": per_stream}), flush=True)


def figures_of(sides: list[str], args: argparse.Namespace, host: str | None) -> dict[str, float]:
    """Instructions (callgrind, each side in its own process) or CPU ns (interleaved blocks) per
    stream of each side; with CPU ns, also the ratio of the first two sides' sums (key "ratio") and
    the quartiles of their blocks' ratios ("q1", "q3")."""
    if args.callgrind:
        return {side: instructions_per_stream(side, args.streams, host) for side in sides}
    command = [sys.executable, "-m", "benchmarks.llm_parse_cost", "--side", ",".join(sides),
               "--streams", str(args.streams), "--rounds", str(args.rounds)]
    completed = subprocess.run(command + (["--host", host] if host else []), cwd=REPO,
                               capture_output=True, text=True, check=False)
    per_stream: dict[str, list[float]] = measured(completed, "llm_parse_cost")["per_stream"]
    figures = {side: statistics.median(values) for side, values in per_stream.items()}
    first, second = (per_stream[side] for side in sides[:2])
    quartiles = statistics.quantiles([b / a for a, b in zip(first, second, strict=True)], n=4)
    return {**figures, "ratio": sum(second) / sum(first), "q1": quartiles[0], "q3": quartiles[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callgrind", action="store_true", help="count instructions (valgrind)")
    parser.add_argument("--nginx", action="store_true",
                        help="the scenario's whole call against nginx, parsing on and off")
    parser.add_argument("--paced", type=gap_ms, metavar="GAP_MS",
                        help="the scenario's whole call against a server sending one event per "
                             "network read, GAP_MS apart, parsing on and off")
    parser.add_argument("--streams", type=int,
                        help="streams per side under callgrind (default 300), per block when timing (100)")
    parser.add_argument("--rounds", type=int,
                        help="alternating blocks of streams per side when timing (default 100; "
                             "20 with --paced)")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind and args.paced is not None:
        # Under valgrind a paced stream takes about 50 times as long: its series spread over that
        # many more of the recorder's slices, whose bulk recording is then counted many times over.
        parser.error("--paced measures CPU time only (not with --callgrind): under valgrind a "
                     "paced stream spans ~50 times as many of the recorder's slices")
    paced = args.paced is not None
    args.streams = args.streams or (300 if args.callgrind else 50 if paced else 100)
    args.rounds = args.rounds or (20 if paced else 100)
    if args.side and "," in args.side:
        run_interleaved(args.side.split(","), args.rounds, args.streams, args.host)
        return
    if args.side:
        run_side(args.side, args.streams, args.host)
        return
    unit = "instructions" if args.callgrind else "CPU ns"
    how = "" if args.callgrind else (
        f" (median of {args.rounds} blocks of {args.streams} streams a side, interleaved in one process)")
    if not args.nginx and args.paced is None:
        figures = figures_of(list(READ_PATTERNS), args, None)
        print(f"a 64-token Anthropic stream from memory, parsed and recorded, {unit} per stream{how}")
        for pattern in READ_PATTERNS:
            print(f"  {pattern:20} {figures[pattern]:10,.0f}")
        return
    from benchmarks.generator_efficiency import nginx
    from benchmarks.llm_stream_accuracy import STREAM_LOCATION, canned_stream

    if args.paced is not None:
        with paced_server(canned_stream(), args.paced / 1e3) as host:
            figures = figures_of(list(NGINX_SIDES), args, host)
        server = f"a server on 127.0.0.1 sending one event per read, {args.paced:g} ms apart"
    else:
        with tempfile.TemporaryDirectory() as folder, \
                nginx(Path(folder), {"stream.sse": canned_stream()}, STREAM_LOCATION) as host:
            figures = figures_of(list(NGINX_SIDES), args, host)
        server = "nginx on 127.0.0.1"
    print(f"the LLM scenario's call of a 64-token stream from {server}, {unit} per stream{how}")
    for side, title in NGINX_SIDES.items():
        print(f"  {title:36} {figures[side]:10,.0f}")
    extra = figures["on"] - figures["off"]
    ratio = figures.get("ratio", figures["off"] / figures["on"])
    spread = f"; blocks' quartiles x{figures['q1']:.3f}-x{figures['q3']:.3f}" if "q1" in figures else ""
    print(f"  parsing adds {extra:,.0f} {unit} per stream: off / on = x{ratio:.3f}{spread}"
          " (streams per CPU second parsing leaves; goal >= x0.9)")


if __name__ == "__main__":
    main()
