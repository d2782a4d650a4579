"""Start the reference target (simulated upstream + proxy) in this event loop, or serve it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import web
from prometheus_client import CollectorRegistry
from yarl import URL

from slogate.target.faults import FaultConfig
from slogate.target.proxy import ProxySettings, build_proxy_app
from slogate.target.ratelimit import RateLimit
from slogate.target.streams import DEFAULT_TOKEN_INTERVAL_S, StreamPacing
from slogate.target.upstream import build_upstream_app

SHUTDOWN_TIMEOUT_S = 2.0
MAX_TOKEN_INTERVAL_S = 10.0
MAX_STREAM_DELAY_S = 60.0


@dataclass(frozen=True)
class TargetConfig:
    """Where the target listens and how its simulated upstream misbehaves.

    Port 0 picks a free port (the real one is in ``RunningTarget``). With ``upstream_url`` the
    proxy forwards to that server instead of starting the simulated upstream (faults must then
    be the default: they are the simulated upstream's).
    """

    host: str = "127.0.0.1"
    proxy_port: int = 0
    upstream_port: int = 0
    faults: FaultConfig = field(default_factory=FaultConfig)
    upstream_timeout_s: float = 10.0
    upstream_url: str | None = None
    cache_max_entries: int = 1024
    rate_limit: RateLimit | None = None
    """Per-API-key token bucket of the proxy (429 + Retry-After beyond it); None: no limit."""
    token_interval_s: float = DEFAULT_TOKEN_INTERVAL_S
    """Time between two tokens of a streamed message from the simulated upstream."""
    prefill_s: float = 0.0
    """Delay after a stream's headers before its opening event (``message_start``)."""
    first_token_s: float = 0.0
    """Delay after a stream's opening event before its first token."""
    tokens_per_chunk: tuple[int, int] = (1, 1)
    """Tokens per content chunk of a stream, drawn between the two bounds."""

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host must not be empty")
        for name, port in (("proxy_port", self.proxy_port), ("upstream_port", self.upstream_port)):
            if not 0 <= port <= 65535:
                raise ValueError(f"{name} must be in 0..65535, got {port}")
        if not self.upstream_timeout_s > 0:
            raise ValueError(f"upstream_timeout_s must be > 0, got {self.upstream_timeout_s!r}")
        if self.cache_max_entries < 0:
            raise ValueError(f"cache_max_entries must be >= 0, got {self.cache_max_entries}")
        if not 0 <= self.token_interval_s <= MAX_TOKEN_INTERVAL_S:
            raise ValueError(
                f"token_interval_s must be in 0..{MAX_TOKEN_INTERVAL_S:g}, got {self.token_interval_s!r}"
            )
        for name in ("prefill_s", "first_token_s"):
            if not 0 <= getattr(self, name) <= MAX_STREAM_DELAY_S:
                raise ValueError(f"{name} must be in 0..{MAX_STREAM_DELAY_S:g}, "
                                 f"got {getattr(self, name)!r}")
        StreamPacing(tokens_per_chunk=self.tokens_per_chunk)  # validates the bounds
        if self.upstream_url is not None:
            ProxySettings(self.upstream_url)  # validates the URL
            if not self.faults.is_healthy:
                raise ValueError(
                    "faults apply to the simulated upstream only; they cannot be combined "
                    "with an external upstream URL"
                )


    @property
    def pacing(self) -> StreamPacing:
        """How the simulated upstream paces its streams."""
        return StreamPacing(self.prefill_s, self.first_token_s, self.token_interval_s,
                            self.tokens_per_chunk)


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port`` (port 0: a free one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc}") from exc
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = int(sock.getsockname()[1])
    return str(URL.build(scheme="http", host=host, port=port))


async def _start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
    )
    await runner.setup()
    try:
        sock = _bind(host, port)
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, _url(host, sock)


class RunningTarget:
    """A started target: its URLs, its metrics registry, and ``close()``."""

    def __init__(
        self,
        proxy_url: str,
        upstream_url: str,
        registry: CollectorRegistry,
        runners: list[web.AppRunner],
    ) -> None:
        self.proxy_url = proxy_url
        self.upstream_url = upstream_url
        self.registry = registry
        self._runners = runners

    async def close(self) -> None:
        """Stop the proxy, then the upstream (idempotent)."""
        runners, self._runners = self._runners, []
        for runner in reversed(runners):
            await runner.cleanup()

    async def __aenter__(self) -> RunningTarget:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_target(
    config: TargetConfig | None = None, *, registry: CollectorRegistry | None = None
) -> RunningTarget:
    """Start the simulated upstream (unless ``config.upstream_url``) and the proxy in front of it.

    The proxy's metrics go to ``registry`` (a fresh ``CollectorRegistry`` by default).
    """
    config = config or TargetConfig()
    registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
    runners: list[web.AppRunner] = []
    try:
        if config.upstream_url is None:
            runner, upstream_url = await _start_site(
                build_upstream_app(config.faults, pacing=config.pacing),
                config.host,
                config.upstream_port,
            )
            runners.append(runner)
        else:
            upstream_url = config.upstream_url
        settings = ProxySettings(
            upstream_url=upstream_url,
            upstream_timeout_s=config.upstream_timeout_s,
            cache_max_entries=config.cache_max_entries,
            rate_limit=config.rate_limit,
        )
        runner, proxy_url = await _start_site(
            build_proxy_app(settings, registry), config.host, config.proxy_port
        )
        runners.append(runner)
    except BaseException:
        for started in reversed(runners):
            await started.cleanup()
        raise
    return RunningTarget(proxy_url, upstream_url, registry, runners)


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set ``stop`` when stdin reaches end of file (the parent process is gone)."""

    def wait_for_eof() -> None:
        # os.read on the raw descriptor: a daemon thread blocked in a buffered read would abort
        # the interpreter at exit (it holds the buffer's lock).
        with contextlib.suppress(OSError, ValueError):
            fd = sys.stdin.fileno()
            while os.read(fd, 4096):
                pass
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, name="stdin-eof-watch", daemon=True).start()


async def serve_async(
    config: TargetConfig | None = None, ready_line: bool = True, *, exit_on_stdin_eof: bool = False
) -> None:
    """Start the target, print the ready line, serve until SIGINT/SIGTERM, then close."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    installed: list[signal.Signals] = []
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # e.g. Windows
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        target = await start_target(config)
        try:
            if ready_line:
                line = {
                    "proxy_url": target.proxy_url,
                    "upstream_url": target.upstream_url,
                    "pid": os.getpid(),
                }
                sys.stdout.write(json.dumps(line) + "\n")
                sys.stdout.flush()
            if exit_on_stdin_eof:
                _watch_stdin(loop, stop)
            await stop.wait()
        finally:
            await target.close()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def serve(
    config: TargetConfig | None = None, ready_line: bool = True, *, exit_on_stdin_eof: bool = False
) -> None:
    """Blocking ``serve_async`` for the command line; returns after a clean shutdown.

    The ready line is one JSON object on stdout: ``{"proxy_url", "upstream_url", "pid"}``.
    """
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_async(config, ready_line, exit_on_stdin_eof=exit_on_stdin_eof))
