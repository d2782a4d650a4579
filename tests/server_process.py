"""A real server the tests start (Prometheus, nginx, Caddy, HAProxy): wait until it answers, stop it after.

One place for the wait-and-stop that every such helper needs: a server that exits while starting
fails the test with the end of its log; one that never answers fails after ``timeout_s``; the
process is always terminated (killed if it lingers) when the test is done with it. Proxies with a
Prometheus endpoint (Caddy, HAProxy) are started by :func:`metrics_proxy`, whose config each
helper writes.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MetricsProxy:
    """A running proxy: its base URL, the host:port Prometheus scrapes (``/metrics``), and its log."""

    url: str
    metrics_target: str
    log: Path

    def log_text(self) -> str:
        return log_text(self.log)


def log_text(log: Path) -> str:
    """A server's log so far ('' before it writes one): what a failed start shows."""
    return log.read_text(errors="replace") if log.exists() else ""


@contextmanager
def metrics_proxy(name: str, command: list[str], folder: Path, port: int, metrics_target: str,
                  env: Mapping[str, str] | None = None) -> Iterator[MetricsProxy]:
    """``command`` (a proxy in the foreground, configured to listen on ``port`` and serve its
    metrics at ``metrics_target``) running until the block ends, its output in ``folder/NAME.log``."""
    log = folder / f"{name}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env)
    proxy = MetricsProxy(f"http://127.0.0.1:{port}", metrics_target, log)
    with serving(process, name, f"http://{metrics_target}/metrics", proxy.log_text):
        yield proxy


@contextmanager
def serving(process: subprocess.Popen[bytes], name: str, ready_url: str, log_text: Callable[[], str],
            *, timeout_s: float = 10.0, any_answer: bool = True) -> Iterator[None]:
    """While the block runs, ``process`` answers at ``ready_url`` (with any status, or only with
    a success when ``any_answer`` is False: a readiness endpoint); terminated afterwards."""
    try:
        _wait_answering(process, name, ready_url, log_text, timeout_s, any_answer)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_answering(process: subprocess.Popen[bytes], name: str, url: str, log_text: Callable[[], str],
                    timeout_s: float, any_answer: bool) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited: {log_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            if any_answer:
                return  # an origin's 404 will do: the server is listening
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} did not answer in {timeout_s:g} s: {log_text()[-2000:]}")
        time.sleep(0.1)
