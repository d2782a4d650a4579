"""A real HAProxy (Debian's ``haproxy``) for tests: a generated configuration on free loopback
ports in front of an origin, with HAProxy's built-in Prometheus exporter on a frontend of its own
(``http-request use-service prometheus-exporter``), in a temporary folder, stopped after.

The backend is named ``origin``: ``haproxy_backend_http_responses_total{proxy="origin", code}``
counts its responses by status class.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import require_tool
from tests.prometheus_server import free_port
from tests.server_process import MetricsProxy, metrics_proxy

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


@contextmanager
def haproxy_proxy(folder: Path, origin_url: str) -> Iterator[MetricsProxy]:
    """HAProxy proxying to ``origin_url`` ('http://127.0.0.1:PORT') on a free port, until the block ends."""
    binary = require_tool("haproxy", "haproxy")
    folder.mkdir(parents=True, exist_ok=True)
    port, metrics_port = free_port(), free_port()
    config = folder / "haproxy.cfg"
    config.write_text(_CONFIG.format(
        folder=folder, port=port, metrics_port=metrics_port, backend=BACKEND,
        origin=origin_url.removeprefix("http://").rstrip("/"),
    ), encoding="utf-8")
    # -db: stay in the foreground, so the test owns the process.
    command = [binary, "-db", "-f", str(config)]
    with metrics_proxy("haproxy", command, folder, port, f"127.0.0.1:{metrics_port}") as proxy:
        yield proxy
