"""A real Caddy reverse proxy (Debian's ``caddy``) for tests: a generated Caddyfile on free
loopback ports in front of an origin, its metrics on, in a temporary folder, stopped after.

Caddy serves its Prometheus metrics on the admin endpoint (``/metrics``); the global option
``servers { metrics }`` turns the HTTP server's metrics on (required from Caddy 2.8; Debian's 2.6
accepts it and collects them anyway). Automatic HTTPS is off and Caddy's data and config folders
are the test's, so nothing outside it is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import require_tool
from tests.prometheus_server import free_port
from tests.server_process import MetricsProxy, metrics_proxy

_CADDYFILE = """\
{{
	admin 127.0.0.1:{admin_port}
	auto_https off
	servers {{
		metrics
	}}
}}
http://127.0.0.1:{port} {{
	reverse_proxy {origin}
}}
"""


@contextmanager
def caddy_proxy(folder: Path, origin_url: str) -> Iterator[MetricsProxy]:
    """Caddy proxying to ``origin_url`` ('http://127.0.0.1:PORT') on a free port, until the block ends."""
    binary = require_tool("caddy", "caddy")
    folder.mkdir(parents=True, exist_ok=True)
    port, admin_port = free_port(), free_port()
    config = folder / "Caddyfile"
    config.write_text(_CADDYFILE.format(
        admin_port=admin_port, port=port, origin=origin_url.removeprefix("http://").rstrip("/"),
    ), encoding="utf-8")
    env = {**os.environ, "HOME": str(folder), "XDG_DATA_HOME": str(folder / "data"),
           "XDG_CONFIG_HOME": str(folder / "config")}
    command = [binary, "run", "--config", str(config), "--adapter", "caddyfile"]
    with metrics_proxy("caddy", command, folder, port, f"127.0.0.1:{admin_port}", env) as proxy:
        yield proxy
