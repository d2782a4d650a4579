"""slogate inside Locust: command-line options, the recorder's listeners, worker→master merging,
checkpoints of the run bundle, and the verdict as the process exit code.

Importing this module from a locustfile is enough: it registers on Locust's global events, and
the work for each run happens in a :class:`SlogateSession` bound to that run's Environment, so a
test can build its own Environment and session.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from loadtest.recorder import RunRecorder
from slo.bundle import EVALUATION_FILE, RUN_FILE, write_json
from slo.evaluator import evaluate
from slo.loader import SpecError, load_spec
from slo.spec import Spec

logger = logging.getLogger("slogate")

CHECKPOINT_EVERY_S = 5.0
"""How often the bundle's run.json is rewritten while the run goes on (an interrupted run keeps it)."""
PROGRESS_EVERY_S = 5.0
CPU_SATURATED_PERCENT = 90.0
REPORT_KEY = "slogate"
DEFAULT_OUT = "out/runs"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


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


@events.init_command_line_parser.add_listener
def add_options(parser: Any, **_: Any) -> None:
    group = parser.add_argument_group("slogate", "Record the run and gate it on an SLO spec")
    group.add_argument("--slogate-out", metavar="DIR", default=None,
                       help=f"Run bundle folder (default: {DEFAULT_OUT}/<run-id>)")
    group.add_argument("--slogate-run-id", metavar="ID", default=None, help="Run id")
    group.add_argument("--slogate-spec", metavar="FILE", default=None,
                       help="SLO spec: judge the run at the end; the verdict is the exit code")
    group.add_argument("--slogate-slice", metavar="SECONDS", type=float, default=1.0,
                       help="Width of a time slice of the recorded histograms (default 1)")
    group.add_argument("--slogate-api-key", metavar="KEY", default=None,
                       env_var="SLOGATE_API_KEY",
                       help="API key the scenarios send (masked everywhere slogate writes)")


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    SlogateSession(environment).attach()


class SlogateSession:
    """One run's recording, wired to one Locust Environment (the composition root of a run)."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        options = environment.parsed_options
        self.slice_s = float(getattr(options, "slogate_slice", 1.0) or 1.0)
        api_key = getattr(options, "slogate_api_key", None)
        self.recorder = RunRecorder(slice_s=self.slice_s, secrets=(api_key,) if api_key else ())
        self.run_id = getattr(options, "slogate_run_id", None) or new_run_id()
        out = getattr(options, "slogate_out", None)
        self.bundle = Path(out) if out else Path(DEFAULT_OUT) / self.run_id
        spec_path = getattr(options, "slogate_spec", None)
        self.spec: Spec | None = None
        if spec_path:
            try:
                self.spec = load_spec(spec_path)
            except SpecError as exc:
                logger.error("slogate: %s", exc)
                raise SystemExit(2) from None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.revision = git_revision()
        self._greenlets: list[gevent.Greenlet] = []

    @property
    def is_worker(self) -> bool:
        return isinstance(self.environment.runner, WorkerRunner)

    @property
    def is_master(self) -> bool:
        return isinstance(self.environment.runner, MasterRunner)

    def attach(self) -> None:
        hooks = self.environment.events
        if self.is_worker:
            hooks.request.add_listener(self.on_request)
            hooks.report_to_master.add_listener(self.on_report_to_master)
            return
        if not self.is_master:
            hooks.request.add_listener(self.on_request)
        hooks.worker_report.add_listener(self.on_worker_report)
        hooks.test_start.add_listener(self.on_test_start)
        hooks.test_stop.add_listener(self.on_test_stop)
        hooks.cpu_warning.add_listener(self.on_cpu_warning)
        hooks.quitting.add_listener(self.on_quitting)

    # -- listeners -----------------------------------------------------------------------

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response: Any = None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        code = getattr(response, "status_code", None) or 0
        status = str(code) if code else "none"
        error = None
        if exception is not None:
            kind = f"HTTP {code}" if code >= 400 else type(exception).__name__
            error = (kind, str(exception))
        started = start_time if start_time is not None else time.time() - response_time / 1e3
        self.recorder.record(f"{request_type} {name}", started, response_time * 1e3, status, error)

    def on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        data[REPORT_KEY] = self.recorder.drain()

    def on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if REPORT_KEY in data:
            self.recorder.absorb(data[REPORT_KEY])

    def on_test_start(self, **_: Any) -> None:
        if self.started_at is None:
            self.started_at = time.time()
            self._greenlets.append(gevent.spawn(self._sample_forever))
            self._greenlets.append(gevent.spawn(self._checkpoint_forever))
            logger.info("slogate: recording run %s into %s", self.run_id, self.bundle)

    def on_test_stop(self, **_: Any) -> None:
        if self.started_at is not None and self.ended_at is None:
            self.ended_at = time.time()

    def on_cpu_warning(self, cpu_usage: float, **_: Any) -> None:
        self._flag_saturated(cpu_usage)

    def on_quitting(self, environment: Environment, **_: Any) -> None:
        runner = environment.runner
        interrupted = runner is not None and runner.state in (STATE_RUNNING, STATE_SPAWNING)
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        if self.started_at is None:
            return
        if self.is_master and getattr(runner, "worker_cpu_warning_emitted", False):
            self._flag_saturated(None)
        self._check_users_reached()
        run = self.write_checkpoint(complete=not interrupted and self._ran_planned_time())
        if self.spec is not None:
            evaluation = evaluate(self.spec, run)
            write_json(self.bundle / EVALUATION_FILE, evaluation.to_dict())
            logger.info("slogate: verdict %s (%s)", evaluation.verdict, "; ".join(evaluation.reasons))
            environment.process_exit_code = int(evaluation.exit_code)

    # -- the work ------------------------------------------------------------------------

    def write_checkpoint(self, *, complete: bool) -> Any:
        assert self.started_at is not None
        ended = self.ended_at or time.time()
        options = self.environment.parsed_options
        run = self.recorder.result(
            run_id=self.run_id,
            target=self.environment.host or "",
            scenario=os.path.basename(str(getattr(options, "locustfile", "") or "")),
            load_model=self._load_model(),
            started_at=self.started_at,
            ended_at=ended,
            complete=complete,
            git_revision=self.revision,
            slogate_version=slogate_version(),
        )
        write_json(self.bundle / RUN_FILE, run.to_dict())
        return run

    def _load_model(self) -> dict[str, Any]:
        options = self.environment.parsed_options
        model: dict[str, Any] = {"model": "closed"}
        for key in ("num_users", "spawn_rate", "run_time", "processes"):
            value = getattr(options, key, None)
            if value is not None:
                model[{"num_users": "users", "run_time": "run_time_s"}.get(key, key)] = value
        if self.environment.shape_class is not None:
            model["shape"] = type(self.environment.shape_class).__name__
        return model

    def _ran_planned_time(self) -> bool:
        planned = getattr(self.environment.parsed_options, "run_time", None)
        if not planned or self.started_at is None:
            return True
        elapsed = (self.ended_at or time.time()) - self.started_at
        return elapsed >= float(planned) - 1.0

    def _flag_saturated(self, cpu_usage: float | None) -> None:
        where = f" at {cpu_usage:.0f}%" if cpu_usage is not None else ""
        self.recorder.flag(
            "generator_saturated",
            f"load generator CPU{where} over {CPU_SATURATED_PERCENT:.0f}%: measured latency "
            "includes the generator's own queueing; add processes or lower the load",
        )

    def _check_users_reached(self) -> None:
        wanted = getattr(self.environment.parsed_options, "num_users", None)
        if not wanted or self.environment.shape_class is not None:
            return
        reached = max((s.users for s in self.recorder.samples.values()), default=0)
        if reached < int(wanted):
            self.recorder.flag(
                "users_not_reached",
                f"only {reached} of {wanted} users ran: raise the spawn rate or the duration",
            )

    def _sample_forever(self) -> None:
        runner = self.environment.runner
        next_progress = time.time() + PROGRESS_EVERY_S
        while runner is not None:
            cpu = runner.current_cpu_usage
            if isinstance(runner, MasterRunner):
                cpu = max([cpu, *(c.cpu_usage for c in runner.clients.values())])
            now = time.time()
            self.recorder.sample(now, runner.user_count, cpu)
            if now >= next_progress:
                next_progress += PROGRESS_EVERY_S
                self._log_progress(now, runner.user_count, cpu)
            gevent.sleep(min(1.0, self.slice_s))

    def _log_progress(self, now: float, users: int, cpu: float) -> None:
        # Locust's own stats are only shown for progress; verdicts come from the recorder.
        total = self.environment.stats.total
        elapsed = now - (self.started_at or now)
        logger.info(
            "slogate: %3.0fs users=%d requests=%d failures=%d rps=%.0f generator_cpu=%.0f%%",
            elapsed, users, total.num_requests, total.num_failures,
            total.current_rps, cpu,
        )

    def _checkpoint_forever(self) -> None:
        while True:
            gevent.sleep(CHECKPOINT_EVERY_S)
            try:
                self.write_checkpoint(complete=False)
            except OSError as exc:
                logger.error("slogate: cannot write %s: %s", self.bundle / RUN_FILE, exc)
