"""The reference target as a child process: ``with ReferenceTarget(...) as target: target.proxy_url``.

The child is ``python -m slogate.target`` with flags from the config. It reports readiness with
one JSON line on stdout, and stops on SIGTERM, or by itself when its stdin closes (so it does not
outlive a parent that was killed).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from slogate.target.cli import config_to_args
from slogate.target.server import TargetConfig

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_EOF = None


class ReferenceTarget:
    """Start the reference target in a child process, and stop it (no orphan) on exit.

    ``ReferenceTarget(TargetConfig(...))`` or ``ReferenceTarget(faults=FaultConfig(...))``: keyword
    arguments override fields of the config.
    """

    def __init__(
        self,
        config: TargetConfig | None = None,
        *,
        startup_timeout_s: float = 20.0,
        stop_timeout_s: float = 5.0,
        **overrides: Any,
    ) -> None:
        base = config if config is not None else TargetConfig()
        self.config = replace(base, **overrides) if overrides else base
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.proxy_url = ""
        self.upstream_url = ""
        self.pid = 0
        self.returncode: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stdout: list[str] = []
        self._reader: threading.Thread | None = None

    @property
    def command(self) -> list[str]:
        args = config_to_args(self.config)
        return [sys.executable, "-m", "slogate.target", *args, "--exit-on-stdin-eof"]

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> ReferenceTarget:
        """Start the child and wait for its ready line; RuntimeError (with its stderr) if not."""
        if self._proc is not None:
            raise RuntimeError("the reference target is already started")
        env = dict(os.environ)
        paths = [str(_PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        # Append mode: reading it here must not move the child's write position.
        self._stderr = tempfile.TemporaryFile(mode="a+b")  # noqa: SIM115 (closed in __exit__)
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self.pid = self._proc.pid
        self._reader = threading.Thread(
            target=self._read_stdout, args=(self._proc,), name="reference-target-stdout", daemon=True
        )
        self._reader.start()
        try:
            ready = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.proxy_url = str(ready["proxy_url"])
        self.upstream_url = str(ready["upstream_url"])
        return self

    def _read_stdout(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self._stdout.append(line)
                self._lines.put(line)
        self._lines.put(_EOF)

    def _wait_ready(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise queue.Empty
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                raise RuntimeError(
                    f"the reference target was not ready within {self.startup_timeout_s:g}s; "
                    f"stderr:\n{self.stderr_text()}"
                ) from None
            if line is _EOF:
                code = self._proc.wait(timeout=self.stop_timeout_s) if self._proc else None
                raise RuntimeError(
                    f"the reference target exited with code {code} before it was ready; "
                    f"stderr:\n{self.stderr_text()}"
                )
            try:
                ready = json.loads(line)
            except json.JSONDecodeError:
                continue  # not the ready line
            if isinstance(ready, dict) and "proxy_url" in ready and "upstream_url" in ready:
                return ready

    def stop(self) -> int | None:
        """SIGTERM, wait, then SIGKILL; returns the child's exit code (idempotent)."""
        proc = self._proc
        if proc is None:
            return self.returncode
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if self._reader is not None:
            self._reader.join(timeout=self.stop_timeout_s)
        if proc.stdout is not None:
            proc.stdout.close()
        self.returncode = proc.returncode
        return self.returncode

    def stdout_text(self) -> str:
        """Everything the child wrote on stdout so far (the ready line, normally nothing else)."""
        return "\n".join(self._stdout)

    def stderr_text(self) -> str:
        """Everything the child wrote on stderr so far."""
        if self._stderr is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.flush()
            self._stderr.seek(0)
            return self._stderr.read().decode("utf-8", "replace")
        return ""

    def __enter__(self) -> ReferenceTarget:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
