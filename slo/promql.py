"""PromQL building blocks shared by the alert rules (``alerts``) and the dashboards (``dashboards``).

Two kinds of helper live here, so that each is written once and both readers of Prometheus agree:

- text: exact numbers, durations, quoted strings, label names and matchers, selectors;
- the metric contract and the SLO spec as PromQL: which series an endpoint selector picks, which
  requests failed or succeeded, how a bucket bound is matched in ``le``, what a traffic-weighted
  error ratio looks like, and the names and labels of the SLI recording rules (written by
  ``alerts``, read by the burn-rate alerts and by the dashboards' burn-rate panels), and burn rates
  over them.

Which windows and thresholds to alert on is a model of its own (``slo.burn``), built on this text.
It imports only ``slo.contract``, ``slo.spec`` and the standard library.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from slogate.slo.contract import MetricContract
from slogate.slo.spec import LatencyObjective, Objective

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_MATCHER = re.compile(r'^\s*(=~|!~|!=|=)\s*(".*")\s*$', re.DOTALL)
_NEGATED = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}
_UNITS_S = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))

RATIO_RECORD = "slogate:sli_error_ratio"
"""Recorded bad-event ratio of error_ratio and availability objectives (``…:rate5m`` etc.)."""

LATENCY_RECORD = "slogate:sli_slow_ratio"
"""Recorded ratio of successful requests slower than the threshold, for latency objectives."""


# --- Text --------------------------------------------------------------------------------------

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


def sum_rate(series: str, window: str) -> str:
    """``sum(rate(series[window]))``; ``window`` is a duration or ``$__rate_interval``."""
    return f"sum(rate({series}[{window}]))"


# --- The metric contract -----------------------------------------------------------------------

def endpoint_matchers(endpoint: str | None, contract: MetricContract) -> list[str]:
    """Label matchers for an endpoint selector: 'POST /v1/messages' gives route and method,
    '/v1/messages' the route alone (every method), None nothing (every request)."""
    if endpoint is None:
        return []
    parts = endpoint.split()
    # A proxy without a route (method) label, or an objective whose matchers pick its series on
    # that label themselves (``spec.objective_contract``), counts the endpoint's every route (method).
    if len(parts) == 1:
        return [equals(contract.route_label, parts[0])] if contract.route_label else []
    if len(parts) == 2:
        method, route = parts
        by_route = [equals(contract.route_label, route)] if contract.route_label else []
        by_method = [equals(contract.method_label, method)] if contract.method_label else []
        return [*by_route, *by_method]
    raise ValueError(
        f"cannot read the endpoint {endpoint!r}; expected 'METHOD /route' or '/route'"
    )


def failed_matcher(contract: MetricContract) -> str:
    """The matcher of failed requests, ``http_response_status_code=~"5.."`` by default."""
    name = label_name(contract.status_label)
    negate(contract.error_status_matcher)  # validates the matcher's form
    return f"{name}{contract.error_status_matcher.strip()}"


def succeeded_matcher(contract: MetricContract) -> str:
    """The matcher of successful requests, ``http_response_status_code!~"5.."`` by default."""
    return f"{label_name(contract.status_label)}{negate(contract.error_status_matcher)}"


def le_pattern(bound: float) -> str:
    """An RE2 pattern matching every common spelling of a bucket bound in the ``le`` label.

    Exporters write the same bound differently: Python's prometheus_client writes ``0.25``,
    ``1.0`` and ``10.0``, Go's client and Prometheus 3 (which normalises classic histogram ``le``
    labels on ingestion) write ``0.25``, ``1`` and ``10``. So 0.25 -> ``0\\.250*`` (0.25,
    0.250); 1.0 -> ``1(\\.0*)?`` (1, 1.0); 1e-05 also as written.
    """
    if not math.isfinite(bound):
        return r"\+Inf"
    forms: list[str] = []
    plain = format(Decimal(repr(bound)), "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    if "." in plain:
        forms.append(plain.replace(".", r"\.") + "0*")
    else:
        forms.append(plain + r"(\.0*)?")
    for spelled in (repr(bound), f"{bound:g}"):
        if "e" in spelled:
            escaped = spelled.replace(".", r"\.").replace("+", r"\+")
            if escaped not in forms:
                forms.append(escaped)
    return "|".join(forms)


def le_matcher(bound: float) -> str:
    """``le=~"…"`` matching the bucket bound however the exporter spells it."""
    return f"le=~{string(le_pattern(bound))}"


# --- SLIs --------------------------------------------------------------------------------------

def error_selectors(objective: Objective, contract: MetricContract) -> tuple[str, str]:
    """The failed and the total request-count series an error-ratio or availability SLI reads."""
    where = endpoint_matchers(objective.endpoint, contract)
    failed = failed_matcher(contract)
    count = contract.request_count
    return (selector(count, contract.matchers(*where, failed)),
            selector(count, contract.matchers(*where)))


def latency_matchers(objective: Objective, contract: MetricContract) -> list[str]:
    """The matchers of the requests a latency SLI judges: the objective's endpoint, succeeded
    (like the run evaluator, ``slo.evaluator``: failures are judged by the ratio objectives) where
    the histogram has the status label (Kong's, Envoy's do not: there every request counts)."""
    succeeded = [succeeded_matcher(contract)] if contract.latency_status else []
    return [*endpoint_matchers(objective.endpoint, contract), *succeeded]


def error_ratio(bad: str, total: str, window: str) -> str:
    """The traffic-weighted ratio of ``bad`` to ``total`` requests over ``window``.

    When no request has failed there is no ``bad`` series at all, so the numerator falls back to
    ``vector(0)``: the ratio is then 0 rather than absent (it is still absent with no traffic).
    """
    return f"(\n  {sum_rate(bad, window)}\n  or vector(0)\n)\n/\n{sum_rate(total, window)}"


def record_base(objective: Objective) -> str:
    """The recording-rule name of an objective's SLI, without its window."""
    return LATENCY_RECORD if isinstance(objective, LatencyObjective) else RATIO_RECORD


def record_name(objective: Objective, window_s: float) -> str:
    """``slogate:sli_error_ratio:rate5m`` and the like."""
    return f"{record_base(objective)}:rate{duration(window_s)}"


def sli_labels(objective: Objective, service: str) -> dict[str, str]:
    """The labels of a recorded SLI series: ``slo`` and ``service``."""
    return {"slo": objective.name, "service": service}


def recorded_sli(objective: Objective, service: str, window_s: float) -> str:
    """The selector of one objective's recorded SLI, e.g.
    ``slogate:sli_error_ratio:rate1h{slo="availability", service="shop"}``."""
    return f"{record_name(objective, window_s)}{{{matchers_of(sli_labels(objective, service))}}}"


# --- Burn rates ---------------------------------------------------------------------------------
# The windows and thresholds themselves are ``slo.burn``'s model; these are their PromQL.

def burn_rate(objective: Objective, service: str, window_s: float, allowed_bad_ratio: float) -> str:
    """The recorded bad ratio over ``window_s`` as a multiple of the allowed one."""
    return f"{recorded_sli(objective, service, window_s)} / {number(allowed_bad_ratio)}"


def burn_condition(
    objective: Objective, service: str, long_s: float, short_s: float, threshold: float
) -> str:
    """1 when both windows burn over ``threshold`` (a bad ratio), else 0 (as the alert reads)."""
    over = number(threshold)
    return (f"({recorded_sli(objective, service, long_s)} > bool {over})\n"
            f"* ({recorded_sli(objective, service, short_s)} > bool {over})")


def budget_remaining(objective: Objective, service: str, period_s: float, allowed_bad_ratio: float) -> str:
    """The share of the error budget left over the SLO period (negative once overspent)."""
    return f"1 - {burn_rate(objective, service, period_s, allowed_bad_ratio)}"
