"""Masks secrets (API keys, bearer tokens, passwords) in any text slogate stores or shows.

Error messages carry what a client or server said, and that can include request headers or URLs
with credentials. Every renderer passes every string it shows through :func:`redact`, after
which the text is truncated or escaped (never before: a cut could hide half a key from the
patterns). Redaction is idempotent; it prefers masking too much over leaking.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

# Header or field names whose value is one token: 'x-api-key: abc', '"api_key": "abc"', 'pwd=abc'.
_TOKEN_NAMES = (
    r"x-api-key|x-goog-api-key|(?:anthropic|openai|azure)[-_]api[-_]key"
    r"|api[-_]?key|api[-_]?token|x-auth-token|auth[-_]?token|access[-_]?token"
    r"|refresh[-_]?token|id[-_]?token|session[-_]?token|client[-_]?secret|secret[-_]?key"
    r"|private[-_]?key|secret|password|passwd|pwd|token"
)
# Header names whose value runs to the end of the line: 'Authorization: Digest a="b", c="d"'.
_LINE_NAMES = r"(?:proxy-)?authorization|set-cookie|cookie"
_SEPARATOR = r"(?P<sep>(?>[\"']?\s*[:=]\s*[\"']?))"  # atomic: never gives back a quote
_SCHEME = r"(?P<scheme>(?:Bearer|Basic|Token|Digest|Negotiate|ApiKey)\s+)?"
_NOT_MASKED = r"(?!(?:\w+\s+)?\[REDACTED\])"

_NAMED_LINE = re.compile(
    rf"(?P<name>(?<![\w-])(?:{_LINE_NAMES}))(?![\w-])"
    rf"(?P<sep>(?>[\"']?\s*[:=]\s*)(?P<quote>[\"'])?){_SCHEME}{_NOT_MASKED}"
    # A quoted value ends at a quote; an unquoted one runs to the end of the line.
    r"(?(quote)[^\"'\r\n]+|[^\s\"'][^\r\n]*)",
    re.IGNORECASE,
)
_NAMED_TOKEN = re.compile(
    rf"(?P<name>(?<![\w-])(?:{_TOKEN_NAMES}))(?![\w-]){_SEPARATOR}{_SCHEME}{_NOT_MASKED}"
    r"[^\s\"'&,;<>)\]}]+",
    re.IGNORECASE,
)
# 'Bearer abc' anywhere else.
_BEARER = re.compile(r"(?<![\w-])(?P<scheme>Bearer\s+)(?!\[REDACTED\])[A-Za-z0-9._~+/=-]+",
                     re.IGNORECASE)
# Credentials in a URL: scheme://user:password@host.
_URL_USERINFO = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.IGNORECASE)
# Credentials in a query string: ?key=...&sig=...
_QUERY = re.compile(
    r"(?P<keep>[?&;](?:key|api[-_]?key|apikey|token|access[-_]?token|auth|sig|signature"
    r"|password|secret|client[-_]?secret|code)=)[^&\s#\"'<>]+",
    re.IGNORECASE,
)
# Self-identifying key formats, whatever surrounds them.
_KNOWN_KEYS = re.compile(
    r"(?<![\w-])(?:"
    r"sk-[\w-]{6,}"  # OpenAI, Anthropic (sk-ant-...), and look-alikes
    r"|(?:sk|rk|pk)_(?:live|test)_[\w]{6,}"  # Stripe
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}"  # GitHub
    r"|glpat-[\w-]{16,}"  # GitLab
    r"|xox[abposr]-[\w-]{10,}"  # Slack
    r"|AKIA[0-9A-Z]{16}"  # AWS access key id
    r"|AIza[\w-]{30,}"  # Google API key
    r"|eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*"  # JWT
    r")",
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with known ``secrets`` and every value that looks like a credential masked."""
    if not text:
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    text = _NAMED_LINE.sub(_mask_named, text)
    text = _NAMED_TOKEN.sub(_mask_named, text)
    text = _BEARER.sub(lambda m: f"{m.group('scheme')}{MASK}", text)
    text = _URL_USERINFO.sub(lambda m: f"{m.group('keep')}{MASK}@", text)
    text = _QUERY.sub(lambda m: f"{m.group('keep')}{MASK}", text)
    return _KNOWN_KEYS.sub(MASK, text)


def _mask_named(match: re.Match[str]) -> str:
    return f"{match.group('name')}{match.group('sep')}{match.group('scheme') or ''}{MASK}"


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def strip_control(text: str) -> str:
    """``text`` without the control characters that XML 1.0 forbids or HTML cannot show."""
    return _CONTROL.sub("", text)
