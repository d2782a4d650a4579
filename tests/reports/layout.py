"""Where elements land on a page in headless Chromium: a copy of the page runs a small script
that writes bounding boxes into the DOM, which ``--dump-dom`` hands back as JSON."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import require_tool

_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>')
_PROBE = """
<script>
window.addEventListener("load", () => {
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
            scrollWidth: element.scrollWidth, clientWidth: element.clientWidth,
            text: element.textContent.trim().slice(0, 80)};
  };
  const found = {viewport: window.innerWidth, page: document.documentElement.scrollWidth};
  for (const [name, selector] of Object.entries(%s)) {
    found[name] = Array.from(document.querySelectorAll(selector), box);
  }
  const out = document.createElement("pre");
  out.id = "layout-probe";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>
"""
_RESULT = re.compile(r'<pre id="layout-probe">(.*?)</pre>', re.S)


def measure(page_html: str, selectors: dict[str, str], width: int, workdir: Path) -> dict[str, Any]:
    """Boxes of every element each selector finds, laid out in a ``width`` px wide window (plus
    ``viewport``: the window's inner width, and ``page``: the document's scroll width)."""
    probe = _PROBE % json.dumps(selectors)
    page = workdir / "layout.html"
    # The report forbids scripts; its copy here drops that rule so the probe can run.
    page.write_text(_CSP.sub("", page_html).replace("</body>", probe + "</body>"), encoding="utf-8")
    command = [
        require_tool("chromium", "chromium"), "--headless", "--no-sandbox", "--disable-gpu",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        f"--user-data-dir={workdir / 'profile'}", "--hide-scrollbars", f"--window-size={width},900",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", page.as_uri(),
    ]
    dumped = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    match = _RESULT.search(dumped.stdout)
    assert match, dumped.stderr[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">"))
