"""Number and text formatting shared by every renderer, so all reports show the same figures.

Durations go through ``slo.units.format_duration`` and ratios through ``format_ratio``. Every
function returns plain text; escaping for HTML, Markdown or XML is the renderer's job.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from slo.evaluation import ObjectiveResult
from slo.redact import redact
from slo.units import format_duration, format_ratio

MISSING = "—"
ERROR_MESSAGE_LIMIT = 300

# C0/C1 controls except tab/newline/carriage return, lone surrogates, and the XML non-characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def strip_control(text: str) -> str:
    """``text`` without the control characters that XML 1.0 forbids or HTML cannot show."""
    return _CONTROL.sub("", text)


def safe_text(value: object, limit: int | None = None) -> str:
    """Any value as display text: secrets masked, controls removed, then cut to ``limit``."""
    text = strip_control(redact(str(value)))
    return truncate(text, limit) if limit is not None else text


def one_line(value: object, limit: int | None = None) -> str:
    """:func:`safe_text` with line breaks and tabs folded into single spaces."""
    return re.sub(r"\s*[\r\n\t]+\s*", " ", safe_text(value, limit)).strip()


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in '…' when cut."""
    if limit < 1 or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def count(value: int) -> str:
    return f"{value:,}"


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    return format_duration(max(0.0, seconds))


def latency_us(micros: float | None) -> str:
    return MISSING if micros is None else duration(micros / 1e6)


def ratio(fraction: float | None) -> str:
    if fraction is None or not math.isfinite(fraction):
        return MISSING
    return format_ratio(fraction)


def rate(per_second: float) -> str:
    return f"{per_second:.4g}/s"


def timestamp(epoch_s: float) -> str:
    """ISO 8601 in UTC, to the second: '2025-01-31T12:00:00Z'."""
    try:
        moment = datetime.fromtimestamp(epoch_s, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return MISSING
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def param(value: Any) -> str:
    """A load model parameter as text (scalars plain, structures as compact JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


# -- objective results ---------------------------------------------------------------------------


def kind_label(result: ObjectiveResult) -> str:
    """'latency p95', 'error ratio', 'availability'."""
    if result.kind == "latency" and result.percentile is not None:
        return f"latency p{result.percentile:g}"
    return result.kind.replace("_", " ")


def endpoint_label(result: ObjectiveResult) -> str:
    return result.endpoint if result.endpoint is not None else "all endpoints"


def _availability(result: ObjectiveResult) -> bool:
    return result.kind == "availability" and result.unit == "ratio"


def _value(result: ObjectiveResult, value: float | None) -> str:
    return duration(value) if result.unit == "s" else ratio(value)


def measured(result: ObjectiveResult) -> str:
    """The measured value as the objective states it (the evaluator gives availability as successes)."""
    if result.measured is None:
        return MISSING
    return _value(result, result.measured)


def threshold(result: ObjectiveResult) -> str:
    """The bound with its direction: '≤ 250ms', '≤ 2%', '≥ 99.9%'."""
    if _availability(result):
        return f"≥ {ratio(result.threshold)}"
    return f"≤ {_value(result, result.threshold)}"


def margin(result: ObjectiveResult) -> str:
    """Headroom ('+12ms') or overshoot ('-3ms'); the same for availability and its bad ratio."""
    if result.margin is None or not math.isfinite(result.margin):
        return MISSING
    sign = "+" if result.margin >= 0 else "-"
    return f"{sign}{_value(result, abs(result.margin))}"


def samples(result: ObjectiveResult) -> str:
    return f"{count(result.samples)} / {count(result.required_samples)}"


def enough_samples(result: ObjectiveResult) -> bool:
    return result.samples >= result.required_samples


def burn_rate(result: ObjectiveResult) -> str:
    if result.burn_rate is None:
        return MISSING
    if math.isinf(result.burn_rate):
        return "∞"
    return f"{result.burn_rate:.3g}x"


def budget_consumed(result: ObjectiveResult) -> str:
    if result.budget_consumed is None:
        return MISSING
    if math.isinf(result.budget_consumed):
        return "∞"
    return ratio(result.budget_consumed)


def verdict_label(verdict: str) -> str:
    return verdict.upper()


def objective_details(result: ObjectiveResult) -> list[tuple[str, str]]:
    """The figures of one objective as (label, value) pairs, for text renderings."""
    details = [
        ("verdict", verdict_label(result.verdict) + ("" if result.gating else " (not gating)")),
        ("reason", one_line(result.reason)),
        ("kind", kind_label(result)),
        ("endpoint", one_line(endpoint_label(result))),
        ("measured", measured(result)),
        ("threshold", threshold(result)),
        ("margin", margin(result)),
        ("samples", f"{count(result.samples)} (required {count(result.required_samples)})"),
        ("burn rate", burn_rate(result)),
        ("budget consumed", budget_consumed(result)),
    ]
    if result.matched_endpoints:
        matched = ", ".join(one_line(name) for name in result.matched_endpoints)
        details.append(("matched endpoints", matched))
    return details
