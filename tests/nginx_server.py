"""A real caching reverse proxy (Debian's ``nginx`` with ``proxy_cache``) for tests: a generated
config on a free loopback port in front of an origin, in a temporary folder, stopped after.

What the config does, as a production OpenResty/nginx cache would:

* ``proxy_cache`` keyed by the URI, ``X-Cache-Status: $upstream_cache_status`` on every answer
  (``HIT``, ``MISS``, ``EXPIRED``, ``REVALIDATED``, ``BYPASS``...);
* entries live ``valid_s`` seconds whatever the origin's ``Cache-Control`` says, so a short test
  sees them expire; ``proxy_cache_revalidate on`` then asks the origin with ``If-None-Match`` and a
  304 from it refreshes the entry (``REVALIDATED``). A client's own ``If-None-Match`` matching the
  cached ``ETag`` is answered 304 from the cache;
* no ``proxy_cache_lock``: with it, requests that waited for another one's fetch of the same key
  are answered ``HIT`` after waiting for the origin, which would put origin latency in the hits;
* ``PURGE`` drops an entry when Debian's ``libnginx-mod-http-lua`` is installed: a few lines of
  Lua delete the entry's file (nginx names it by the MD5 of the cache key), 200 when something was
  cached, 404 otherwise; nginx takes the missing file for a miss. Without the module purging is off
  (``NginxCache.purge`` is False) and nginx passes a PURGE to the origin, which refuses it (405).
  Debian's ``libnginx-mod-http-cache-purge`` (ngx_cache_purge 2.3) is not used: its workers crash
  (SIGSEGV) on every PURGE under nginx 1.22, the known 2.3 incompatibility with nginx >= 1.11.6.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import require_tool
from tests.prometheus_server import free_port
from tests.server_process import log_text, serving

MODULES = Path("/usr/lib/nginx/modules")
LUA_MODULES = (MODULES / "ndk_http_module.so", MODULES / "ngx_http_lua_module.so")
"""Debian's ``libnginx-mod-http-lua`` and the development kit it needs, loaded in this order."""

CACHE_HEADER = "X-Cache-Status"

_PURGE = """\
            access_by_lua_block {{
                if ngx.req.get_method() ~= "PURGE" then return end
                -- levels=1:2: the last hex digit, then the two before it, then the whole MD5.
                local hash = ngx.md5(ngx.var.uri)
                local removed = os.remove(
                    "{folder}/cache/" .. hash:sub(-1) .. "/" .. hash:sub(-3, -2) .. "/" .. hash)
                ngx.status = removed and ngx.HTTP_OK or ngx.HTTP_NOT_FOUND
                ngx.say(removed and "purged" or "not cached")
                ngx.exit(ngx.status)
            }}
"""

_CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
{load_lua}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    proxy_cache_path {folder}/cache levels=1:2 keys_zone=content:4m max_size=64m inactive=10m
                     use_temp_path=off;
    upstream origin {{
        server {origin};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache content;
            proxy_cache_key $uri;
            proxy_ignore_headers Cache-Control Expires;
            proxy_cache_valid 200 {valid_s}s;
            proxy_cache_revalidate on;
            add_header {header} $upstream_cache_status always;
{purge}
        }}
    }}
}}
"""


@dataclass(frozen=True)
class NginxCache:
    """A running nginx cache: its base URL, whether PURGE works, and its error log."""

    url: str
    purge: bool
    log: Path

    def log_text(self) -> str:
        return log_text(self.log)


def lua_installed() -> bool:
    return all(module.exists() for module in LUA_MODULES)


@contextmanager
def nginx_cache(
    folder: Path, origin_url: str, *, valid_s: int = 2, header: str = CACHE_HEADER
) -> Iterator[NginxCache]:
    """nginx caching ``origin_url`` ('http://127.0.0.1:PORT') on a free port, until the block ends."""
    binary = require_tool("nginx", "nginx-light")
    folder.mkdir(parents=True, exist_ok=True)
    purge = lua_installed()
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(_CONFIG.format(
        folder=folder, port=port, origin=origin_url.removeprefix("http://").rstrip("/"),
        valid_s=valid_s, header=header,
        load_lua="".join(f"load_module {module};\n" for module in LUA_MODULES) if purge else "",
        purge=_PURGE.format(folder=folder) if purge else "",
    ), encoding="utf-8")
    log = folder / "error.log"
    process = subprocess.Popen(
        [binary, "-c", str(config), "-p", str(folder), "-e", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    server = NginxCache(f"http://127.0.0.1:{port}", purge, log)
    with serving(process, "nginx", f"{server.url}/", server.log_text):
        yield server

