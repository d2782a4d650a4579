"""``report.html``: one self-contained page (inline CSS and SVG charts, no script, no request).

Jinja2 renders ``templates/report.html.j2`` with autoescaping on. As a second line of defence,
every value a template prints passes through :func:`_finalize`, which masks secrets and strips
control characters; only the SVG charts are markup, and matplotlib escaped their text.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

from reports import format as fmt
from reports import series
from reports.charts import render_charts
from slo.evaluation import Evaluation, ObjectiveResult
from slo.run import RunResult

MAX_ERROR_ROWS = 50
SPEC_TEXT_LIMIT = 100_000

VALIDITY_HELP = {
    "generator_saturated": (
        "The load generator ran out of CPU, so requests waited in the generator itself and "
        "the measured latency is partly the generator's. Run more Locust processes or "
        "lower the load."
    ),
    "users_not_reached": (
        "The planned number of users never ran at once, so the service saw less load than "
        "the scenario asks for. Raise the spawn rate or the duration."
    ),
    "worker_lost": (
        "A Locust worker stopped reporting: its requests are missing from the counts and the "
        "load was lower than planned."
    ),
    "dispatch_late": (
        "The open-model scheduler started requests late: the offered rate was not met, and "
        "latency measured from the intended start includes the delay."
    ),
    "dispatch_dropped": (
        "The open-model scheduler dropped dispatches it could not start: the offered rate "
        "was not met."
    ),
}
GENERIC_VALIDITY_HELP = (
    "The load test itself may have distorted this measurement, so the gate answers "
    "inconclusive: fix the cause and run again."
)


@dataclass(frozen=True)
class ObjectiveRow:
    name: str
    kind: str
    endpoint: str
    measured: str
    threshold: str
    margin: str
    margin_negative: bool
    samples: str
    samples_short: bool
    burn_rate: str
    budget: str
    verdict: str
    gating: bool
    reason: str


@dataclass(frozen=True)
class EndpointRow:
    name: str
    requests: str
    failures: str
    failure_ratio: str
    p50: str
    p95: str
    p99: str
    max: str


@dataclass(frozen=True)
class ErrorRow:
    endpoint: str
    kind: str
    message: str
    count: str


def render_html(run: RunResult, evaluation: Evaluation, *, spec_text: str | None = None) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(_context(run, evaluation, spec_text))


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _finalize(value: Any) -> Any:
    """Runs on every ``{{ value }}``, before autoescaping: mask secrets, strip controls."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return fmt.MISSING
    if isinstance(value, str):
        return fmt.safe_text(value)
    return value


def _context(run: RunResult, evaluation: Evaluation, spec_text: str | None) -> dict[str, Any]:
    gating = [o for o in evaluation.objectives if o.gating]
    return {
        "verdict": evaluation.verdict,
        "verdict_label": fmt.verdict_label(evaluation.verdict),
        "exit_code": int(evaluation.exit_code),
        "service": evaluation.service,
        "reasons": list(evaluation.reasons),
        "gating_count": len(gating),
        "gating_met": sum(1 for o in gating if o.verdict == "pass"),
        "objectives": [_objective_row(o) for o in evaluation.objectives],
        "charts": render_charts(run, evaluation),
        "window": _window_text(evaluation),
        **_endpoint_rows(run, evaluation),
        **_error_rows(run),
        "facts": _facts(run, evaluation),
        "load_model": [(str(key), fmt.param(value)) for key, value in run.load_model.items()],
        "validity": [
            (flag.code, flag.message, VALIDITY_HELP.get(flag.code, GENERIC_VALIDITY_HELP))
            for flag in run.validity
        ],
        "complete": run.complete,
        "spec_text": None if spec_text is None else fmt.truncate(spec_text, SPEC_TEXT_LIMIT),
        "spec_source": evaluation.spec_source,
        "evaluated_at": fmt.timestamp(evaluation.evaluated_at),
        "slogate_version": run.slogate_version or "unknown",
    }


def _objective_row(o: ObjectiveResult) -> ObjectiveRow:
    return ObjectiveRow(
        name=o.name,
        kind=fmt.kind_label(o),
        endpoint=fmt.endpoint_label(o),
        measured=fmt.measured(o),
        threshold=fmt.threshold(o),
        margin=fmt.margin(o),
        margin_negative=o.margin is not None and o.margin < 0,
        samples=fmt.samples(o),
        samples_short=not fmt.enough_samples(o),
        burn_rate=fmt.burn_rate(o),
        budget=fmt.budget_consumed(o),
        verdict=o.verdict,
        gating=o.gating,
        reason=o.reason,
    )


def _endpoint_row(stats: series.EndpointStats) -> EndpointRow:
    return EndpointRow(
        name=stats.name,
        requests=fmt.count(stats.requests),
        failures=fmt.count(stats.failures),
        failure_ratio=fmt.ratio(stats.failure_ratio),
        p50=fmt.latency_us(stats.p50_us),
        p95=fmt.latency_us(stats.p95_us),
        p99=fmt.latency_us(stats.p99_us),
        max=fmt.latency_us(stats.max_us),
    )


def _endpoint_rows(run: RunResult, evaluation: Evaluation) -> dict[str, Any]:
    rows, overall = series.endpoint_stats(run, evaluation.window_start_s)
    return {
        "endpoints": [_endpoint_row(s) for s in rows],
        "endpoints_total": _endpoint_row(overall),
    }


def _error_rows(run: RunResult) -> dict[str, Any]:
    groups = sorted(run.errors, key=lambda e: (-e.count, e.endpoint, e.kind, e.message))
    rows = [
        ErrorRow(
            endpoint=fmt.safe_text(e.endpoint, 200),
            kind=fmt.safe_text(e.kind, 100),
            # Redact before cutting: a cut could leave half a key that no pattern recognises.
            message=fmt.safe_text(e.message, fmt.ERROR_MESSAGE_LIMIT),
            count=fmt.count(e.count),
        )
        for e in groups[:MAX_ERROR_ROWS]
    ]
    return {
        "errors": rows,
        "errors_more": max(0, len(groups) - MAX_ERROR_ROWS),
        "errors_total": fmt.count(sum(e.count for e in groups)),
    }


def _window_text(evaluation: Evaluation) -> str:
    start, end = evaluation.window_start_s, evaluation.window_end_s
    if start > 0:
        return (f"{fmt.duration(start)} to {fmt.duration(end)} after the start "
                f"(the first {fmt.duration(start)} are warm-up and not judged)")
    return f"the whole run ({fmt.duration(end)})"


def _facts(run: RunResult, evaluation: Evaluation) -> list[tuple[str, str]]:
    facts = [
        ("Service", evaluation.service),
        ("Target", run.target),
        ("Scenario", run.scenario),
        ("Run id", run.run_id),
        ("Started", fmt.timestamp(run.started_at)),
        ("Ended", fmt.timestamp(run.ended_at)),
        ("Duration", fmt.duration(run.duration_s)),
        ("Judged window", _window_text(evaluation)),
        ("Time slice", fmt.duration(run.slice_s) if math.isfinite(run.slice_s) else fmt.MISSING),
        ("Complete", "yes" if run.complete else "no: the run ended before its planned end"),
        ("Spec", evaluation.spec_source),
        ("Git revision", run.git_revision or fmt.MISSING),
        ("slogate version", run.slogate_version or "unknown"),
    ]
    return facts
