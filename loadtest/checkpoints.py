"""The run bundle's run.json, written from the recorder: every few seconds while the run goes on
(an interrupted run keeps what it measured) and once at the end."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import gevent

from slogate.loadtest.open_model import ArrivalSchedule
from slogate.loadtest.options import SlogateOptions
from slogate.loadtest.recorder import RunRecorder
from slogate.slo.bundle import RUN_FILE, write_run
from slogate.slo.run import RunResult, UntilDecided

logger = logging.getLogger("slogate")

CHECKPOINT_EVERY_S = 5.0
"""How often the bundle's run.json is rewritten while the run goes on (an interrupted run keeps it)."""


def git_revision() -> str | None:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = completed.stdout.strip()
    return revision if completed.returncode == 0 and revision else None


def slogate_version() -> str:
    try:
        return metadata.version("slogate")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class RunFacts:
    """What run.json says about a run besides what the recorder measured, as of one checkpoint."""

    run_id: str
    target: str
    scenario: str
    load_model: dict[str, Any]
    started_at: float
    ended_at: float
    git_revision: str | None
    slogate_version: str
    counters: Mapping[str, int]
    until_decided: UntilDecided | None = None
    """``--until-decided``: the look whose verdict stands, as of now (``loadtest.early_stop``)."""


def write_checkpoint(recorder: RunRecorder, bundle: Path, facts: RunFacts, *, complete: bool) -> RunResult:
    """The run so far, written to the bundle's run.json, and returned."""
    run = run_so_far(recorder, facts, complete=complete)
    write_run(bundle / RUN_FILE, run)
    return run


def run_so_far(recorder: RunRecorder, facts: RunFacts, *, complete: bool) -> RunResult:
    """The run as the recorder holds it now, with ``facts``."""
    run = recorder.result(
        run_id=facts.run_id,
        target=facts.target,
        scenario=facts.scenario,
        load_model=facts.load_model,
        started_at=facts.started_at,
        ended_at=facts.ended_at,
        complete=complete,
        git_revision=facts.git_revision,
        slogate_version=facts.slogate_version,
        counters=facts.counters,
    )
    return run if facts.until_decided is None else replace(run, until_decided=facts.until_decided)


def checkpoint_forever(recorder: RunRecorder, bundle: Path, facts: Callable[[], RunFacts]) -> None:
    """A greenlet's work: an incomplete run.json every CHECKPOINT_EVERY_S, until killed."""
    while True:
        gevent.sleep(CHECKPOINT_EVERY_S)
        # Slices older than a few seconds are closed (workers report every 3 s): pack them.
        recorder.compact(time.time() - 2 * CHECKPOINT_EVERY_S)
        try:
            write_checkpoint(recorder, bundle, facts(), complete=False)
        except OSError as exc:
            logger.error("slogate: cannot write %s: %s", bundle / RUN_FILE, exc)


def load_model(
    options: SlogateOptions,
    schedule: ArrivalSchedule | None,
    *,
    shape: dict[str, Any] | None,
    shape_class: str | None,
    accepted: Mapping[str, str],
) -> dict[str, Any]:
    """run.json's ``load_model``: the load asked for (users or arrival rate, a shape: planned by
    ``--slogate-shape`` or a locustfile's own class) and the problems the user accepted."""
    model: dict[str, Any] = {"model": "closed" if schedule is None else "open"}
    asked = (("users", options.users), ("spawn_rate", options.spawn_rate),
             ("run_time_s", options.run_time_s), ("processes", options.processes))
    model |= {key: value for key, value in asked if value is not None}
    if schedule is not None:
        model |= schedule.describe()
        model["max_lag_s"] = options.max_lag
    if shape is not None:
        model |= shape
    elif shape_class is not None:
        model["shape"] = shape_class
    if accepted:
        model["accepted"] = dict(accepted)
    return model
