"""The HTML report in a real browser (Debian's headless Chromium): it renders, shows the verdict
and its figures in the DOM, logs no console error, and asks for nothing over the network."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import require_tool
from tests.reports.conftest import Judged, Rendered


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


def test_report_renders_in_chromium(
    tmp_path: Path, failing: Judged, render: Callable[[Judged], Rendered]
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render(failing).html, encoding="utf-8")

    dumped = chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert 'id="verdict"' in dom and "FAIL" in dom
    assert "95.33ms" in dom and "messages-p95" in dom
    assert dom.count("<svg") >= 3  # the charts are in the page, not fetched
    log = dumped.stderr
    assert "Uncaught" not in log and ":ERROR:CONSOLE" not in log, log[-2000:]
    assert "ERR_NAME_NOT_RESOLVED" not in log, "the report tried to reach the network"

    shot = tmp_path / "report.png"
    captured = chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}",
                        "--window-size=1280,2400", "--hide-scrollbars")
    assert captured.returncode == 0 and shot.stat().st_size > 20_000  # a page, not a blank
    if out := os.environ.get("SLOGATE_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(out) / "report.png")
