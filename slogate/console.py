"""What slogate's commands say: outcomes for stdout (text or JSON), progress and refusals on stderr.

Figures go through ``reports.format``, so the console shows them as report.html and summary.md
do. The text functions return the text; the command line prints it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from slogate.reports import format as fmt
from slogate.slo.bundle import EVALUATION_FILE, REPORT_HTML
from slogate.slo.evaluation import Evaluation, ObjectiveResult, side_by_side
from slogate.slo.units import format_duration

NO_VALUE = "n/a"
"""A figure the console has none of (the reports' dash would read as a separator there)."""


def say(message: str) -> None:
    """A progress line or a refusal on stderr, prefixed with the program's name."""
    print(f"slogate: {message}", file=sys.stderr, flush=True)


def load_started(users: int, duration_s: float, host: str, run_id: str) -> str:
    return f"load test: {users} users for {format_duration(duration_s)} against {host}; run {run_id}"


def outcome(evaluation: Evaluation, bundle: Path, *, as_json: bool, files: Sequence[Path] = ()) -> str:
    """The verdict, each objective's figure and reason, and where the bundle and its report are;
    with ``as_json``, a document of the bundle, the evaluation and the other ``files`` written."""
    if as_json:
        return _document(evaluation, bundle, files)
    return "\n".join([*_verdict(evaluation), f"bundle: {bundle}", f"report: {bundle / REPORT_HTML}"])


def server_outcome(server: Evaluation, out: Path | None, *, as_json: bool) -> str:
    """A verdict from Prometheus alone: no run, so no report; its evaluation.json is in ``out``
    when one was given."""
    if as_json:
        return _document(server, out or Path("."), ())
    written = [] if out is None else [f"evaluation: {out / EVALUATION_FILE}"]
    return "\n".join([*_verdict(server), *written])


def both_sides(client: Evaluation, server: Evaluation, bundle: Path, *, as_json: bool) -> str:
    """The client's and the server's (Prometheus) verdicts, and each objective's figure on both
    sides with their difference (server minus client); with ``as_json``, both evaluations."""
    if as_json:
        return json.dumps({"client": client.to_dict(), "server": server.to_dict()}, indent=1)
    lines = [
        f"client side: {client.verdict.upper()} · server side (Prometheus): {server.verdict.upper()}",
        f"  {'objective':<24} {'client':>12} {'server':>12} {'difference':>12}",
    ]
    lines += [
        f"  {pair.client.name:<24} {_measured(pair.client):>12} {_measured(pair.server):>12} "
        f"{fmt.shown(pair.difference, pair.client.unit, signed=True, missing=NO_VALUE):>12}"
        for pair in side_by_side(client, server)
    ]
    lines.append(f"report: {bundle / REPORT_HTML}")
    return "\n".join(lines)


def _verdict(evaluation: Evaluation) -> list[str]:
    lines = [f"verdict: {evaluation.verdict.upper()} (exit {int(evaluation.exit_code)})"]
    lines += [f"  {result.verdict:<12} {result.name}: {_measured(result)} — {result.reason}"
              for result in evaluation.objectives]
    return lines + [f"  reason: {reason}" for reason in evaluation.reasons]


def _document(evaluation: Evaluation, bundle: Path, files: Sequence[Path]) -> str:
    document = {"bundle": str(bundle), "evaluation": evaluation.to_dict(),
                "files": [str(p) for p in files]}
    return json.dumps(document, indent=1)


def _measured(result: ObjectiveResult) -> str:
    return fmt.shown(result.measured, result.unit, missing=NO_VALUE)


def catalog(presets: Sequence[tuple[str, str, str]], scenarios: Sequence[tuple[str, str, str]]) -> str:
    """One line per preset (name, description, its scenario's name and options) and per scenario
    (name, file, summary): what ``--spec preset:NAME`` and ``--scenario NAME`` take."""
    width = max(len(name) for name, _, _ in [*presets, *scenarios])
    lines = ["presets (--spec preset:NAME):"]
    lines += [f"  {name:<{width}}  {description} [--scenario {scenario}]"
              for name, description, scenario in presets]
    lines.append("scenarios (--scenario NAME; Locust options of a scenario go after `--`):")
    lines += [f"  {name:<{width}}  {summary} ({file})" for name, file, summary in scenarios]
    return "\n".join(lines)
