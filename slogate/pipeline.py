"""The composition root: wires spec, load run, evaluator, Prometheus, reports, dashboards and rules
for each command. The command line (``cli``) parses, calls one function here, prints the result
(``console``) and exits with its code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from slogate import alerts, dashboards, reports
from slogate.locust_process import LoadSettings, LocustOutcome, run_locust, tail
from slogate.slo.baseline import DEFAULT_TOLERANCE, compare
from slogate.slo.bundle import EVALUATION_FILE, RUN_FILE, BundleError, file_stem, read_run, write_evaluation
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.evaluation import VERDICT_EXIT_CODES, Evaluation, ExitCode, combined_verdict
from slogate.slo.evaluator import evaluate
from slogate.slo.prometheus_source import PrometheusClient, evaluate_prometheus
from slogate.slo.run import RunResult
from slogate.slo.spec import Spec


class RunFailedError(Exception):
    """Locust ended without leaving a run (it could not start, or died before the first checkpoint)."""

    def __init__(self, message: str, locust_exit_code: int | None = None) -> None:
        super().__init__(message)
        self.locust_exit_code = locust_exit_code
        """2 when Locust or slogate's plugin refused its options: bad input, not a measurement."""


@dataclass(frozen=True)
class JudgedRun:
    bundle: Path
    run: RunResult
    evaluation: Evaluation
    files: tuple[Path, ...]


@dataclass(frozen=True)
class ServerGate:
    """A spec judged from the proxy's metrics in Prometheus; with a run bundle, beside the client's
    judgement of the same spec (its reports then show both sides)."""

    server: Evaluation
    client: JudgedRun | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.client is None:
            return self.server.exit_code
        # Fail closed: the gate passes only when both sides pass.
        return VERDICT_EXIT_CODES[combined_verdict(self.client.evaluation, self.server)]


def judge(
    bundle: Path, spec: Spec, *, run: RunResult | None = None, out: Path | None = None,
    baseline: RunResult | None = None, tolerance: float | None = None,
    server: Evaluation | None = None,
) -> JudgedRun:
    """Evaluate a bundle's run against ``spec`` (and ``baseline``, when given, for regressions
    beyond ``tolerance``, by default ``DEFAULT_TOLERANCE``) and render every report into ``out``
    (the bundle), with ``server`` (the same spec judged from Prometheus) beside it when given."""
    run = run if run is not None else read_run(bundle)
    evaluation = evaluate(spec, run)
    if baseline is not None:
        evaluation = compare(evaluation, spec, run, baseline,
                             tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance)
    target = out or bundle
    files = reports.render_all(target, run, evaluation, spec_text=spec.source_text, baseline=baseline,
                               server=server)
    return JudgedRun(bundle=target, run=run, evaluation=evaluation, files=tuple(files))


def gate_prometheus(
    url: str, spec: Spec, *, bundle: Path | None = None, out: Path | None = None,
    start: float | None = None, end: float | None = None, contract: MetricContract = DEFAULT_CONTRACT,
) -> ServerGate:
    """Judge ``spec`` from the Prometheus at ``url`` over ``server_window``; with a ``bundle``, judge
    its run too and render both sides into its reports (or ``out``). Without one, the server's
    evaluation is written to ``out/evaluation.json`` when ``out`` is given.

    Raises ``PrometheusQueryError`` for a query Prometheus refuses (bad input) and
    ``PrometheusError`` when it cannot answer or holds no samples in the window.
    """
    run = read_run(bundle) if bundle is not None else None
    window_start, window_end = server_window(spec, run, start, end)
    server = evaluate_prometheus(spec, PrometheusClient(url), window_start, window_end, contract=contract)
    if bundle is None:
        if out is not None:
            write_evaluation(out / EVALUATION_FILE, server)
        return ServerGate(server)
    return ServerGate(server, judge(bundle, spec, run=run, out=out, server=server))


def server_window(
    spec: Spec, run: RunResult | None, start: float | None, end: float | None,
) -> tuple[float, float]:
    """The window (Unix seconds) to judge from Prometheus: ``start`` and ``end`` where given; else
    the run's judged part (from the end of its warm-up to its end); with no run, up to now."""
    if start is None:
        if run is None:
            raise ValueError("a server-side window needs a start or a run")
        start = run.started_at + spec.warmup_s
    if end is None:
        end = run.ended_at if run is not None else time.time()
    return start, end


def load_and_judge(
    settings: LoadSettings,
    spec: Spec,
    bundle: Path,
    run_id: str,
    *,
    progress: Callable[[str], None] = lambda line: None,
) -> tuple[JudgedRun, LocustOutcome]:
    """Run the load, then judge whatever it recorded (an interrupted run is judged as incomplete)."""
    outcome = run_locust(settings, bundle, run_id, progress=progress)
    if not (bundle / RUN_FILE).exists():
        raise RunFailedError(
            f"Locust exited with code {outcome.exit_code} before recording anything; "
            f"its log ({outcome.log_path}) ends with:\n{tail(outcome.log_path)}",
            outcome.exit_code,
        )
    try:
        run = read_run(bundle)
    except BundleError as exc:
        raise RunFailedError(str(exc)) from None
    return judge(bundle, spec, run=run), outcome


def write_observability(spec: Spec, out: Path) -> list[Path]:
    """The three dashboards under ``out/dashboards``; the Prometheus rules, their promtool tests
    and the Alertmanager inhibit rules under ``out/rules``."""
    written = list(dashboards.write_dashboards(spec, out / "dashboards"))
    written.extend(alerts.write_alert_files(spec, rules_path(spec, out)))
    return written


def rules_path(spec: Spec, out: Path) -> Path:
    """Where the rule file of ``spec`` goes under an output folder."""
    return out / "rules" / rules_file_name(spec)


def rules_file_name(spec: Spec) -> str:
    return f"{file_stem(spec.service)}.rules.yaml"
