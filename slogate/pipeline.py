"""The composition root: wires spec, load run, evaluator, reports, dashboards and rules for each command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from slogate import alerts, dashboards, reports
from slogate.locust_process import LoadSettings, LocustOutcome, run_locust, tail
from slogate.slo.baseline import DEFAULT_TOLERANCE, compare
from slogate.slo.bundle import RUN_FILE, BundleError, file_stem, read_run
from slogate.slo.evaluation import Evaluation
from slogate.slo.evaluator import evaluate
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


def judge(
    bundle: Path, spec: Spec, *, run: RunResult | None = None, out: Path | None = None,
    baseline: RunResult | None = None, tolerance: float = DEFAULT_TOLERANCE,
    server: Evaluation | None = None,
) -> JudgedRun:
    """Evaluate a bundle's run against ``spec`` (and ``baseline``, when given, for regressions)
    and render every report into ``out`` (the bundle), with ``server`` (the same spec judged
    from Prometheus) beside it when given."""
    run = run if run is not None else read_run(bundle)
    evaluation = evaluate(spec, run)
    if baseline is not None:
        evaluation = compare(evaluation, spec, run, baseline, tolerance=tolerance)
    target = out or bundle
    spec_text = _read_text(Path(spec.source))
    files = reports.render_all(target, run, evaluation, spec_text=spec_text, baseline=baseline,
                               server=server)
    return JudgedRun(bundle=target, run=run, evaluation=evaluation, files=tuple(files))


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
    return out / "rules" / f"{file_stem(spec.service)}.rules.yaml"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
