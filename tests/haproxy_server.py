"""A real HAProxy (Debian's ``haproxy``) for tests: a generated configuration on free loopback
ports in front of an origin, with HAProxy's built-in Prometheus exporter on a frontend of its own
(``http-request use-service prometheus-exporter``), in a temporary folder, stopped after.

The backend is named ``origin``: ``haproxy_backend_http_responses_total{proxy="origin", code}``
counts its responses by status class.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_tool
from tests.prometheus_server import free_port
from tests.server_process import serving

BACKEND = "origin"

_CONFIG = """\
global
    pidfile {folder}/haproxy.pid
    maxconn 1024

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend edge
    bind 127.0.0.1:{port}
    default_backend {backend}

frontend metrics
    bind 127.0.0.1:{metrics_port}
    http-request use-service prometheus-exporter if {{ path /metrics }}

backend {backend}
    server origin {origin}
"""


@dataclass(frozen=True)
class HaproxyProxy:
    """A running HAProxy: its base URL, the host:port Prometheus scrapes, and its log."""

    url: str
    metrics_target: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def haproxy_proxy(folder: Path, origin_url: str) -> Iterator[HaproxyProxy]:
    """HAProxy proxying to ``origin_url`` ('http://127.0.0.1:PORT') on a free port, until the block ends."""
    binary = require_tool("haproxy", "haproxy")
    folder.mkdir(parents=True, exist_ok=True)
    port, metrics_port = free_port(), free_port()
    config = folder / "haproxy.cfg"
    config.write_text(_CONFIG.format(
        folder=folder, port=port, metrics_port=metrics_port, backend=BACKEND,
        origin=origin_url.removeprefix("http://").rstrip("/"),
    ), encoding="utf-8")
    log = folder / "haproxy.log"
    with log.open("wb") as log_file:
        # -db: stay in the foreground, so the test owns the process.
        process = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    proxy = HaproxyProxy(f"http://127.0.0.1:{port}", f"127.0.0.1:{metrics_port}", log)
    with serving(process, "haproxy", f"http://{proxy.metrics_target}/metrics", proxy.log_text):
        yield proxy

