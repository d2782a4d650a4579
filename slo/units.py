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


SIGNIFICANT_DIGITS = 4
"""Every duration and percentage a report, rule or message shows has this many significant digits."""
SMALLEST_PERCENT = 0.0001
"""Percentages are shown to at most four decimals: a smaller share than this is said as '< 0.0001%'
(or '> 99.9999%' near all), never as a rounding to 0% or 100% nor with an exponent."""
_PERCENT_DECIMALS = 4
SECONDS_PER_YEAR = 365.0 * 86400.0
_MAX_YEARS = 1000.0
_DURATION_UNITS = ((1.0, 1e-3, "ms"), (120.0, 1.0, "s"), (7200.0, 60.0, "m"), (172800.0, 3600.0, "h"),
                   (SECONDS_PER_YEAR, 86400.0, "d"))
"""(below this many seconds, seconds per unit, unit)."""


def significant(value: float, digits: int = SIGNIFICANT_DIGITS, *, max_decimals: int | None = None) -> str:
    """``value`` (finite) to ``digits`` significant digits in plain decimals, never an exponent:
    1234.5 -> '1235', 0.053712 -> '0.05371', 1e-7 with ``max_decimals=4`` -> '0'."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    if max_decimals is not None:
        decimals = min(decimals, max_decimals)
    rounded = round(value, decimals)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > math.floor(math.log10(abs(value))):
        decimals = max(0, decimals - 1)  # 9.9996 rounds to 10.00: one digit fewer after the point
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_duration(seconds: float) -> str:
    """A short human form with four significant digits: 850µs, 12.5ms, 1.2s, 5m, 30d, '5.1 years'.

    Below a year the text reads back with ``parse_duration``; from a year on it is years to two
    significant digits (three from 100), and '> 1,000 years' beyond: a budget that lasts that long
    lasts forever for every practical purpose. Negative input is shown as zero.
    """
    seconds = max(0.0, seconds)
    # The unit is chosen on the rounded value, so one that rounds up to the next unit is said in
    # it (1s, not 1000ms); the digits come from the value itself (rounding twice would drift).
    rounded = float(f"{seconds:.{SIGNIFICANT_DIGITS}g}")
    if rounded < 1e-3:
        return f"{significant(seconds * 1e6, max_decimals=3)}µs"
    for below, size, unit in _DURATION_UNITS:
        if rounded < below:
            return f"{significant(seconds / size)}{unit}"
    years = seconds / SECONDS_PER_YEAR
    if years > _MAX_YEARS:
        return f"> {_MAX_YEARS:,.0f} years"
    shown = significant(years, 2 if years < 100 else 3)
    return f"{shown} {'year' if shown == '1' else 'years'}"


def format_percent(fraction: float) -> str:
    """A non-negative share that may exceed the whole ('350%' of a budget): four significant digits,
    at most four decimals, '< 0.0001%' for a tiny non-zero share, never an exponent."""
    percent = max(0.0, fraction) * 100
    if 0 < percent < SMALLEST_PERCENT / 2:
        return f"< {SMALLEST_PERCENT:g}%"
    return f"{significant(percent, max_decimals=_PERCENT_DECIMALS)}%"


def format_ratio(fraction: float) -> str:
    """A fraction of a whole, as a percentage: '0.1%', '99.9%', '12.35%', '99.995%'.

    Clamped to 0–100% (an interval's bound computed a hair beyond either end is shown at it).
    Never '100%' for what is not all: near 100% the digits that matter are those of the complement,
    two of them, down to '99.9999%'; beyond that '> 99.9999%'. Likewise never '0%' for what is not
    nothing ('< 0.0001%').
    """
    fraction = min(1.0, max(0.0, fraction))
    text = format_percent(fraction)
    if fraction < 1.0 and text == "100%":
        complement = (1.0 - fraction) * 100
        if complement < SMALLEST_PERCENT:
            return f"> {100 - SMALLEST_PERCENT:g}%"
        decimals = min(_PERCENT_DECIMALS, max(0, 1 - math.floor(math.log10(complement))))
        # Truncated, not rounded, so the shown value never reaches 100%.
        kept = math.floor(fraction * 100 * 10**decimals) / 10**decimals
        text = f"{kept:.{decimals}f}".rstrip("0").rstrip(".") + "%"
    return text


def format_points(difference: float) -> str:
    """A difference of two fractions in percentage points, with its sign: '+0.15 pp', '-2 pp'.

    Four significant digits, at most four decimals (a float's noise, such as 2e-17, reads '+0 pp')."""
    points = significant(abs(difference) * 100, max_decimals=_PERCENT_DECIMALS)
    sign = "-" if difference < 0 and points != "0" else "+"
    return f"{sign}{points} pp"


def format_multiple(factor: float) -> str:
    """A rate against its allowed one ('14.4x', '0.054x', '1,200x'): two significant digits below 10,
    three up to 1,000, whole numbers beyond; '0x' for none."""
    if factor >= 1000:
        return f"{factor:,.0f}x"
    return f"{significant(factor, 2 if factor < 10 else 3, max_decimals=4)}x"


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
