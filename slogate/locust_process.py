"""Runs a Locust scenario headless in a child process and returns its run bundle.

Locust runs in its own process because it monkey-patches the standard library with gevent at
import time; the command line, the reference target and the evaluation stay clear of that.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from slogate import arguments, catalog
from slogate.loadtest.options import OPTIONS
from slogate.loadtest.traffic import split_keys
from slogate.slo.redact import redact

DEFAULT_SCENARIO = catalog.DEFAULT_SCENARIO.path
LOCUST_LOG = "locust.log"
STOP_GRACE_S = 15.0
HARNESS_OPTIONS = tuple(option for option in OPTIONS if option.on_harness)


@dataclass(frozen=True)
class LoadSettings:
    host: str
    users: int
    spawn_rate: float
    duration_s: float
    scenario: Path = DEFAULT_SCENARIO
    slice_s: float = 1.0
    api_key: str | None = None
    extra_args: tuple[str, ...] = ()
    """Locust arguments of slogate's own options (:func:`harness_locust_args`)."""
    scenario_args: tuple[str, ...] = ()
    """What the user gave after ``--``: the scenario's (and Locust's) options, passed as given, last."""


def add_harness_arguments(parser: argparse.ArgumentParser) -> None:
    """The load-model, distribution and observability options of `slogate run` and `slogate demo`:
    Locust's ``--processes``, and slogate's Locust options under their short names (``--rate`` is
    ``--slogate-rate``: same parser, help and default, from ``loadtest.options``)."""
    group = parser.add_argument_group("load model and harness")
    group.add_argument("--processes", type=arguments.processes, default=None, metavar="N",
                       help="Locust worker processes on this machine (-1: one per CPU); merged losslessly")
    for option in HARNESS_OPTIONS:
        if option.is_switch:
            group.add_argument(option.harness_flag, action="store_true", help=option.help)
        else:
            # No default here: an option not given is left to Locust's side, which has the default.
            group.add_argument(option.harness_flag, type=option.argparse_type(), default=None,
                               metavar=option.metavar, help=option.help)


def harness_locust_args(args: argparse.Namespace) -> tuple[str, ...]:
    """The Locust command-line arguments for the options of :func:`add_harness_arguments`."""
    extra = ["--processes", f"{args.processes}"] if args.processes is not None else []
    for option in HARNESS_OPTIONS:
        value = getattr(args, option.name)
        if option.is_switch and value:
            extra.append(option.locust_flag)
        elif not option.is_switch and value is not None:
            extra += [option.locust_flag, f"{value}"]
    return tuple(extra)


@dataclass(frozen=True)
class LocustOutcome:
    exit_code: int
    interrupted: bool
    log_path: Path


def locust_command(settings: LoadSettings, bundle: Path, run_id: str) -> list[str]:
    command = [
        sys.executable, "-m", "locust",
        "-f", str(settings.scenario),
        "--headless", "--only-summary",
        "--host", settings.host,
        "--users", str(settings.users),
        "--spawn-rate", f"{settings.spawn_rate:g}",
        "--run-time", f"{max(1, round(settings.duration_s))}s",
        "--stop-timeout", "5",
        "--slogate-out", str(bundle),
        "--slogate-run-id", run_id,
        "--slogate-slice", f"{settings.slice_s:g}",
    ]
    if "--processes" in settings.extra_args:
        # Locust's master would listen on every interface, on a fixed port that a second run on
        # the same machine collides with: its workers are local, so loopback and a free port.
        port = str(_free_loopback_port())
        command += ["--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port]
    return [*command, *settings.extra_args, *settings.scenario_args]


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_locust(
    settings: LoadSettings,
    bundle: Path,
    run_id: str,
    *,
    progress: Callable[[str], None] = lambda line: None,
) -> LocustOutcome:
    """Run Locust to completion (or until SIGINT/SIGTERM, which it passes on to Locust)."""
    bundle.mkdir(parents=True, exist_ok=True)
    log_path = bundle / LOCUST_LOG
    secrets = known_secrets(settings.api_key)
    # The key travels in the environment, not on the command line where `ps` would show it.
    env = {**os.environ, "SLOGATE_API_KEY": settings.api_key} if settings.api_key else None
    child = subprocess.Popen(
        locust_command(settings, bundle, run_id),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=env,
        # Its own session: a Ctrl-C at the terminal reaches only us, and we pass on exactly one.
        start_new_session=True,
    )
    interrupted = threading.Event()
    with _forwarding_signals(child, interrupted), log_path.open("w", encoding="utf-8") as log:
        assert child.stdout is not None
        for line in child.stdout:
            clean = redact(line, secrets)
            log.write(clean)
            if "slogate:" in clean:
                progress(clean.rstrip("\n").rsplit("slogate: ", 1)[-1])
        exit_code = child.wait()
    return LocustOutcome(exit_code=exit_code, interrupted=interrupted.is_set(), log_path=log_path)


SECRET_VARIABLES = ("SLOGATE_API_KEY", "SLOGATE_API_KEYS")
"""Environment variables whose values the scenarios send as credentials."""


def known_secrets(api_key: str | None = None) -> tuple[str, ...]:
    """The credentials this run's scenarios may send: masked wherever their exact value appears,
    even unlabelled (a scenario that prints its key bare is caught too, not only ``x-api-key: ...``)."""
    found = [api_key] if api_key else []
    for name in SECRET_VARIABLES:
        found += split_keys(os.environ.get(name))
    # Longest first, so a key that contains another is masked whole.
    return tuple(sorted(set(found), key=len, reverse=True))


@contextlib.contextmanager
def _forwarding_signals(child: subprocess.Popen[str], interrupted: threading.Event) -> Iterator[None]:
    """Pass SIGINT/SIGTERM on to Locust so it writes its results and stops, instead of dying here."""

    def forward(signum: int, _frame: FrameType | None) -> None:
        interrupted.set()
        if child.poll() is None:
            child.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)
            killer = threading.Timer(STOP_GRACE_S, _kill_if_alive, args=(child,))
            killer.daemon = True
            killer.start()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _kill_if_alive(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
