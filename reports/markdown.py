"""``summary.md``: a GitHub-flavoured summary that fits a CI step summary.

The first line is the verdict (``**PASS**``, ``**FAIL**`` or ``**INCONCLUSIVE**``); then the
reasons, validity problems (each explained), the objectives table, the endpoints, the run totals
(cache hit ratio, LLM tokens), the most frequent errors, the slowest requests and the run facts.
Every piece of run or spec text goes through :func:`escape`.

The objectives table is what a reviewer reads at GitHub's width (about 1,000 px): the verdict
first, then the objective, measured, threshold and margin. Intervals, samples, burn rate and
budget are in report.html; the reasons are the bullets above the table, not a column.

It must fit both a GitHub Actions job summary (1 MiB per step) and a pull-request comment
(65,536 characters): tables stop at a fixed number of rows with a note saying how many were
left out, cells are cut, and a last guard cuts the whole at :data:`MAX_CHARS` on a line boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from slogate.reports import format as fmt
from slogate.reports import series
from slogate.reports.llm_summary import stream_summary
from slogate.reports.totals import run_totals
from slogate.slo.evaluation import (
    VERDICT_EXIT_CODES,
    Evaluation,
    ObjectiveResult,
    combined_verdict,
    side_by_side,
)
from slogate.slo.run import RunResult

MAX_ERRORS = 10
MAX_OBJECTIVES = 40
MAX_ENDPOINTS = 20
MAX_SLOWEST = 5
ERROR_MESSAGE_LIMIT = 200
CELL_LIMIT = 300
MAX_CHARS = 60_000
"""Under GitHub's 65,536-character comment limit, and far under the 1 MiB step summary limit."""
CUT_NOTE = "\n_Summary cut to fit a job summary or PR comment: report.html has everything._\n"

_BACKSLASHED = "\\`*_[]|~"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(value: object, limit: int | None = None) -> str:
    """Run or spec text made inert in Markdown: one line, no HTML, no emphasis, no table breaks.

    Secrets are masked and controls stripped first; ``limit`` cuts before escaping, so an
    escape sequence is never cut in half.
    """
    out: list[str] = []
    for char in fmt.one_line(value, limit):
        if char in _BACKSLASHED:
            out.append("\\" + char)
        else:
            out.append(_ENTITIES.get(char, char))
    return "".join(out)


def render_markdown(
    run: RunResult, evaluation: Evaluation, *, server: Evaluation | None = None, max_chars: int = MAX_CHARS
) -> str:
    """With ``server`` (the spec judged from Prometheus), the headline is the verdict of both sides
    and a table sets each objective's client and server values side by side."""
    lines = [_headline(evaluation, server), ""]
    side = "" if server is None else "client side: "
    lines += [f"- {side}{escape(reason, CELL_LIMIT)}" for reason in evaluation.reasons[:MAX_OBJECTIVES]]
    if server is not None:
        lines += [f"- server side: {escape(reason, CELL_LIMIT)}"
                  for reason in server.reasons[:MAX_OBJECTIVES]]
    lines.append("")
    lines += _validity(run)
    lines += _objectives_table(evaluation.objectives)
    lines += _server_side(evaluation, server)
    lines += _endpoints(run, evaluation)
    lines += _totals(run)
    streams = stream_summary(run, evaluation)
    lines += [] if streams is None else [escape(streams, CELL_LIMIT), ""]
    lines += _errors(run)
    lines += _slowest(run)
    lines += _facts(run, evaluation)
    return _fit("\n".join(lines).rstrip("\n") + "\n", max_chars)


def _fit(text: str, max_chars: int) -> str:
    """``text`` whole when short enough; else cut at the last line break that leaves room for
    the note (never inside a table row, so what remains still renders)."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind("\n", 0, max(0, max_chars - len(CUT_NOTE)))
    return text[: max(cut, 0)] + "\n" + CUT_NOTE


def _headline(evaluation: Evaluation, server: Evaluation | None) -> str:
    verdict = evaluation.verdict if server is None else combined_verdict(evaluation, server)
    met = f"{fmt.gating_met(evaluation)} gating objectives met"
    if server is not None:
        met = (f"client side {fmt.verdict_label(evaluation.verdict)} ({met}), server side (Prometheus) "
               f"{fmt.verdict_label(server.verdict)} ({fmt.gating_met(server)})")
    return (
        f"**{fmt.verdict_label(verdict)}** slogate verdict for {escape(evaluation.service)}: {met} "
        f"(exit code {int(VERDICT_EXIT_CODES[verdict])})"
    )


def _server_side(client: Evaluation, server: Evaluation | None) -> list[str]:
    if server is None:
        return []
    rows = [
        [
            f"**{fmt.verdict_label(pair.client.verdict)}**",
            f"**{fmt.verdict_label(pair.server.verdict)}**",
            _objective(pair.client),
            escape(fmt.threshold(pair.client)),
            escape(fmt.measured(pair.client)),
            escape(fmt.measured(pair.server)),
            escape(fmt.difference(pair)),
        ]
        for pair in side_by_side(client, server)[:MAX_OBJECTIVES]
    ]
    header = ["Client", "Server", "Objective", "Threshold", "Client measured", "Server measured",
              "Difference"]
    return ["### Client side and server side", "", *_table(header, rows)]


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _objectives_table(objectives: Sequence[ObjectiveResult]) -> list[str]:
    if not objectives:
        return ["No objectives were evaluated.", ""]
    header = ["Verdict", "Objective", "Measured", "Threshold", "Margin"]
    # Failures first: in a cut table, what hurts must still show.
    order = {"fail": 0, "inconclusive": 1, "pass": 2}
    ranked = sorted(objectives, key=lambda o: (not o.gating, order.get(o.verdict, 1)))
    rows = [
        [
            f"**{fmt.verdict_label(o.verdict)}**" + ("" if o.gating else " (not gating)"),
            _objective(o),
            escape(fmt.measured(o)) if not fmt.endpoint_missing(o) else "endpoint not in the run",
            escape(fmt.threshold(o)),
            escape(fmt.margin(o)),
        ]
        for o in ranked[:MAX_OBJECTIVES]
    ]
    notes = [
        f"- {escape(o.name, 100)}: " + "; ".join(
            f"{label}: {escape(value)}" for label, value in fmt.statistics_details(o))
        for o in ranked[:MAX_OBJECTIVES] if fmt.statistics_details(o)
    ]
    return (_table(header, rows) + _more(len(objectives), MAX_OBJECTIVES, "objectives")
            + ([*notes, ""] if notes else []))


def _objective(result: ObjectiveResult) -> str:
    """'messages-p95 · latency p95 · POST /v1/messages': what is judged, in one wrapping cell."""
    return " · ".join([escape(result.name, 100), escape(fmt.kind_label(result)),
                       escape(fmt.endpoint_label(result), 100)])


def _more(total: int, shown: int, what: str) -> list[str]:
    return [f"{total - shown} more {what} in report.html.", ""] if total > shown else []


def _endpoints(run: RunResult, evaluation: Evaluation) -> list[str]:
    rows, overall = series.endpoint_stats(run, evaluation.window_start_s)
    if not rows:
        return []
    busiest = sorted(rows, key=lambda r: (-r.requests, r.name))[:MAX_ENDPOINTS]
    table = [
        [
            escape(fmt.endpoint_name(r.name), 100), fmt.count(r.requests), fmt.count(r.failures),
            fmt.count(r.rate_limited), fmt.latency_us(r.p50_us), fmt.latency_us(r.p95_us),
            fmt.latency_us(r.p99_us), fmt.latency_us(r.p999_us), fmt.latency_us(r.max_us),
        ]
        for r in [*sorted(busiest, key=lambda r: r.name), overall]
    ]
    table[-1] = [f"**{cell}**" for cell in table[-1]]
    header = ["Endpoint", "Requests", "Failures", "429", "p50", "p95", "p99", "p99.9", "Max"]
    return ["**Endpoints**", "", *_table(header, table),
            *_more(len(rows), MAX_ENDPOINTS, "endpoints")]


def _slowest(run: RunResult) -> list[str]:
    slowest = sorted(run.slowest, key=lambda r: (-r.latency_us, r.start_s))[:MAX_SLOWEST]
    if not slowest:
        return []
    rows = [
        [escape(fmt.endpoint_name(r.endpoint), 100), fmt.latency_us(r.latency_us),
         escape(r.status, 40), escape(r.trace_id, 100) if r.trace_id else fmt.MISSING]
        for r in slowest
    ]
    return ["**Slowest requests**", "", *_table(["Endpoint", "Latency", "Status", "Trace id"], rows)]


def _validity(run: RunResult) -> list[str]:
    lines = [
        f"- **{escape(flag.code, 100)}**: {escape(flag.message, CELL_LIMIT)}. "
        f"{escape(fmt.validity_help(flag.code))}"
        for flag in run.validity
    ]
    if not run.complete:
        lines.append("- **incomplete**: the run ended before its planned end")
    if not lines:
        return []
    return ["**This run cannot be trusted**", "", *lines, ""]


def _totals(run: RunResult) -> list[str]:
    totals = run_totals(run.counters)
    if not totals:
        return []
    lines = [f"- {escape(t.label)}: {escape(t.value, CELL_LIMIT)}" for t in totals]
    return ["**Run totals**", "", *lines, ""]


def _errors(run: RunResult) -> list[str]:
    groups = series.error_groups(run)
    if not groups:
        return []
    rows = [
        [escape(fmt.endpoint_name(e.endpoint), 100), escape(e.kind, 100),
         escape(e.message, ERROR_MESSAGE_LIMIT) + fmt.similar_messages(e.similar_messages),
         fmt.count(e.count)]
        for e in groups[:MAX_ERRORS]
    ]
    lines = ["**Most frequent errors**", "", *_table(["Endpoint", "Kind", "Message", "Count"], rows)]
    return lines + _more(len(groups), MAX_ERRORS, "error groups")


def _facts(run: RunResult, evaluation: Evaluation) -> list[str]:
    params = ", ".join(f"{key}={fmt.param(value)}" for key, value in run.load_model.items())
    cpu = series.peak_generator_cpu(run)
    lost = sum(1 for w in run.workers if w.lost)
    facts = [
        f"run {escape(run.run_id)}",
        f"target {escape(run.target)}",
        f"scenario {escape(run.scenario)}",
        f"load {escape(params, 200)}" if params else "load model not recorded",
        f"{fmt.duration(run.duration_s)}",
        "complete" if run.complete else "incomplete",
        f"spec {escape(evaluation.spec_source)}",
    ]
    if cpu is not None:
        facts.append(f"generator CPU peak {cpu:.0f}%")
    if run.workers:
        facts.append(f"{len(run.workers)} workers" + (f" ({lost} lost)" if lost else ""))
    if run.slogate_version:
        facts.append(f"slogate {escape(run.slogate_version)}")
    return [" · ".join(facts) + " · full report: report.html"]
