"""A real server the tests start (Prometheus, nginx, Caddy, HAProxy): wait until it answers, stop it after.

One place for the wait-and-stop that every such helper needs: a server that exits while starting
fails the test with the end of its log; one that never answers fails after ``timeout_s``; the
process is always terminated (killed if it lingers) when the test is done with it.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager


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
