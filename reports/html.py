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

from slogate.reports import format as fmt
from slogate.reports import series
from slogate.reports.charts import render_charts, window_chart
from slogate.reports.llm_charts import llm_charts
from slogate.reports.totals import run_totals
from slogate.slo.evaluation import (
    VERDICT_EXIT_CODES,
    Evaluation,
    ObjectiveResult,
    combined_verdict,
    side_by_side,
)
from slogate.slo.run import RunResult

MAX_ERROR_ROWS = 50
MAX_SLOWEST_ROWS = 20
SPEC_TEXT_LIMIT = 100_000

VALIDITY_HELP = fmt.VALIDITY_HELP
GENERIC_VALIDITY_HELP = fmt.GENERIC_VALIDITY_HELP


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
    confidence_interval: str
    exhaustion: str
    more_samples: str | None
    """'3,438 more needed' (None when enough, or when the endpoint is not in the run)."""
    baseline: str
    formula: str
    verdict: str
    gating: bool
    reason: str
    statistics: list[tuple[str, str]]
    """Windows, test statistic and baseline comparison, where the objective has them."""
    window_chart: Markup | None
    """Windowed objectives: the burn rate of each window (inline SVG)."""


@dataclass(frozen=True)
class EndpointRow:
    name: str
    requests: str
    failures: str
    failure_ratio: str
    p50: str
    p95: str
    p99: str
    p999: str
    max: str
    rate_limited: str


@dataclass(frozen=True)
class ErrorRow:
    endpoint: str
    kind: str
    message: str
    count: str


@dataclass(frozen=True)
class SlowRow:
    endpoint: str
    latency: str
    start: str
    status: str
    trace_id: str


@dataclass(frozen=True)
class WorkerRow:
    worker_id: str
    cpu: str
    lost: bool


@dataclass(frozen=True)
class ServerSideRow:
    """One objective as the load generator measured it and as the proxy's metrics in Prometheus did."""

    name: str
    endpoint: str
    threshold: str
    client: str
    server: str
    difference: str
    client_verdict: str
    server_verdict: str
    server_reason: str


@dataclass(frozen=True)
class ComparisonRow:
    name: str
    requests: str
    values: list[tuple[str, str, str, bool]]
    """Per percentile: (this run, baseline, change, worse)."""


def render_html(
    run: RunResult,
    evaluation: Evaluation,
    *,
    spec_text: str | None = None,
    baseline: RunResult | None = None,
    server: Evaluation | None = None,
) -> str:
    """The page; with ``baseline``, a chart and a table compare this run with that one; with
    ``server`` (the spec judged from Prometheus), the banner is the verdict of both sides and a
    table sets them side by side."""
    template = _environment().get_template("report.html.j2")
    return template.render(_context(run, evaluation, spec_text, baseline, server))


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("slogate.reports", "templates"),
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


def _context(
    run: RunResult, evaluation: Evaluation, spec_text: str | None, baseline: RunResult | None,
    server: Evaluation | None,
) -> dict[str, Any]:
    verdict = evaluation.verdict if server is None else combined_verdict(evaluation, server)
    reasons = list(evaluation.reasons)
    if server is not None:
        reasons = [f"client side (this run): {fmt.verdict_label(evaluation.verdict)}; server side "
                   f"(Prometheus): {fmt.verdict_label(server.verdict)}. The gate passes only when both do.",
                   *(f"client side: {reason}" for reason in evaluation.reasons),
                   *(f"server side: {reason}" for reason in server.reasons)]
    return {
        "verdict": verdict,
        "verdict_label": fmt.verdict_label(verdict),
        "exit_code": int(VERDICT_EXIT_CODES[verdict]),
        "service": evaluation.service,
        "reasons": reasons,
        "server_side": None if server is None else _server_side_rows(evaluation, server),
        "server_window": None if server is None else _server_window_text(server),
        "gating_met": fmt.gating_met(evaluation) + " gating objectives met" + (
            "" if server is None else f" on the client side, {fmt.gating_met(server)} on the server side"),
        "objectives": [_objective_row(o, evaluation, i) for i, o in enumerate(evaluation.objectives)],
        "show_baseline_column": any(o.baseline is not None for o in evaluation.objectives),
        "charts": render_charts(run, evaluation, baseline) + llm_charts(run, evaluation),
        "comparison": _comparison(run, evaluation, baseline),
        "baseline_run": None if baseline is None else baseline.run_id,
        "slowest": _slowest_rows(run),
        "workers": [
            WorkerRow(w.worker_id, _cpu(w.max_cpu_percent), w.lost) for w in run.workers
        ],
        "error_kinds": [
            (kind, fmt.count(number))
            for kind, number in series.errors_by_kind(run, evaluation.window_start_s)
        ],
        "window": _window_text(evaluation),
        **_endpoint_rows(run, evaluation),
        **_error_rows(run),
        "run_totals": run_totals(run.counters),
        "facts": _facts(run, evaluation),
        "load_model": [(str(key), fmt.param(value)) for key, value in run.load_model.items()],
        "validity": [
            (flag.code, flag.message, fmt.validity_help(flag.code))
            for flag in run.validity
        ],
        "complete": run.complete,
        "spec_text": None if spec_text is None else fmt.truncate(spec_text, SPEC_TEXT_LIMIT),
        "spec_source": evaluation.spec_source,
        "evaluated_at": fmt.timestamp(evaluation.evaluated_at),
        "slogate_version": run.slogate_version or "unknown",
    }


def _server_side_rows(client: Evaluation, server: Evaluation) -> list[ServerSideRow]:
    return [
        ServerSideRow(
            name=pair.client.name,
            endpoint=fmt.endpoint_label(pair.client),
            threshold=fmt.threshold(pair.client),
            client=fmt.measured(pair.client),
            server=fmt.measured(pair.server),
            difference=fmt.difference(pair),
            client_verdict=pair.client.verdict,
            server_verdict=pair.server.verdict,
            server_reason=pair.server.reason,
        )
        for pair in side_by_side(client, server)
    ]


def _objective_row(o: ObjectiveResult, evaluation: Evaluation, index: int) -> ObjectiveRow:
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
        confidence_interval=fmt.confidence_interval(o),
        exhaustion=fmt.time_to_exhaustion(o),
        more_samples=fmt.more_needed(o),
        baseline=fmt.baseline_value(o),
        formula=o.formula,
        verdict=o.verdict,
        gating=o.gating,
        reason=o.reason,
        statistics=fmt.statistics_details(o),
        window_chart=window_chart(o, evaluation, f"windows-{index}"),
    )


def _endpoint_row(stats: series.EndpointStats) -> EndpointRow:
    return EndpointRow(
        name=fmt.endpoint_name(stats.name),
        requests=fmt.count(stats.requests),
        failures=fmt.count(stats.failures),
        failure_ratio=fmt.ratio(stats.failure_ratio),
        p50=fmt.latency_us(stats.p50_us),
        p95=fmt.latency_us(stats.p95_us),
        p99=fmt.latency_us(stats.p99_us),
        p999=fmt.latency_us(stats.p999_us),
        max=fmt.latency_us(stats.max_us),
        rate_limited=fmt.count(stats.rate_limited),
    )


def _endpoint_rows(run: RunResult, evaluation: Evaluation) -> dict[str, Any]:
    rows, overall = series.endpoint_stats(run, evaluation.window_start_s)
    return {
        "endpoints": [_endpoint_row(s) for s in rows],
        "endpoints_total": _endpoint_row(overall),
    }


def _error_rows(run: RunResult) -> dict[str, Any]:
    groups = series.error_groups(run)
    rows = [
        ErrorRow(
            endpoint=fmt.safe_text(fmt.endpoint_name(e.endpoint), 200),
            kind=fmt.safe_text(e.kind, 100),
            # Redact before cutting: a cut could leave half a key that no pattern recognises.
            message=(fmt.safe_text(e.message, fmt.ERROR_MESSAGE_LIMIT)
                     + fmt.similar_messages(e.similar_messages)),
            count=fmt.count(e.count),
        )
        for e in groups[:MAX_ERROR_ROWS]
    ]
    return {
        "errors": rows,
        "errors_more": max(0, len(groups) - MAX_ERROR_ROWS),
        "errors_total": fmt.count(sum(e.count for e in groups)),
    }


def _slowest_rows(run: RunResult) -> list[SlowRow]:
    slowest = sorted(run.slowest, key=lambda r: (-r.latency_us, r.start_s))[:MAX_SLOWEST_ROWS]
    return [
        SlowRow(
            endpoint=fmt.safe_text(fmt.endpoint_name(r.endpoint), 200),
            latency=fmt.latency_us(r.latency_us),
            start=f"{r.start_s:.3f}s",
            status=fmt.safe_text(r.status, 40),
            trace_id=fmt.safe_text(r.trace_id, 100) if r.trace_id else fmt.MISSING,
        )
        for r in slowest
    ]


COMPARED_PERCENTILES = (0.50, 0.95, 0.99)


def _comparison(
    run: RunResult, evaluation: Evaluation, baseline: RunResult | None
) -> list[ComparisonRow]:
    """Per endpoint both runs have (and all together): percentiles now, then, and the change."""
    if baseline is None:
        return []
    now = series.windows(run, evaluation.window_start_s)
    then = series.windows(baseline, evaluation.window_start_s)
    pairs = [(series.ALL_ENDPOINTS, series.total(now), series.total(then))]
    pairs += [(name, now[name], then[name]) for name in sorted(now) if name in then]
    rows = []
    for name, current, before in pairs:
        values = []
        for q in COMPARED_PERCENTILES:
            a, b = series.quantile(current.ok, q), series.quantile(before.ok, q)
            change = fmt.MISSING if a is None or not b else f"{(a - b) / b * 100:+.1f}%"
            worse = a is not None and b is not None and b > 0 and a > b * 1.05
            values.append((fmt.latency_us(a), fmt.latency_us(b), change, worse))
        rows.append(ComparisonRow(
            name=fmt.endpoint_name(name),
            requests=f"{fmt.count(current.requests)} / {fmt.count(before.requests)}",
            values=values,
        ))
    return rows


def _cpu(percent: float | None) -> str:
    return fmt.MISSING if percent is None else f"{percent:.0f}%"


def _window_text(evaluation: Evaluation) -> str:
    start, end = evaluation.window_start_s, evaluation.window_end_s
    if start > 0:
        return (f"{fmt.duration(start)} to {fmt.duration(end)} after the start "
                f"(the first {fmt.duration(start)} are warm-up and not judged)")
    return f"the whole run ({fmt.duration(end)})"


def _server_window_text(server: Evaluation) -> str:
    """A Prometheus evaluation's window is in Unix seconds, not seconds after a run's start."""
    start, end = server.window_start_s, server.window_end_s
    return f"{fmt.timestamp(start)} to {fmt.timestamp(end)} ({fmt.duration(end - start)})"


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
        ("Generator CPU (peak)", _cpu(series.peak_generator_cpu(run))),
    ]
    if run.workers:
        lost = sum(1 for w in run.workers if w.lost)
        facts.append(("Workers", f"{len(run.workers)}" + (f", {lost} lost" if lost else "")))
    late, dropped = series.dispatch_totals(run)
    if late or dropped or any(s.target_rate is not None for s in run.slices):
        facts.append(("Open-model dispatches",
                      f"{fmt.count(late)} sent late, {fmt.count(dropped)} dropped"))
    return facts
