"""Parsing of quantities with units: durations and ratios. Raises ValueError with what was expected."""

from __future__ import annotations

import math
import re
import reprlib
from datetime import UTC

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s|m|h|d)\s*$")
_SECONDS_PER_UNIT = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
DURATION_HELP = "a duration with a unit, such as 250ms, 1.5s, 500us, 5m, 1h or 30d"
RATIO_HELP = "a percentage such as '0.1%' or '99.9%', or a fraction between 0 and 1"



class _ShortRepr(reprlib.Repr):
    def repr1(self, x: object, level: int) -> str:
        # reprlib picks its method by type name, so the loader's dict and list subclasses would get
        # the full, unbounded repr.
        if isinstance(x, dict):
            return self.repr_dict(x, level)
        if isinstance(x, list):
            return self.repr_list(x, level)
        return super().repr1(x, level)


_SHOWN = _ShortRepr()  # limits set one by one: Python 3.11's Repr takes no arguments
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlist, _SHOWN.maxdict = 3, 60, 60, 4, 4


def shown(value: object) -> str:
    """``repr(value)`` cut short, for error messages about input: a YAML value can be a
    5,000-character string or (through aliases) a structure nested thousands deep or exponentially
    large, whose full repr would flood the message, blow the recursion limit or never finish."""
    try:
        return _SHOWN.repr(value)
    except ValueError:  # an int of more than 4,300 digits has no repr
        return f"a {type(value).__name__} too long to show"


def parse_duration(value: object) -> float:
    """Seconds in ``value`` ('250ms', '1.5s', '30d'). A bare number is refused: units are required."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected {DURATION_HELP}, got {shown(value)}")
    match = _DURATION.match(value)
    seconds = float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)] if match else math.nan
    if not math.isfinite(seconds):  # no match, or so many digits that the float is infinite
        raise ValueError(f"expected {DURATION_HELP}, got {shown(value)}")
    return seconds


def positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0.0:
        raise ValueError(f"expected {DURATION_HELP} greater than zero, got {shown(value)}")
    return seconds


def parse_ratio(value: object) -> float:
    """A fraction in [0, 1] from '99.9%' or 0.999."""
    if isinstance(value, bool):
        raise ValueError(f"expected {RATIO_HELP}, got {shown(value)}")
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%"):
            raise ValueError(f"expected {RATIO_HELP}, got {shown(value)}")
        try:
            fraction = float(text[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"expected {RATIO_HELP}, got {shown(value)}") from None
    elif isinstance(value, int | float):
        if value > 1:  # before float(): an integer beyond the float range would raise OverflowError
            raise ValueError(
                f"expected {RATIO_HELP}, got {shown(value)} (write '{shown(value)}%' for a percentage)"
            )
        fraction = float(value)
    else:
        raise ValueError(f"expected {RATIO_HELP}, got {shown(value)}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"expected {RATIO_HELP}, got {shown(value)}")
    return fraction


def parse_port(value: str) -> int:
    """A TCP port ('9646'); 0 asks for any free one."""
    if not value.strip().isdigit() or not 0 <= int(value) <= 65535:
        raise ValueError(f"expected a TCP port from 0 (any free one) to 65535, got {shown(value)}")
    return int(value)


def parse_positive(value: str) -> float:
    """A finite number above zero ('2.5')."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"expected a positive number, got {shown(value)}")
    return number


def format_duration(seconds: float) -> str:
    """A short human form: 850us, 12.5ms, 1.2s, 5m, 30d."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.4g}ms"
    if seconds < 120.0:
        return f"{seconds:.4g}s"
    if seconds < 7200.0:
        return f"{seconds / 60:.4g}m"
    if seconds < 172800.0:
        return f"{seconds / 3600:.4g}h"
    days = f"{seconds / 86400:.4g}"
    # From 10,000 days on, .4g writes an exponent (1e+04d), which parse_duration does not read.
    return f"{days if 'e' not in days else f'{seconds / 86400:.0f}'}d"


def format_ratio(fraction: float) -> str:
    """'0.1%', '99.9%', '12.35%', '99.995%' (never '100%' for what is not all)."""
    percent = fraction * 100
    text = f"{percent:.4g}"
    if text == "100" and fraction < 1.0:
        # Near 100% the digits that matter are those of the complement: show two of them.
        decimals = max(0, 1 - math.floor(math.log10(100 - percent)))
        text = f"{percent:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def parse_time(value: str, now: float) -> float:
    """Unix seconds from '1700000000', 'now', 'now-15m' or ISO 8601 ('2026-01-01T12:00:00Z')."""
    text = value.strip()
    if text == "now":
        return now
    if text.startswith("now-"):
        return now - parse_duration(text[4:])
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds):
            return seconds
        raise ValueError(f"expected a time as Unix seconds, a finite number; got {shown(value)}")
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"expected a time as Unix seconds, ISO 8601 (2026-01-01T12:00:00Z), 'now' or 'now-15m'; "
            f"got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
