"""A streaming server that sends a canned event stream one event at a time, as an LLM API's tokens
arrive: each event its own HTTP chunk (``Transfer-Encoding: chunked``, as the APIs stream), written
alone (``TCP_NODELAY``) after a pause, so that each reaches the client in its own network read.

It runs in a child process of its own (``paced_server``), so its work shares no interpreter with
the client's it is there to load; it answers any request, keeps connections alive, and stops with
its parent's context.

    .venv/bin/python -m benchmarks.paced_server PORT GAP_S < stream  (what ``paced_server`` runs)
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import socketserver
import subprocess
import sys
import time
from collections.abc import Iterator

from benchmarks.generator_efficiency import free_port
from slogate.reachability import TargetUnreachableError, check_listening

_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n")


def events_of(stream: bytes) -> list[bytes]:
    """The stream's events, each with its blank line."""
    return [event + b"\n\n" for event in stream.removesuffix(b"\n\n").split(b"\n\n")]


def gap_ms(text: str) -> float:
    """``--paced GAP_MS`` of the benchmarks that stream from this server: a gap of at least 0 ms."""
    try:
        gap = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a gap in ms, got {text!r}") from None
    if not gap >= 0:  # (NaN too)
        raise argparse.ArgumentTypeError(f"a gap of at least 0 ms, got {text}")
    return gap


def _handler(events: list[bytes], gap_s: float) -> type[socketserver.StreamRequestHandler]:
    chunks = [b"%x\r\n%s\r\n" % (len(event), event) for event in events]

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                length = 0
                while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if not line:
                    return  # the client closed the connection
                self.rfile.read(length)
                self.connection.sendall(_HEAD)
                for chunk in chunks:
                    time.sleep(gap_s)
                    self.connection.sendall(chunk)
                self.connection.sendall(b"0\r\n\r\n")

    return Handler


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def paced_server(stream: bytes, gap_s: float) -> Iterator[str]:
    """The server in a child process on a free loopback port, sending ``stream``'s events
    ``gap_s`` apart; yields its URL once it answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.paced_server", str(port), str(gap_s)],
                               stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(stream)
    process.stdin.close()
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.time() + 10
        while True:
            try:
                check_listening(url, timeout_s=1)
                break
            except TargetUnreachableError:
                if time.time() > deadline or process.poll() is not None:
                    raise SystemExit("benchmarks: the paced server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    port, gap_s = int(sys.argv[1]), float(sys.argv[2])
    events = events_of(sys.stdin.buffer.read())
    with _Server(("127.0.0.1", port), _handler(events, gap_s)) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
