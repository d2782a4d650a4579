"""--slogate-otlp-endpoint: a real Locust run exports a client span per request over OTLP/HTTP, and
each span's trace is the one the request's traceparent header carried to the target."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from slogate.loadtest import trace_ids
from tests.loadtest.harness_server import Recorded, harness_server, serving

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILE = """\
import slogate.loadtest.plugin  # noqa: F401
from locust import FastHttpUser, constant, task


class Reader(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def read(self) -> None:
        self.client.get("/item/7", name="/item/{id}")
"""
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")


@dataclass
class Received:
    posts: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(path, content type, body) of every POST."""
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def otlp_receiver(received: Received) -> Iterator[str]:
    """A minimal OTLP/HTTP collector on a free loopback port: keeps every POST, answers 200."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with received.lock:
                received.posts.append((self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    with serving(Handler) as url:
        yield url


CLIENTS_SCRIPT = """\
import json
import sys

from locust import FastHttpUser, HttpUser
from locust.env import Environment

from slogate.loadtest import tracing

host, refused = sys.argv[1], sys.argv[2]
tracing.enable()
read_back = []
for client_class in (FastHttpUser, HttpUser):
    user_class = type("Reader", (client_class,), {"host": host})
    environment = Environment(user_classes=[user_class])
    environment.events.request.add_listener(
        lambda response, exception, **_: read_back.append(tracing.sent_trace_id(response, exception)))
    client = user_class(environment).client
    client.get("/a", name="/a")
    client.get(refused, name="/refused")
# A scenario's own traceparent: sent once, as given.
own_user = type("Own", (FastHttpUser,), {"host": host})(environment)
response = own_user.client.get("/own", headers={"Traceparent": sys.argv[3]})
print(json.dumps({"read_back": read_back,
                  "own_lines": response._sent_request.lower().count("traceparent:")}))
"""


def test_each_client_sends_a_traceparent_whose_id_its_request_event_gives_back(
    closed_port: int, tmp_path: Path,
) -> None:
    """Both clients, a served request and a refused one: the id read back from the request event
    (what the recorder keeps for the slowest) is the one sent, or would have been. In a process
    of its own: Locust monkey-patches the process that imports it."""
    script = tmp_path / "clients.py"
    script.write_text(CLIENTS_SCRIPT, encoding="utf-8")
    own_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    recorded = Recorded()
    with harness_server(recorded) as host:
        completed = subprocess.run(
            [sys.executable, str(script), host, f"http://127.0.0.1:{closed_port}/refused",
             f"00-{own_id}-00f067aa0ba902b7-01"],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    read_back = result["read_back"]
    sent = [TRACEPARENT.match(headers["traceparent"]).group(1)  # type: ignore[union-attr]
            for headers in recorded.headers]
    assert len(sent) == 3 and read_back[0] == sent[0] and read_back[2] == sent[1]
    assert sent[2] == own_id and read_back[4] == own_id and result["own_lines"] == 1
    assert all(TRACEPARENT.match(f"00-{trace_id}-{'1' * 16}-01") for trace_id in read_back)
    assert len(set(read_back)) == 5


@pytest.mark.slow
def test_client_spans_reach_an_otlp_receiver_with_the_traces_sent(tmp_path: Path) -> None:
    locustfile = tmp_path / "otlp.py"
    locustfile.write_text(LOCUSTFILE, encoding="utf-8")
    recorded, received = Recorded(), Received()
    with harness_server(recorded) as host, otlp_receiver(received) as collector:
        completed = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary",
             "--host", host, "-u", "2", "-r", "10", "-t", "2s", "--stop-timeout", "1",
             "--slogate-out", str(tmp_path / "bundle"),
             "--slogate-otlp-endpoint", f"{collector}/v1/traces"],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert received.posts, "no OTLP export arrived"
    assert {path for path, _, _ in received.posts} == {"/v1/traces"}
    assert {kind for _, kind, _ in received.posts} == {"application/x-protobuf"}
    spans = [
        span
        for _, _, body in received.posts
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]
    sent = {TRACEPARENT.match(h["traceparent"]).groups()  # type: ignore[union-attr]
            for h in recorded.headers}
    exported = {(span.trace_id.hex(), span.span_id.hex()) for span in spans}
    # Each exported span is the very one whose context the target received, and every request
    # was exported (the last batch too, flushed when Locust quits), except at most one per user
    # (2): the request a user had in flight when Locust stopped it, cut off either after the
    # target read it (received, no span ended) or before (a span ended, nothing received).
    assert len(exported & sent) >= 10
    assert len(exported ^ sent) <= 2, (f"{len(sent - exported)} received but not exported, "
                                       f"{len(exported - sent)} exported but not received")
    assert {span.name for span in spans} == {"GET /item/{id}"}
    assert all(span.kind == span.SPAN_KIND_CLIENT for span in spans)


def test_headers_made_in_batches_are_valid_distinct_and_redrawn_after_a_fork() -> None:
    drawn = list(itertools.islice(trace_ids.random_values(), 3 * trace_ids.IDS_PER_DRAW))
    assert len({trace_ids.trace_id_of(header) for header in drawn}) == len(drawn)
    assert len({header[36:52] for header in drawn}) == len(drawn)  # span ids
    for header in drawn:
        match = TRACEPARENT.match(header)
        assert match and trace_ids.trace_id_of(header) == match.group(1)
    line = trace_ids.next_line()  # a request head's last line, and the blank line after it
    assert line.startswith("traceparent: ") and line.endswith("-01\r\n\r\n")
    assert TRACEPARENT.match(line[len("traceparent: "):-4])
    assert trace_ids.trace_id_of("not a traceparent") is None
    before = trace_ids.next_header
    trace_ids.restart()  # what a forked worker runs first: its own ids, not its parent's
    assert trace_ids.next_header is not before
