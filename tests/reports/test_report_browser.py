"""The HTML report in a real browser (Debian's headless Chromium): it renders, shows the verdict
and its figures in the DOM, logs no console error, and asks for nothing over the network."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from pathlib import Path

from slogate.reports import format as fmt
from tests.conftest import require_tool
from tests.reports.conftest import TRACE_ID, Judged


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        require_tool("chromium", "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        # Any attempt to reach a host fails and shows up in the log as a network error.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        *extra, page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def console_messages(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_an_outbound_request_would_be_caught(tmp_path: Path, rich_html: str) -> None:
    """The control for the test below: the same page with an external image and a CSS
    background shows both attempts in the log, so an empty log means none was made."""
    page = tmp_path / "report.html"
    page.write_text(rich_html.replace(
        "<main>", '<main><img src="https://example.com/x.png" alt="">'
                  '<div style="background:url(http://example.org/a.png)">x</div>', 1),
        encoding="utf-8")
    dumped = chromium(page, tmp_path / "profile", "--dump-dom")
    messages = "\n".join(console_messages(dumped.stderr))
    assert "https://example.com/x.png" in messages and "http://example.org/a.png" in messages


def test_report_renders_in_chromium(tmp_path: Path, rich: Judged, rich_html: str) -> None:
    page = tmp_path / "report.html"
    page.write_text(rich_html, encoding="utf-8")

    dumped = chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert 'id="verdict"' in dom and "INCONCLUSIVE" in dom
    # The key numbers, as the evaluator computed them, are in the rendered DOM.
    p95 = next(o for o in rich.evaluation.objectives if o.name == "messages-p95")
    for figure in (fmt.measured(p95), fmt.threshold(p95), fmt.margin(p95), fmt.burn_rate(p95),
                   fmt.budget_consumed(p95)):
        assert html.escape(figure, quote=False) in dom, figure
    if p95.ci_low is not None:
        assert fmt.confidence_interval(p95) in dom
    assert "messages-p95" in dom and "(time to first byte)" in dom
    assert TRACE_ID in dom and "worker-b" in dom and "lost before the end" in dom
    assert "mystery_code" in dom and "run-baseline-2023-12-01" in dom
    assert dom.count("<svg") == 6  # the charts are in the page, not fetched
    # Chromium logs every console message, errors and CSP violations alike, as ':CONSOLE'.
    # The page's Content-Security-Policy blocks every load, and each blocked attempt is logged.
    assert console_messages(dumped.stderr) == [], dumped.stderr[-2000:]
    assert "ERR_NAME_NOT_RESOLVED" not in dumped.stderr, "the report tried to reach the network"

    shot = tmp_path / "report.png"
    captured = chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}",
                        "--window-size=1280,4800", "--hide-scrollbars")
    assert captured.returncode == 0, captured.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 100_000  # a page with charts, not a blank
    if out := os.environ.get("SLOGATE_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(out) / "report.png")
