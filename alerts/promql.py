"""Small PromQL text helpers: exact numbers, durations, quoted strings, label matchers."""

from __future__ import annotations

import re

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MATCHER = re.compile(r'^\s*(=~|!~|!=|=)\s*(".*")\s*$', re.DOTALL)
_NEGATED = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}
_UNITS_S = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def number(value: float) -> str:
    """A constant as PromQL and people want it: 12 significant digits, shortest form.

    ``1 - 0.999`` is ``0.0010000000000000009`` in binary; rounding to 12 significant digits and
    taking the repr of that float gives ``0.001``. Whole numbers lose the ``.0`` (``14.4``, ``6``).
    """
    rounded = float(f"{value:.12g}")
    if rounded == 0.0:
        return "0"
    if rounded.is_integer() and abs(rounded) < 1e15:
        return str(int(rounded))
    return repr(rounded)


def duration(seconds: float) -> str:
    """A PromQL duration in the largest unit that divides it: 300 -> '5m', 259200 -> '3d'."""
    milliseconds = round(seconds * 1000)
    if milliseconds <= 0:
        raise ValueError(f"expected a positive duration, got {seconds!r} s")
    for unit, size in _UNITS_S:
        if milliseconds % (size * 1000) == 0:
            return f"{milliseconds // (size * 1000)}{unit}"
    return f"{milliseconds}ms"


def string(value: str) -> str:
    """A double-quoted PromQL string literal (Go escaping)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def label_name(name: str) -> str:
    """``name`` if it is a valid Prometheus label name, else a ValueError saying so."""
    if not _LABEL_NAME.match(name) or name.startswith("__"):
        raise ValueError(
            f"{name!r} is not a usable Prometheus label name "
            "(letters, digits and '_', not starting with a digit or '__')"
        )
    return name


def equals(name: str, value: str) -> str:
    """The matcher ``name="value"``."""
    return f"{label_name(name)}={string(value)}"


def negate(matcher: str) -> str:
    """The opposite of a matcher body such as ``=~"5.."`` (gives ``!~"5.."``)."""
    match = _MATCHER.match(matcher)
    if not match:
        raise ValueError(
            f"cannot read the label matcher {matcher!r}; expected an operator (=, !=, =~, !~) "
            'and a double-quoted value, such as =~"5.."'
        )
    return f"{_NEGATED[match.group(1)]}{match.group(2)}"


def selector(metric: str, matchers: str) -> str:
    """``metric{matchers}``, or the bare metric when there are none."""
    return f"{metric}{{{matchers}}}" if matchers else metric


def matchers_of(labels: dict[str, str]) -> str:
    """``a="1", b="2"`` from a mapping, in its order."""
    return ", ".join(equals(name, value) for name, value in labels.items())
