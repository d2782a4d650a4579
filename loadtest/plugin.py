"""slogate inside Locust: wires Locust's events to the run's recorder, its workers' roster
(``workers``), the validity checks (``validity``), the bundle's checkpoints (``checkpoints``) and
the verdict (``verdict``), which becomes the process exit code. The options are ``options``'.

Importing this module from a locustfile is enough: it registers on Locust's global events, and
the work for each run happens in a :class:`SlogateSession` bound to that run's Environment, so a
test can build its own Environment and session.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.event
from locust import LoadTestShape, events
from locust.env import Environment
from locust.runners import (
    STATE_RUNNING,
    STATE_SPAWNING,
    MasterRunner,
    WorkerRunner,
)

from slogate.loadtest import open_model, recording, tracing
from slogate.loadtest.checkpoints import (
    CHECKPOINT_EVERY_S,
    RunFacts,
    checkpoint_forever,
    git_revision,
    load_model,
    run_so_far,
    slogate_version,
    write_checkpoint,
)
from slogate.loadtest.counters import counters_of
from slogate.loadtest.cpu import CpuMeter, sample_interval_s
from slogate.loadtest.early_stop import (
    LOCAL_LAG_S,
    WORKER_LAG_S,
    EarlyStop,
    check_options,
    planned_looks_of,
)
from slogate.loadtest.exporter import LiveState, LoadTestCollector, serve
from slogate.loadtest.options import DEFAULT_OUT, SlogateOptions, add_options
from slogate.loadtest.recorder import RunRecorder
from slogate.loadtest.shapes import ShapeError, ShapePlan, parse_shape
from slogate.loadtest.validity import RunValidity, not_started, ran_planned_time
from slogate.loadtest.verdict import deliver_verdict
from slogate.loadtest.workers import WorkerRoster, mark_final
from slogate.slo.bundle import check_writable, new_run_id
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract, resolve_contract
from slogate.slo.run import RunResult
from slogate.slo.spec import DERIVED_KEY_MARK, Spec
from slogate.slo.specfile.load import load_specs
from slogate.slo.specfile.problems import SpecError

logger = logging.getLogger("slogate")

PROGRESS_EVERY_S = 5.0
REPORT_KEY = "slogate"
FINAL_REPORTS_WAIT_S = 3.0
"""How long a quitting master waits for its workers' last reports beyond --stop-timeout (they come
in milliseconds once the users have stopped)."""
_STATUS_TEXT = {code: str(code) for code in range(100, 600)}
POOL_USERS_OPTION = "slogate_pool_users"
"""Set by the master so each worker knows its share of an open-model rate (its users / all users)."""


events.init_command_line_parser.add_listener(add_options)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    SlogateSession(environment).attach()


class SlogateSession:
    """One run's recording, wired to one Locust Environment: Locust's events call the recorder,
    the workers' roster, the validity checks, the checkpoints and the verdict."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.options = options = SlogateOptions.read(environment.parsed_options)
        secrets = (options.api_key,) if options.api_key else ()
        self.recorder = RunRecorder(slice_s=options.slice, secrets=secrets)
        recording.bind(environment, self.recorder)
        # The scenario's totals (tokens, cache results), merged from every worker, go into run.json.
        self.counters = counters_of(environment)
        self.run_id = options.run_id or new_run_id()
        self.bundle = Path(options.out) if options.out else Path(DEFAULT_OUT) / self.run_id
        self.spec: Spec | None = None
        if options.spec:
            try:
                self.spec = load_specs(options.spec.split(os.pathsep), contract=_contract(options))
            except SpecError as exc:
                logger.error("slogate: %s", exc)
                raise SystemExit(2) from None
            if options.warmup is not None:
                self.spec = dataclasses.replace(self.spec, warmup_s=options.warmup)
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.revision = git_revision()
        self._greenlets: list[gevent.Greenlet] = []
        self._cpu_meter: CpuMeter | None = None
        self._cpu_greenlet: gevent.Greenlet | None = None
        self.validity = RunValidity(self.recorder, accept_saturated=options.accept_saturated)
        self.workers = WorkerRoster(self.recorder)
        self._finals_collected: gevent.event.Event | None = None
        self.shape_description: dict[str, Any] | None = None
        self.shape_plan: ShapePlan | None = None
        self.early_stop: EarlyStop | None = None
        self.schedule = self._arrival_schedule()
        self.dispatcher: open_model.ArrivalDispatcher | None = None
        if not options.no_traceparent:
            tracing.enable()
        if options.otlp_endpoint:
            try:
                tracing.configure_otlp(options.otlp_endpoint)
            except ImportError:
                logger.error("slogate: --slogate-otlp-endpoint needs opentelemetry-exporter-otlp-proto-http "
                             "(pip install opentelemetry-exporter-otlp-proto-http)")
                raise SystemExit(2) from None

    def _arrival_schedule(self) -> open_model.ArrivalSchedule | None:
        options = self.options
        if options.rate is None:
            return None
        ramp = options.rate_ramp if options.rate_ramp is not None else float(options.run_time_s or 0)
        return open_model.ArrivalSchedule(options.rate, options.rate_to, ramp, options.arrivals)

    @property
    def is_worker(self) -> bool:
        return isinstance(self.environment.runner, WorkerRunner)

    @property
    def is_master(self) -> bool:
        return isinstance(self.environment.runner, MasterRunner)

    @property
    def process_name(self) -> str:
        """This process among the run's load generators: 'local', 'master' or the worker's id."""
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner):
            return str(runner.client_id)
        return "master" if isinstance(runner, MasterRunner) else "local"

    def attach(self) -> None:
        hooks = self.environment.events
        hooks.quitting.add_listener(lambda **_: tracing.shutdown())
        if not self.is_master:
            self._install_open_model()
        if self.is_worker and self.schedule is None:
            # A worker started with `--worker` alone (on another machine, in a Kubernetes pod) would
            # otherwise run an open-model test closed-loop: it learns the arrival rate from the
            # master's options, which reach it with the first spawn, before any user starts.
            hooks.test_start.add_listener(self._adopt_masters_open_model)
        hooks.test_start.add_listener(lambda **_: self._start_cpu_meter())
        if self.is_worker:
            # Now too: the master's first spawn can reach a worker (and fire test_start) before
            # Locust fires init; the idle time before the test only counts as little CPU.
            self._start_cpu_meter()
            hooks.request.add_listener(self.on_request)
            hooks.report_to_master.add_listener(self.on_report_to_master)
            hooks.test_stop.add_listener(self.on_test_stop)
            return
        self._install_shape()
        self._install_early_stop()
        try:
            check_writable(self.bundle)
        except OSError as exc:
            logger.error("slogate: cannot write results to %s: %s", self.bundle, exc.strerror or exc)
            raise SystemExit(2) from None
        parsed = self.environment.parsed_options
        if self.is_master and parsed is not None:
            # Sent to the workers with the master's options at each spawn.
            setattr(parsed, POOL_USERS_OPTION, self.options.users or 1)
            if self.options.rate_to is not None and self.options.rate_ramp is None:
                # A worker has no run time of its own (Locust keeps it on the master): the ramp's length.
                parsed.slogate_rate_ramp = float(self.options.run_time_s or 0)
        if isinstance(self.environment.runner, MasterRunner):
            self._quit_after_final_reports(self.environment.runner)
        if not self.is_master:
            hooks.request.add_listener(self.on_request)
        hooks.worker_report.add_listener(self.on_worker_report)
        hooks.test_start.add_listener(self.on_test_start)
        hooks.test_stop.add_listener(self.on_test_stop)
        hooks.quitting.add_listener(self.on_quitting)
        if self.options.metrics_port is not None:
            self._serve_metrics(self.options.metrics_port, self.options.metrics_host)

    def _install_shape(self) -> None:
        options = self.options
        if not options.shape:
            return
        if self.schedule is not None:
            logger.error("slogate: --slogate-shape is for the closed model; the open model ramps with "
                         "--slogate-rate-to")
            raise SystemExit(2)
        try:
            plan = parse_shape(options.shape, users=int(options.users or 1), duration_s=options.run_time_s)
        except ShapeError as exc:
            logger.error("slogate: --slogate-shape: %s", exc)
            raise SystemExit(2) from None
        shape = PlannedShape(plan, float(options.spawn_rate or 1.0))
        shape.runner = self.environment.runner
        self.environment.shape_class = shape
        self.shape_description = plan.describe()
        self.shape_plan = plan

    def _install_early_stop(self) -> None:
        """--slogate-until-decided: the looks planned now, so a bad combination stops Locust first."""
        options = self.options
        try:
            check_options(options)
            if not options.until_decided:
                return
            looks = planned_looks_of(options, self.spec, self.shape_plan, CHECKPOINT_EVERY_S)
        except ValueError as exc:
            logger.error("slogate: %s", exc)
            raise SystemExit(2) from None
        assert self.spec is not None  # planned_looks_of refuses a run without one

        def stop() -> None:
            # Quit as --run-time does (the master's quit collects its workers' last reports first).
            runner = self.environment.runner
            if runner is not None:
                gevent.spawn(runner.quit)

        self.early_stop = EarlyStop(self.spec, looks, lag_s=WORKER_LAG_S if self.is_master else LOCAL_LAG_S,
                                    stop=stop)

    def _install_open_model(self) -> None:
        if self.schedule is None:
            return
        environment = self.environment
        runner = environment.runner

        def share() -> float:
            if not self.is_worker or runner is None:
                return 1.0
            # Read when asked: the master's value arrives with its spawn message.
            pool = getattr(environment.parsed_options, POOL_USERS_OPTION, None) or runner.user_count or 1
            return min(1.0, runner.user_count / float(pool))

        self.dispatcher = open_model.ArrivalDispatcher(
            self.schedule,
            share=share,
            on_late=lambda intended: self.recorder.dispatched(intended, late=True),
            on_dropped=lambda intended: self.recorder.dispatched(intended, dropped=True),
            max_lag_s=self.options.max_lag,
        )
        open_model.install(environment.user_classes, self.dispatcher)
        environment.events.test_start.add_listener(lambda **_: self._start_dispatcher())

    def _adopt_masters_open_model(self, **_: Any) -> None:
        """test_start on a worker: the master's open-model options (they arrived with the spawn)."""
        masters = SlogateOptions.read(self.environment.parsed_options)
        if self.schedule is not None or masters.rate is None:
            return
        self.options = dataclasses.replace(
            self.options, rate=masters.rate, rate_to=masters.rate_to, rate_ramp=masters.rate_ramp,
            arrivals=masters.arrivals, max_lag=masters.max_lag)
        self.schedule = self._arrival_schedule()
        self._install_open_model()
        self._start_dispatcher()  # test_start is being fired: its listener may come too late

    def _start_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.start()

    def _serve_metrics(self, port: int, host: str) -> None:
        runner = self.environment.runner

        def target_users() -> int | None:
            shape = self.environment.shape_class
            if isinstance(shape, PlannedShape) and self.started_at is not None:
                return shape.plan.users_at(time.time() - self.started_at) or 0
            return int(self.options.users) if self.options.users else None

        live = LiveState(
            users=lambda: runner.user_count if runner is not None else 0,
            target_users=target_users,
            target_rate=self._target_rate_now,
            cpu_by_process=self._cpu_by_process,
        )
        try:
            server = serve(LoadTestCollector(self.recorder, live), port, host)
        except OSError as exc:
            logger.error("slogate: cannot serve metrics on %s:%s: %s", host, port, exc)
            raise SystemExit(2) from None
        logger.info("slogate: metrics on http://%s:%d/metrics", host, server.server_port)

    def _target_rate_now(self) -> float | None:
        if self.schedule is None:
            return None
        elapsed = time.time() - self.started_at if self.started_at is not None else 0.0
        return self.schedule.rate_at(elapsed)

    def _cpu_by_process(self) -> dict[str, float]:
        """Each process's latest CPU sample (a worker's: its latest report); this one's, now."""
        latest = {process: cpu.cpu_percent for process, cpu in self.recorder.cpu_now.items()}
        if self._cpu_meter is not None:
            latest[self.process_name] = round(self._cpu_meter.peek(), 1)
        return latest

    # -- the generator's own CPU ---------------------------------------------------------

    def _start_cpu_meter(self) -> None:
        """Every process measures its own CPU from the test's start (a worker's reaches the master
        with its reports); slogate's, not Locust's monitor (10 s apart, a first reading of 0)."""
        if self._cpu_greenlet is None:
            self._cpu_meter = CpuMeter()
            self._cpu_greenlet = gevent.spawn(self._measure_cpu_forever)

    def _measure_cpu_forever(self) -> None:
        interval = sample_interval_s(self.recorder.slice_s)
        while True:
            gevent.sleep(interval - time.time() % interval)  # on the slices' grid: one slice a sample
            self._read_cpu(interval)

    def _read_cpu(self, interval: float) -> None:
        meter = self._cpu_meter
        # A reading over a few ms is all rounding (CPU time counts in 10 ms ticks): wait for more.
        if meter is not None and time.time() - meter.last_at >= interval / 2:
            self.recorder.process_cpu(self.process_name, *meter.read())

    def _stop_cpu_meter(self) -> None:
        """The last part of the run measured too (a spike in its last second counts); then stop."""
        if self._cpu_greenlet is not None:
            self._cpu_greenlet.kill(block=False)
            self._cpu_greenlet = None
            self._read_cpu(sample_interval_s(self.recorder.slice_s))

    # -- listeners -----------------------------------------------------------------------

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response: Any = None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        context: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        # Once per request of the run: kept to plain operations (see benchmarks/generator_efficiency.py).
        code = getattr(response, "status_code", None) or 0
        status = _STATUS_TEXT.get(code) or (str(code) if code else "none")
        rate_limited = bool(context.get("rate_limited")) if context else False
        error = None
        if exception is not None and not rate_limited:
            kind = f"HTTP {code}" if code >= 400 else type(exception).__name__
            error = (kind, str(exception))
        started = start_time if start_time is not None else time.time() - response_time / 1e3
        latency_us = response_time * 1e3
        if self.dispatcher is not None:
            intended = self.dispatcher.claim_intended()
            if intended is not None and intended <= started:
                # Open model: the iteration's first request counts from when it should have been sent.
                latency_us += (started - intended) * 1e6
                started = intended
        recorder = self.recorder
        # Only a request the recorder keeps among the slowest needs its trace id.
        slow = latency_us > recorder.slowest_floor_us
        recorder.record(f"{request_type} {name}", started, latency_us, status, error,
                        rate_limited=rate_limited,
                        trace_id=tracing.sent_trace_id(response, exception) if slow else None)

    def on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        data[REPORT_KEY] = self.recorder.drain()
        runner = self.environment.runner
        mark_final(data, runner)

    def on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if REPORT_KEY in data:
            self.recorder.absorb(data[REPORT_KEY])
        self.workers.reported(client_id, data)

    def on_test_start(self, **_: Any) -> None:
        if self.started_at is None:
            self.started_at = time.time()
            self._greenlets += [gevent.spawn(self._sample_forever),
                                gevent.spawn(checkpoint_forever, self.recorder, self.bundle, self.run_facts)]
            if self.early_stop is not None:
                self._greenlets.append(gevent.spawn(
                    self.early_stop.watch, self.started_at,
                    lambda: run_so_far(self.recorder, self.run_facts(), complete=False)))
            logger.info("slogate: recording run %s into %s", self.run_id, self.bundle)

    def on_test_stop(self, **_: Any) -> None:
        self._stop_cpu_meter()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        runner = self.environment.runner
        if isinstance(runner, MasterRunner) and self.ended_at is None:
            # A worker that went missing just before the stop must not escape the sampler's tick.
            self._watch_workers(runner)
        if self.started_at is not None and self.ended_at is None:
            self.ended_at = time.time()

    def on_quitting(self, environment: Environment, **_: Any) -> None:
        runner = environment.runner
        interrupted = runner is not None and runner.state in (STATE_RUNNING, STATE_SPAWNING)
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        if isinstance(runner, MasterRunner):
            self._collect_final_reports(runner)  # interrupted: Locust's own quit comes after this
        if self.started_at is None:
            if self.spec is None:
                return
            # Quitting before the test started (every worker quit or went missing first): a gate
            # must still say so, never leave Locust's exit code (0 without failures) as the verdict.
            self.started_at = self.ended_at = time.time()
            self.validity.flag(not_started())
        elapsed = (self.ended_at or time.time()) - self.started_at
        self.validity.check_end(
            wanted_users=self.options.users, shaped=environment.shape_class is not None,
            schedule=self.schedule, elapsed_s=elapsed, max_lag_s=self.options.max_lag,
        )
        stopped_early = self.early_stop is not None and self.early_stop.stopped_early
        whole = stopped_early or ran_planned_time(self.options.run_time_s, elapsed)
        run = self.write_checkpoint(complete=not interrupted and whole)
        if self.spec is not None:
            environment.process_exit_code = int(deliver_verdict(self.spec, run, self.bundle).exit_code)

    # -- the run's facts and the master's workers ----------------------------------------

    def run_facts(self) -> RunFacts:
        """What run.json says about the run as of now (ended now, if it has not ended yet)."""
        assert self.started_at is not None
        shape_class = self.environment.shape_class
        return RunFacts(
            run_id=self.run_id,
            target=self.environment.host or "",
            scenario=os.path.basename(self.options.locustfile),
            load_model=load_model(
                self.options, self.schedule, shape=self.shape_description,
                shape_class=type(shape_class).__name__ if shape_class is not None else None,
                accepted=self.validity.accepted,
            ),
            started_at=self.started_at,
            ended_at=self.ended_at or time.time(),
            git_revision=self.revision,
            slogate_version=slogate_version(),
            counters=self.counters.totals,
            until_decided=self.early_stop.record if self.early_stop is not None else None,
        )

    def write_checkpoint(self, *, complete: bool) -> RunResult:
        return write_checkpoint(self.recorder, self.bundle, self.run_facts(), complete=complete)

    def _quit_after_final_reports(self, runner: MasterRunner) -> None:
        """Make the master's quit collect every worker's final report first.

        Locust's quit tells the workers to quit and gives their last reports half a second, and
        its SIGINT/SIGTERM shutdown writes results (``quitting``) before even that. A worker
        killed in the last seconds of a run is not yet "missing" (that takes several missed
        heartbeats), so without a final report it would look healthy while its share of the load
        was never sent. Runner.quit has no event, so it is wrapped on this one runner.
        """
        locust_quit = runner.quit

        def quit_after_final_reports() -> None:
            gave_up = (self.started_at is None and self.spec is not None
                       and self.environment.process_exit_code is None)
            if gave_up:
                # No test and no shutdown before: Locust gave up waiting for its workers
                # (--expect-workers-max-wait) and is about to exit 1, which a pipeline would read
                # as "SLO failed". Say what happened, in the bundle too, and exit inconclusive.
                logger.error("slogate: the workers never connected: no load was sent")
                self.on_quitting(self.environment)
            self._collect_final_reports(runner)
            locust_quit()
            if gave_up:
                raise SystemExit(self.environment.process_exit_code)

        setattr(runner, "quit", quit_after_final_reports)  # noqa: B010 (mypy: methods are read-only)

    def _collect_final_reports(self, runner: MasterRunner) -> None:
        """Stop the workers now and wait for each one's last report; one that sends none is lost.

        Done once; a later caller (Locust quits again from its message loop when the last worker
        leaves, then from its shutdown) waits for that one, so the bundle is written after it.
        """
        if self.started_at is None:
            return
        # A worker lets its users finish for --stop-timeout before it sends its last report.
        wait_s = FINAL_REPORTS_WAIT_S + float(self.environment.stop_timeout or 0.0)
        if self._finals_collected is not None:
            self._finals_collected.wait(wait_s + 1.0)
            return
        self._finals_collected = gevent.event.Event()
        try:
            if self.ended_at is None:
                self._watch_workers(runner)  # while still running: missing or gone workers are lost
                self.ended_at = time.time()  # the end; workers leaving from now on are not lost
            self.workers.collect_final_reports(runner, wait_s)
        finally:
            self._finals_collected.set()

    def _watch_workers(self, runner: MasterRunner) -> None:
        self.workers.watch(runner, running=self.started_at is not None and self.ended_at is None)

    def _sample_forever(self) -> None:
        runner = self.environment.runner
        next_progress = time.time() + PROGRESS_EVERY_S
        while runner is not None:
            if isinstance(runner, MasterRunner):
                self._watch_workers(runner)
            now = time.time()
            self.recorder.sample(now, runner.user_count, self._target_rate_now())
            if now >= next_progress:
                next_progress += PROGRESS_EVERY_S
                self._log_progress(now, runner.user_count, max(self._cpu_by_process().values(), default=0.0))
            gevent.sleep(min(1.0, self.options.slice))

    def _log_progress(self, now: float, users: int, cpu: float) -> None:
        # Locust's own stats are only shown for progress; verdicts come from the recorder.
        # Derived series ('#probe', '#ttft', ...) are not requests of their own: left out of the counts.
        entries = [entry for (name, _), entry in self.environment.stats.entries.items()
                   if DERIVED_KEY_MARK not in name]
        elapsed = now - (self.started_at or now)
        logger.info(
            "slogate: %3.0fs users=%d requests=%d failures=%d rps=%.0f generator_cpu=%.0f%%",
            elapsed, users, sum(entry.num_requests for entry in entries),
            sum(entry.num_failures for entry in entries),
            sum(entry.current_rps for entry in entries), cpu,
        )
        if self.early_stop is not None:
            logger.info("slogate: %s", self.early_stop.progress)


# Locust's side of a shape lives here, so loadtest.shapes stays free of Locust (and of gevent's
# patching) for tools and tests that only plan.
class PlannedShape(LoadTestShape):
    """Locust's view of a ShapePlan: tick() gives (users, spawn rate) until the plan ends."""

    use_common_options = True

    def __init__(self, plan: ShapePlan, spawn_rate: float) -> None:
        super().__init__()
        self.plan = plan
        self.spawn_rate = spawn_rate

    def tick(self) -> tuple[int, float] | None:
        users = self.plan.users_at(self.get_run_time())
        if users is None:
            return None
        # A ramp must be able to add its users as fast as the plan asks.
        ramp = self.plan.params.get("ramp", 0.0)
        rate = max(self.spawn_rate, self.plan.users / ramp if ramp > 0 else self.spawn_rate)
        return users, rate


def _contract(options: SlogateOptions) -> MetricContract:
    """The ``--slogate-contract`` the spec is read under (a file, relative to where Locust runs,
    wins over a preset of that name); the default contract when none is given."""
    if options.contract is None:
        return DEFAULT_CONTRACT
    try:
        return resolve_contract(options.contract, Path.cwd())
    except ValueError as exc:
        logger.error("slogate: --slogate-contract: %s", exc)
        raise SystemExit(2) from None
