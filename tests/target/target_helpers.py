"""Helpers of the reference target tests: an in-thread target, a closed port, /metrics samples."""

from __future__ import annotations

import asyncio
import socket
import threading

from prometheus_client.parser import text_string_to_metric_families

from slogate.target import RunningTarget, TargetConfig, start_target


class ThreadedTarget:
    """``start_target`` on a private event loop in a background thread (real sockets)."""

    def __init__(self, config: TargetConfig) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(start_target(config), self.loop)
        self.running: RunningTarget = future.result(timeout=10)
        self.proxy_url = self.running.proxy_url
        self.upstream_url = self.running.upstream_url

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.running.close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def unused_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def samples(metrics_text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics page: (sample name, labels) -> value."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(
    all_samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The value of one sample; 0 when the series does not exist."""
    return all_samples.get((name, frozenset(labels.items())), 0.0)
