"""Parsing of quantities with units: durations and ratios. Raises ValueError with what was expected."""

from __future__ import annotations

import re
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


def parse_duration(value: object) -> float:
    """Seconds in ``value`` ('250ms', '1.5s', '30d'). A bare number is refused: units are required."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected {DURATION_HELP}, got {value!r}")
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"expected {DURATION_HELP}, got {value!r}")
    return float(match.group(1)) * _SECONDS_PER_UNIT[match.group(2)]


def parse_ratio(value: object) -> float:
    """A fraction in [0, 1] from '99.9%' or 0.999."""
    if isinstance(value, bool):
        raise ValueError(f"expected {RATIO_HELP}, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%"):
            raise ValueError(f"expected {RATIO_HELP}, got {value!r}")
        try:
            fraction = float(text[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"expected {RATIO_HELP}, got {value!r}") from None
    elif isinstance(value, int | float):
        fraction = float(value)
        if fraction > 1.0:
            raise ValueError(
                f"expected {RATIO_HELP}, got {value!r} (write '{value}%' for a percentage)"
            )
    else:
        raise ValueError(f"expected {RATIO_HELP}, got {value!r}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"expected {RATIO_HELP}, got {value!r}")
    return fraction


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
    return f"{seconds / 86400:.4g}d"


def format_ratio(fraction: float) -> str:
    """'0.1%', '99.9%', '12.35%'."""
    return f"{fraction * 100:.4g}%"


def parse_time(value: str, now: float) -> float:
    """Unix seconds from '1700000000', 'now', 'now-15m' or ISO 8601 ('2026-01-01T12:00:00Z')."""
    text = value.strip()
    if text == "now":
        return now
    if text.startswith("now-"):
        return now - parse_duration(text[4:])
    try:
        return float(text)
    except ValueError:
        pass
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
