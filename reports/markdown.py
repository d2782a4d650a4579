"""``summary.md``: a GitHub-flavoured summary that fits a CI step summary.

The first line is the verdict (``**PASS**``, ``**FAIL**`` or ``**INCONCLUSIVE**``); then the
reasons, the objectives table, validity problems, the most frequent errors and the run facts.
Every piece of run or spec text goes through :func:`escape`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reports import format as fmt
from slo.evaluation import Evaluation, ObjectiveResult
from slo.run import RunResult

MAX_ERRORS = 10
ERROR_MESSAGE_LIMIT = 200

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


def render_markdown(run: RunResult, evaluation: Evaluation) -> str:
    lines = [_headline(evaluation), ""]
    lines += [f"- {escape(reason)}" for reason in evaluation.reasons]
    lines.append("")
    lines += _objectives_table(evaluation.objectives)
    lines += _validity(run)
    lines += _errors(run)
    lines += _facts(run, evaluation)
    return "\n".join(lines).rstrip("\n") + "\n"


def _headline(evaluation: Evaluation) -> str:
    gating = [o for o in evaluation.objectives if o.gating]
    met = sum(1 for o in gating if o.verdict == "pass")
    return (
        f"**{fmt.verdict_label(evaluation.verdict)}** slogate verdict for "
        f"{escape(evaluation.service)}: {met} of {len(gating)} gating objectives met "
        f"(exit code {int(evaluation.exit_code)})"
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _objectives_table(objectives: Sequence[ObjectiveResult]) -> list[str]:
    if not objectives:
        return ["No objectives were evaluated.", ""]
    header = ["Objective", "Kind", "Endpoint", "Measured", "Threshold", "Margin", "Samples",
              "Verdict", "Reason"]
    rows = [
        [
            escape(o.name),
            escape(fmt.kind_label(o)),
            escape(fmt.endpoint_label(o)),
            escape(fmt.measured(o)),
            escape(fmt.threshold(o)),
            escape(fmt.margin(o)),
            escape(fmt.samples(o)),
            f"**{fmt.verdict_label(o.verdict)}**" + ("" if o.gating else " (not gating)"),
            escape(o.reason),
        ]
        for o in objectives
    ]
    return _table(header, rows)


def _validity(run: RunResult) -> list[str]:
    lines = [f"- **{escape(flag.code)}**: {escape(flag.message)}" for flag in run.validity]
    if not run.complete:
        lines.append("- **incomplete**: the run ended before its planned end")
    if not lines:
        return []
    return ["**Measurement problems**", "", *lines, ""]


def _errors(run: RunResult) -> list[str]:
    if not run.errors:
        return []
    groups = sorted(run.errors, key=lambda e: (-e.count, e.endpoint, e.kind, e.message))
    rows = [
        [escape(e.endpoint), escape(e.kind), escape(e.message, ERROR_MESSAGE_LIMIT),
         fmt.count(e.count)]
        for e in groups[:MAX_ERRORS]
    ]
    lines = ["**Most frequent errors**", "", *_table(["Endpoint", "Kind", "Message", "Count"], rows)]
    if len(groups) > MAX_ERRORS:
        lines += [f"{len(groups) - MAX_ERRORS} more error groups in report.html.", ""]
    return lines


def _facts(run: RunResult, evaluation: Evaluation) -> list[str]:
    params = ", ".join(f"{key}={fmt.param(value)}" for key, value in run.load_model.items())
    facts = [
        f"run {escape(run.run_id)}",
        f"target {escape(run.target)}",
        f"scenario {escape(run.scenario)}",
        f"load {escape(params, 200)}" if params else "load model not recorded",
        f"{fmt.duration(run.duration_s)}",
        "complete" if run.complete else "incomplete",
        f"spec {escape(evaluation.spec_source)}",
    ]
    if run.slogate_version:
        facts.append(f"slogate {escape(run.slogate_version)}")
    return [" · ".join(facts) + " · full report: report.html"]
