"""A tiny HTTP target for harness tests: records every request's headers, can stall for a window."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    headers: list[dict[str, str]] = field(default_factory=list)
    stall_from: float = float("inf")
    stall_until: float = float("-inf")
    stall_after_first_s: float | None = None
    """Set the stall window from the first request on (it starts this long after it), so a slow
    start of the load generator on a busy machine cannot make the run miss the stall."""
    stall_length_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def harness_server(recorded: Recorded) -> Iterator[str]:
    """Serve on a free loopback port; a request arriving in the stall window waits until its end."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            now = time.time()
            with recorded.lock:
                if recorded.stall_after_first_s is not None and not recorded.headers:
                    recorded.stall_from = now + recorded.stall_after_first_s
                    recorded.stall_until = recorded.stall_from + recorded.stall_length_s
            if recorded.stall_from <= now < recorded.stall_until:
                time.sleep(recorded.stall_until - now)
            with recorded.lock:
                recorded.headers.append({k.lower(): v for k, v in self.headers.items()})
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    with serving(Handler) as url:
        yield url


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free loopback port in a thread; its base URL, stopped after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
