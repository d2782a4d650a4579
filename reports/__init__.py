"""Renders an Evaluation and its RunResult into the files of a run bundle.

``render_all`` writes ``evaluation.json``, ``report.html``, ``summary.md`` and ``junit.xml``,
each atomically; the single renderers return text. Every string taken from the run or the
spec is redacted (``slo.redact``) and escaped for its format.

The renderers are imported on first use: ``reports.format`` (what the console shares with
the reports) must not bring jinja2 and matplotlib into a command that draws nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slogate.reports.html import render_html
    from slogate.reports.json_report import render_json
    from slogate.reports.junit import render_junit
    from slogate.reports.markdown import render_markdown
    from slogate.reports.writer import render_all

_HOMES = {
    "render_all": "slogate.reports.writer",
    "render_html": "slogate.reports.html",
    "render_json": "slogate.reports.json_report",
    "render_junit": "slogate.reports.junit",
    "render_markdown": "slogate.reports.markdown",
}

__all__ = ["render_all", "render_html", "render_json", "render_junit", "render_markdown"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
