"""Masks secrets (API keys, bearer tokens, credentials in URLs) in any text slogate stores or shows."""

from __future__ import annotations

import re

MASK = "****"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Header-style secrets: 'Authorization: Bearer abc', 'x-api-key: abc', "'api_key': 'abc'".
    (
        re.compile(
            r"(?i)((?:authorization|proxy-authorization|x-api-key|api[-_]?key|access[-_]?token"
            r"|secret|password|token)[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token)\s+)?)"
            r"[^\s\"',;&}]+"
        ),
        r"\1" + MASK,
    ),
    # Bare bearer tokens.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"), r"\1" + MASK),
    # Vendor-style keys: sk-..., sk-ant-..., ghp_..., xox?-...
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{6,}"), MASK),
    (re.compile(r"\b(?:ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{10,}"), MASK),
    # Credentials in URLs: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), r"\1" + MASK + "@"),
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with known secret values and secret-looking tokens replaced by ``****``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
