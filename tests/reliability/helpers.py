"""Running ``slogate`` as a real child process, and looking at what it leaves behind."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from slogate.target import ReferenceTarget
from tests.target.target_helpers import samples

REPO = Path(__file__).resolve().parents[2]

ERRORS_SPEC = """\
service: reference-proxy
objectives:
  - {name: errors, kind: error_ratio, max: 1%}
  - {name: content-p95, kind: latency, endpoint: "GET /content/{id}", percentile: p95, threshold: 2s}
"""

SLOW_SPEC = """\
service: reference-proxy
objectives:
  - {name: messages-p50, kind: latency, endpoint: "POST /v1/messages", percentile: p50, threshold: 100ms}
  - {name: messages-p99, kind: latency, endpoint: "POST /v1/messages", percentile: p99, threshold: 300ms}
"""


@dataclass
class SlogateProcess:
    """A ``slogate`` child with its stdout and stderr in files."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(self.pid)
            raise

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def start_slogate(args: Sequence[str], folder: Path, env: dict[str, str] | None = None) -> SlogateProcess:
    """``python -m slogate.cli ARGS`` in the background, output captured under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = folder / "slogate.stdout", folder / "slogate.stderr"
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "slogate.cli", *args], stdout=out,
                                   stderr=err, stdin=subprocess.DEVNULL, env=environment, cwd=REPO)
    return SlogateProcess(process, stdout_path, stderr_path)


def run_args(host: str, spec: Path, bundle: Path, *, duration: str = "3s", users: int = 6,
             extra: Sequence[str] = ()) -> list[str]:
    return ["run", "--host", host, "--spec", str(spec), "--users", str(users), "--spawn-rate",
            str(users), "--duration", duration, "--out", str(bundle), *extra]


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def alive(processes: Sequence[psutil.Process]) -> list[psutil.Process]:
    """Those still running (zombies count as gone: they hold no resources but a table slot)."""
    living = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                living.append(process)
        except psutil.NoSuchProcess:
            continue
    return living


def kill_tree(pid: int) -> None:
    """Clean-up after a failed test: the child and everything it started (by pid, never by name)."""
    for process in [*descendants(pid), *_self_or_none(pid)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _self_or_none(pid: int) -> list[psutil.Process]:
    try:
        return [psutil.Process(pid)]
    except psutil.NoSuchProcess:
        return []


def listening_addresses(pids: Sequence[int]) -> list[tuple[int, str, int]]:
    """(pid, ip, port) of every listening TCP socket of these processes."""
    found = []
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found += [(pid, c.laddr.ip, c.laddr.port) for c in connections if c.status == psutil.CONN_LISTEN]
    return found


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def error_kinds(run: dict[str, Any]) -> dict[str, int]:
    """Failed requests by error kind, over the whole run."""
    kinds: dict[str, int] = {}
    for error in run["errors"]:
        kinds[error["kind"]] = kinds.get(error["kind"], 0) + int(error["count"])
    return kinds


def temp_files(folder: Path) -> list[Path]:
    """Leftovers of an interrupted atomic write (``.NAME.*.tmp``)."""
    return sorted(folder.rglob(".*.tmp"))


def served_requests(target: ReferenceTarget) -> float:
    """Requests the proxy has answered so far, by its own count (scrapes are not counted)."""
    with urllib.request.urlopen(f"{target.proxy_url}/metrics", timeout=5) as response:
        page = response.read().decode("utf-8")
    return sum(value for (name, _), value in samples(page).items()
               if name == "http_server_request_duration_seconds_count")


def recorded_requests(run: dict[str, Any]) -> int:
    """Requests in a run's slices; a stream's time to first byte (``#ttfb``) is the same request."""
    return sum(e[part]["count"] for s in run["slices"] for name, e in s["endpoints"].items()
               if "#" not in name for part in ("ok", "failed"))
