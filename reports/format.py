"""Number and text formatting shared by every renderer, so all reports show the same figures.

Every number goes through ``slo.units`` (durations, shares, percentage points, multiples: fixed
significant digits, never an exponent). Every function returns plain text; escaping for HTML,
Markdown or XML is the renderer's job.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from slogate.slo import validity
from slogate.slo.evaluation import Evaluation, ObjectiveResult, SideBySide
from slogate.slo.redact import redact, strip_control
from slogate.slo.run import DERIVED_SUFFIXES
from slogate.slo.units import (
    format_duration,
    format_multiple,
    format_percent,
    format_points,
    format_ratio,
    significant,
)

MISSING = "—"
ERROR_MESSAGE_LIMIT = 300

VALIDITY_HELP = validity.EXPLANATIONS
GENERIC_VALIDITY_HELP = (
    "The load test itself may have distorted this measurement, so the gate answers "
    "inconclusive: fix the cause and run again."
)


def validity_help(code: str) -> str:
    """What a validity flag means for the measurement, in words (``worker_lost:worker-b`` is
    explained as a ``worker_lost``); a generic word for codes of another version."""
    return VALIDITY_HELP.get(validity.kind_of(code), GENERIC_VALIDITY_HELP)


# C0/C1 controls except tab/newline/carriage return, lone surrogates, and the XML non-characters.


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
    return f"{significant(per_second)}/s"


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
    return endpoint_name(result.endpoint) if result.endpoint is not None else "all endpoints"


LOWER_BOUND_KINDS = frozenset({"availability", "throughput", "hit_ratio", "goodput"})
"""Kinds whose measured value must stay at or above the threshold; every other is an upper bound."""


def _lower_bound(result: ObjectiveResult) -> bool:
    return result.kind in LOWER_BOUND_KINDS


def shown(value: float | None, unit: str, *, signed: bool = False, missing: str = MISSING) -> str:
    """A value with its unit, as every report and the console show it: '250ms', '0.2%', '12.5/s'.

    ``signed`` prefixes '+' or '-' (a margin, a difference); a signed ratio is a difference of two
    shares, said in percentage points ('+0.15 pp'). ``missing`` stands for no value or a non-finite
    one. ``unit`` is an ``ObjectiveResult.unit``; one this code does not know (from a file written
    by another version) is shown as the number followed by the unit.
    """
    if value is None or not math.isfinite(value):
        return missing
    if signed and unit == "ratio":
        return format_points(value)
    sign = ("+" if value >= 0 else "-") if signed else ""
    size = abs(value) if signed else value
    if unit == "s":
        return sign + duration(size)
    if unit == "ratio":
        return sign + ratio(size)
    if unit == "rps":
        return sign + rate(size)
    return f"{sign}{significant(size)} {unit}"


def measured(result: ObjectiveResult) -> str:
    """The measured value as the objective states it (the evaluator gives availability as successes)."""
    return shown(result.measured, result.unit)


def threshold(result: ObjectiveResult) -> str:
    """The bound with its direction: '≤ 250ms', '≤ 2%', '≥ 99.9%'."""
    direction = "≥" if _lower_bound(result) else "≤"
    return f"{direction} {shown(result.threshold, result.unit)}"


def margin(result: ObjectiveResult) -> str:
    """Headroom ('+12ms') or overshoot ('-3ms'); shares in percentage points ('-0.15 pp')."""
    return shown(result.margin, result.unit, signed=True)


def difference(pair: SideBySide) -> str:
    """Server minus client with its sign ('+4ms': the proxy saw it slower than the load generator)."""
    return shown(pair.difference, pair.client.unit, signed=True)


def endpoint_missing(result: ObjectiveResult) -> bool:
    """Whether the objective names an endpoint the run does not have: no sample will ever come,
    so no count of samples is 'needed'. (The evaluator says so in the reason and matches none.)"""
    return (result.endpoint is not None and result.samples == 0 and not result.matched_endpoints
            and result.reason.startswith("no endpoint"))


def samples_needed(result: ObjectiveResult) -> int:
    """Samples for a decided verdict: the spec's floor, or more where the interval needs more, so
    '400 / 3,838' and '3,438 more needed' say the same thing."""
    if result.more_samples_needed:
        return result.samples + result.more_samples_needed
    return result.required_samples


def more_needed(result: ObjectiveResult) -> str | None:
    """'3,438 more needed'; None when enough, or when none can come (:func:`samples` says why)."""
    if endpoint_missing(result):
        return None
    more = samples_needed(result) - result.samples
    return f"{count(more)} more needed" if more > 0 else None


def samples(result: ObjectiveResult) -> str:
    """'400 / 3,838': measured over needed; '0: endpoint not in the run' when it cannot come."""
    if endpoint_missing(result):
        return "0: endpoint not in the run"
    return f"{count(result.samples)} / {count(samples_needed(result))}"


def samples_with_need(result: ObjectiveResult) -> str:
    """'400 / 3,838 (3,438 more needed)': :func:`samples` with what is still missing."""
    more = more_needed(result)
    return samples(result) + (f" ({more})" if more else "")


def enough_samples(result: ObjectiveResult) -> bool:
    return not endpoint_missing(result) and result.samples >= samples_needed(result)


def burn_rate(result: ObjectiveResult) -> str:
    if result.burn_rate is None:
        return MISSING
    if math.isinf(result.burn_rate):
        return "∞"
    return format_multiple(max(0.0, result.burn_rate))


def budget_consumed(result: ObjectiveResult) -> str:
    if result.budget_consumed is None:
        return MISSING
    if math.isinf(result.budget_consumed):
        return "∞"
    return format_percent(result.budget_consumed)  # a run can use more than the whole budget


def confidence_interval(result: ObjectiveResult) -> str:
    """'93.1ms – 97.2ms (95%)': where the true value lies, at the stated confidence."""
    if result.ci_low is None or result.ci_high is None:
        return MISSING
    level = f" ({result.confidence * 100:.4g}%)" if result.confidence is not None else ""
    return f"{shown(result.ci_low, result.unit)} – {shown(result.ci_high, result.unit)}{level}"


def time_to_exhaustion(result: ObjectiveResult) -> str:
    """How long the error budget lasts at this run's burn rate ('never' when nothing burns)."""
    value = result.time_to_exhaustion_s
    if value is None:
        return MISSING
    if math.isinf(value):
        return "never"
    return duration(value)


def baseline_value(result: ObjectiveResult) -> str:
    """'88ms (p=0.003, mann-whitney)': the baseline run's value and the test that compared them."""
    if result.baseline is None:
        return MISSING
    extra = [p_value(result.p_value)] if result.p_value is not None else []
    extra += [result.test] if result.test else []
    return shown(result.baseline, result.unit) + (f" ({', '.join(extra)})" if extra else "")


def p_value(value: float) -> str:
    """'p=0.003', 'p < 0.001' (no exponent for the tiny p-values of large runs)."""
    return "p < 0.001" if value < 0.001 else f"p={significant(value, 2)}"


def windows(result: ObjectiveResult) -> str:
    """'3 of 20 windows of 10s missed, 1 undecided (75% must hold)' for a windowed objective."""
    if result.window_s is None or result.windows_total is None:
        return MISSING
    text = (f"{count(result.windows_failed or 0)} of {count(result.windows_total)} windows of "
            f"{duration(result.window_s)} missed")
    if result.windows_undecided:
        text += f", {count(result.windows_undecided)} undecided"
    return text


def test_statistic(result: ObjectiveResult) -> str:
    """'z = -5.85': how many standard errors the measured ratio lies from the allowed one."""
    value = result.test_statistic
    if value is None or not math.isfinite(value):
        return MISSING
    return f"z = {significant(value, 3)}"


def regression(result: ObjectiveResult) -> str:
    """Against the baseline run: 'regression' (worse, beyond tolerance and chance) or not, with the
    relative change and its interval: 'regression: p99 +32% (90% interval +12% to +55%)'."""
    if result.regression is None:
        return MISSING
    verdict = "regression" if result.regression else "no regression"
    if result.baseline_effect is None:
        return verdict
    percentile = result.percentile if result.unit == "s" else None
    what = "bad-event ratio" if percentile is None else f"p{percentile:g}"
    text = f"{verdict}: {what} {_signed_percent(result.baseline_effect)}"
    low, high = result.baseline_effect_low, result.baseline_effect_high
    level = result.baseline_effect_confidence
    if low is not None and high is not None and level is not None:
        text += f" ({level:.0%} interval {_signed_percent(low)} to {_signed_percent(high)})"
    return text


def _signed_percent(change: float) -> str:
    return f"{change * 100:+.3g}%"


def effective_samples(result: ObjectiveResult) -> str:
    """'2,400 of 6,000 (slices vary 2.5× more than independent requests)': what the events are worth."""
    if result.effective_samples is None or result.between_slice_variation is None:
        return MISSING
    phi = result.between_slice_variation
    varied = (f"slices vary {significant(phi, 3)}× more than independent requests" if phi > 1.0
              else "slices vary no more than independent requests")
    return f"{count(round(result.effective_samples))} of {count(result.samples)} ({varied})"


def statistics_details(result: ObjectiveResult) -> list[tuple[str, str]]:
    """The windows, test statistic, effective samples, coverage and regression of an objective,
    where it has them."""
    details = [("windows", windows(result)), ("test statistic", test_statistic(result)),
               ("effective samples", effective_samples(result)),
               ("covered", result.coverage or MISSING),
               ("baseline comparison", regression(result))]
    return [(label, value) for label, value in details if value != MISSING]


def endpoint_name(name: str) -> str:
    """An endpoint as a reader knows it: a derived series of a stream (first token...) said in words."""
    for suffix, words in DERIVED_SUFFIXES.items():
        if name.endswith(suffix):
            return f"{name.removesuffix(suffix)} ({words})"
    return name


def similar_messages(other: int) -> str:
    """' (and 12 similar messages)': what an error group's one shown message stands for."""
    if other <= 0:
        return ""
    return f" (and {count(other)} similar message{'s' if other > 1 else ''})"


def gating_met(evaluation: Evaluation) -> str:
    """'3 of 4': the gating objectives that passed, of all the gating ones."""
    gating = [o for o in evaluation.objectives if o.gating]
    return f"{sum(1 for o in gating if o.verdict == 'pass')} of {len(gating)}"


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
        ("samples", samples_with_need(result)),
        ("burn rate", burn_rate(result)),
        ("budget consumed", budget_consumed(result)),
    ]
    optional = [
        ("confidence interval", confidence_interval(result)),
        ("budget exhausted in", time_to_exhaustion(result)),
        ("baseline", baseline_value(result)),
        ("formula", one_line(result.formula) if result.formula else None),
    ]
    details += [(label, value) for label, value in optional if value not in (None, MISSING)]
    details += statistics_details(result)
    if result.matched_endpoints:
        matched = ", ".join(one_line(name) for name in result.matched_endpoints)
        details.append(("matched endpoints", matched))
    return details
