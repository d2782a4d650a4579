"""Writes the rendered reports into a run bundle, each file atomically."""

from __future__ import annotations

from pathlib import Path

from slogate.reports.html import render_html
from slogate.reports.junit import render_junit
from slogate.reports.markdown import render_markdown
from slogate.slo.bundle import (
    EVALUATION_FILE,
    JUNIT_XML,
    REPORT_HTML,
    SERVER_EVALUATION_FILE,
    SUMMARY_MD,
    write_atomic,
    write_evaluation,
)
from slogate.slo.evaluation import Evaluation
from slogate.slo.run import RunResult


def render_all(
    bundle_dir: Path,
    run: RunResult,
    evaluation: Evaluation,
    *,
    spec_text: str | None = None,
    baseline: RunResult | None = None,
    server: Evaluation | None = None,
) -> list[Path]:
    """Render every report and write it into ``bundle_dir``; returns the paths written.

    With ``baseline`` (an earlier run), ``report.html`` also compares this run with it. With
    ``server`` (the spec judged from Prometheus), it is kept as ``server-evaluation.json`` and
    every report shows both sides, its verdict being theirs combined.

    All four are rendered before the first is written, so a rendering error leaves the bundle
    as it was; each file is replaced atomically, so a reader never sees half a file.
    """
    bundle_dir = Path(bundle_dir)
    contents = {
        REPORT_HTML: render_html(run, evaluation, spec_text=spec_text, baseline=baseline, server=server),
        SUMMARY_MD: render_markdown(run, evaluation, server=server),
        JUNIT_XML: render_junit(run, evaluation, server=server),
    }
    if server is None:
        # A server-side verdict from an earlier `gate --prometheus` would not be about this
        # judgement (another spec, another window): it must not be shown beside it.
        (bundle_dir / SERVER_EVALUATION_FILE).unlink(missing_ok=True)
    write_evaluation(bundle_dir / EVALUATION_FILE, evaluation)
    paths = [bundle_dir / EVALUATION_FILE]
    if server is not None:
        write_evaluation(bundle_dir / SERVER_EVALUATION_FILE, server)
        paths.append(bundle_dir / SERVER_EVALUATION_FILE)
    for name, content in contents.items():
        path = bundle_dir / name
        write_atomic(path, content)
        paths.append(path)
    return paths
