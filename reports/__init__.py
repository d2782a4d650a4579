"""Renders an Evaluation and its RunResult into the files of a run bundle.

``render_all`` writes ``evaluation.json``, ``report.html``, ``summary.md`` and ``junit.xml``,
each atomically; the single renderers return text. Every string taken from the run or the
spec is redacted (``slo.redact``) and escaped for its format.
"""

from slogate.reports.html import render_html
from slogate.reports.json_report import render_json
from slogate.reports.junit import render_junit
from slogate.reports.markdown import render_markdown
from slogate.reports.writer import render_all

__all__ = ["render_all", "render_html", "render_json", "render_junit", "render_markdown"]
