"""summary.md as GitHub shows it: the subset of GitHub-flavoured Markdown that summary.md writes
(paragraphs, bullets, pipe tables, bold, backslash escapes, entities), turned into HTML under
GitHub's own CSS for a rendered Markdown body (tables are blocks at most 100% wide that scroll).

Not a Markdown parser: enough to lay summary.md out the way a job summary or PR comment does,
so a test can see which columns a reviewer sees without scrolling.
"""

from __future__ import annotations

import re

GITHUB_CSS = """
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; width: 100%; color: #1f2328; word-wrap: break-word;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  font-size: 16px; line-height: 1.5; }
.markdown-body p, .markdown-body ul, .markdown-body table { margin-top: 0; margin-bottom: 16px; }
.markdown-body ul { padding-left: 2em; }
.markdown-body table { border-spacing: 0; border-collapse: collapse; display: block;
  width: max-content; max-width: 100%; overflow: auto; }
.markdown-body table th { font-weight: 600; }
.markdown-body table th, .markdown-body table td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body table tr { background-color: #fff; border-top: 1px solid #d1d9e0b3; }
.markdown-body table tr:nth-child(2n) { background-color: #f6f8fa; }
"""

_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ESCAPED = re.compile(r"\\([\\`*_\[\]|~])")


def inline(text: str) -> str:
    """Bold and backslash escapes; entities (summary.md escapes <, > and &) pass as they are."""
    return _ESCAPED.sub(r"\1", _BOLD.sub(r"<strong>\1</strong>", text))


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in _CELL_SPLIT.split(row.strip())[1:-1]]


def to_html(markdown: str) -> str:
    blocks: list[str] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("|"):
            rows = []
            while index < len(lines) and lines[index].startswith("|"):
                rows.append(lines[index])
                index += 1
            header, body = cells(rows[0]), [cells(row) for row in rows[2:]]
            head = "".join(f"<th>{inline(cell)}</th>" for cell in header)
            trs = "".join("<tr>" + "".join(f"<td>{inline(cell)}</td>" for cell in row) + "</tr>"
                          for row in body)
            blocks.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
            continue
        if line.startswith("- "):
            items = []
            while index < len(lines) and lines[index].startswith("- "):
                items.append(f"<li>{inline(lines[index][2:])}</li>")
                index += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
            continue
        if line.strip():
            blocks.append(f"<p>{inline(line)}</p>")
        index += 1
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>' + GITHUB_CSS
            + '</style></head><body><article class="markdown-body">' + "\n".join(blocks)
            + "</article></body></html>")
