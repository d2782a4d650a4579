"""OpenSLO v1 indicators (``ratioMetric``, ``thresholdMetric`` over Prometheus) into objectives
that carry the user's own queries (``slo.sli``), metric names and matchers as written.

- ``ratioMetric`` whose ``good`` is a histogram bucket (``…_bucket{le="T"}``) over its ``_count``:
  share of observations under T (latency, budget form; seconds, or milliseconds when the metric's
  name says so);
- ``ratioMetric`` ``bad`` (or ``good``) over ``total``, any counters with any matchers: error ratio
  (or availability). Each query is a selector, optionally summed (``sum``, ``sum by``) and
  optionally a ``rate``/``irate``/``increase`` of it. ``counter: false`` (gauges of events per
  sample) is honoured for plain selectors, and refused on a ``rate()``, which presumes a counter;
- ``thresholdMetric`` ``histogram_quantile(Q, …)`` with ``op: lte``/``lt`` and ``value`` (seconds,
  or milliseconds for a histogram named so): the Q-quantile at most ``value``.

What a load test can measure of it (``endpoint``, ``error_statuses``) is read when the queries
are over the metric contract's request histogram and match only its route, method and status
labels (scope labels such as ``job`` aside); otherwise the objective is judged server-side only
(``client_side`` False) instead of being rewritten into something else.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from slogate.slo.contract import MetricContract
from slogate.slo.sli import (
    CounterRatio,
    HistogramLatency,
    Matcher,
    QuantileThreshold,
    Selector,
    parse_selector,
)
from slogate.slo.spec import AvailabilityObjective, ErrorRatioObjective, LatencyObjective, Objective
from slogate.slo.specfile.problems import Checker
from slogate.slo.specfile.source import YamlMapping, line_of
from slogate.slo.units import shown

_QUANTILE = re.compile(r"histogram_quantile\s*\(\s*([0-9.]+)\s*,", re.S)
_FLOAT_MAX = 1.7976931348623157e308
_SUM = re.compile(r"^\s*sum\s*(?:(?:by|without)\s*\(([^)]*)\)\s*)?\((.*)\)"
                  r"\s*(?:(by|without)\s*\(([^)]*)\))?\s*$", re.S)
_RATE = re.compile(r"^\s*(rate|irate|increase)\s*\((.*)\[\s*[0-9a-z]+\s*\]\s*\)\s*$", re.S)
_MILLISECONDS = re.compile(r"(_milliseconds|_ms)(_bucket|_count)?$")
_RANGE_SELECTOR = re.compile(r"\[\s*(\d+)(s|m|h|d|w)\s*[\]:]")
_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_STATUS_ALTERNATIVE = re.compile(r"^[1-5][0-9.x]{2}$")


@dataclass(frozen=True)
class _Counter:
    """One ratio query read as a counter: its selector, whether it took a rate, its grouping."""

    selector: Selector
    rated: bool
    grouping: tuple[str, ...]


def query_of(metric: Any) -> str | None:
    """The Prometheus query of an OpenSLO metric ({metricSource: {type, spec: {query}}})."""
    source = metric.get("metricSource") if isinstance(metric, dict) else None
    spec = source.get("spec") if isinstance(source, dict) else None
    query = spec.get("query") if isinstance(spec, dict) else None
    return query if isinstance(query, str) else None


def ratio_objective(
    check: Checker, ratio: YamlMapping, share: float | None, common: dict[str, Any],
    contract: MetricContract,
) -> Objective | None:
    """The objective of a ``ratioMetric`` whose good share must be at least ``share``."""
    _check_source_type(check, ratio, ("good", "bad", "total"))
    good, bad, total = (query_of(ratio.get(k)) for k in ("good", "bad", "total"))
    if "raw" in ratio:
        check.fail(line_of(ratio, "raw"), "indicator.ratioMetric.raw",
                   "a precomputed ratio (raw) is not supported: give good or bad over total counters")
        return None
    if total is None or (good is None) == (bad is None):
        check.fail(ratio.line, "indicator.ratioMetric",
                   "expected total and either good or bad, each with metricSource.spec.query")
        return None
    counter = ratio.get("counter", True)
    if not isinstance(counter, bool):
        check.fail(line_of(ratio, "counter"), "indicator.ratioMetric.counter", "expected true or false")
        return None
    read = {key: _read_counter(check, ratio, key, query) for key, query in
            (("good", good), ("bad", bad), ("total", total)) if query is not None}
    if any(r is None for r in read.values()) or share is None:
        return None
    counters = {k: r for k, r in read.items() if r is not None}
    numerator_key = "good" if good is not None else "bad"
    numerator, denominator = counters[numerator_key], counters["total"]
    if not counter and (numerator.rated or denominator.rated):
        check.fail(line_of(ratio, "counter"), "indicator.ratioMetric.counter",
                   "counter: false says the series are gauges, but the queries take a rate() of them, "
                   "which only counters have: drop the rate() or say counter: true")
        return None
    if good is not None and numerator.selector.value_of("le") is not None:
        return _latency_share(check, ratio, numerator, denominator, share, common, contract, counter)
    sli = CounterRatio(total=denominator.selector, counter=counter, grouping=denominator.grouping,
                       bad=numerator.selector if numerator_key == "bad" else None,
                       good=numerator.selector if numerator_key == "good" else None)
    client = _client_side(numerator.selector, denominator.selector, numerator_key, contract)
    if client is None:
        common = {**common, "client_side": False}
    else:
        common = {**common, "endpoint": client[0], "error_statuses": client[1]}
    if numerator_key == "bad":
        return ErrorRatioObjective(max_ratio=1.0 - share, sli=sli, **common)
    return AvailabilityObjective(target=share, sli=sli, **common)


def _read_counter(check: Checker, ratio: YamlMapping, key: str, query: str) -> _Counter | None:
    rest = query
    grouping: tuple[str, ...] = ()
    summed = _SUM.match(rest)
    if summed:
        rest = summed.group(2)
        by = summed.group(1) if summed.group(1) is not None else summed.group(4)
        grouping = tuple(g.strip() for g in (by or "").split(",") if g.strip())
        if summed.group(3) == "without" or re.match(r"^\s*sum\s*without", query):
            grouping = ()
    rated = _RATE.match(rest)
    try:
        selector = parse_selector(rated.group(2) if rated else rest)
    except ValueError:
        check.fail(line_of(ratio, key), f"indicator.ratioMetric.{key}.metricSource.spec.query",
                   f"cannot read {shown(query)} as one counter: expected a selector such as "
                   "metric{label=~\"value\"}, optionally in rate()/increase() and sum() or sum by (…)")
        return None
    return _Counter(selector, rated is not None, grouping)


def _latency_share(
    check: Checker, ratio: YamlMapping, good: _Counter, total: _Counter, share: float,
    common: dict[str, Any], contract: MetricContract, counter: bool,
) -> LatencyObjective | None:
    le = good.selector.value_of("le") or ""
    bound = _positive(le)
    if bound is None or not good.selector.metric.endswith("_bucket") or not counter:
        check.fail(ratio.line, "indicator.ratioMetric.good",
                   "expected a histogram bucket counter with a finite bound, such as "
                   f"…_bucket{{le=\"0.25\"}}; got {shown(str(good.selector))}")
        return None
    milliseconds = bool(_MILLISECONDS.search(good.selector.metric))
    sli = HistogramLatency(good=good.selector, total=total.selector, le=le,
                           threshold_s=bound / 1000.0 if milliseconds else bound,
                           unit="ms" if milliseconds else "s", grouping=total.grouping)
    client = _client_side(good.selector.without("le"), total.selector, "good", contract, histogram=True)
    extra = {"client_side": False} if client is None else {"endpoint": client[0]}
    return LatencyObjective(percentile=share * 100.0, threshold_s=sli.threshold_s, form="budget",
                            sli=sli, **common, **extra)


def threshold_objective(
    check: Checker, indicator: YamlMapping, item: YamlMapping, path: str, common: dict[str, Any],
    contract: MetricContract,
) -> LatencyObjective | None:
    """The objective of a ``thresholdMetric``: a quantile of latency at most ``value``."""
    query = query_of(indicator["thresholdMetric"])
    quantile = _QUANTILE.search(query or "")
    if query is None or quantile is None:
        check.fail(line_of(indicator, "thresholdMetric"), "indicator.thresholdMetric",
                   "expected a Prometheus query histogram_quantile(Q, …) over a latency histogram")
        return None
    op, value = item.get("op"), item.get("value")
    # <= float max: also refuses inf, NaN and an integer too big for float() (OverflowError).
    if op not in ("lte", "lt") or isinstance(value, bool) or not isinstance(value, int | float) \
            or not 0 < value <= _FLOAT_MAX:
        check.fail(line_of(item, "op"), f"{path}.op",
                   "expected op lte (or lt) and a positive value in seconds for a latency threshold")
        return None
    q = _positive(quantile.group(1)) or math.nan  # '1.2.3' matches [0-9.]+ but is no number
    if not 0.0 < q < 1.0:
        check.fail(line_of(indicator, "thresholdMetric"), "indicator.thresholdMetric",
                   f"expected a quantile in (0, 1), got {shown(quantile.group(1))}")
        return None
    metric = re.search(r"([a-zA-Z_:][a-zA-Z0-9_:]*)_bucket\b", query)
    value_s = float(value) / 1000.0 if metric and _MILLISECONDS.search(metric.group(1)) else float(value)
    sli = QuantileThreshold(query=query.strip(), quantile=q, op=op, value_s=value_s)
    ours = metric is not None and metric.group(1) == contract.request_duration
    extra: dict[str, Any] = {"endpoint": _endpoint_of(query, contract)} if ours else {"client_side": False}
    return LatencyObjective(percentile=q * 100.0, threshold_s=value_s, sli=sli, **common, **extra)


def range_s(query: str) -> float | None:
    """The length of the first range in a query (``rate(x[5m])``: 300), None if it has none."""
    found = _RANGE_SELECTOR.search(query)
    return float(found.group(1)) * _SECONDS[found.group(2)] if found else None


def _client_side(
    numerator: Selector, total: Selector, key: str, contract: MetricContract, histogram: bool = False,
) -> tuple[str | None, tuple[str, ...]] | None:
    """(endpoint, error statuses) a load test measures the same SLI by, or None when it cannot:
    the queries must be over the contract's request histogram and match its route and method
    by equality, the numerator's status by a class list (``=~"5..|429"``, negated for good)."""
    suffix = "_count"
    if total.metric != contract.request_duration + suffix or numerator.metric != (
            contract.request_duration + ("_bucket" if histogram else suffix)):
        return None
    request_labels = (contract.route_label, contract.method_label)
    scope = [m for m in total.matchers if m.label in request_labels]
    numerator_scope = [m for m in numerator.matchers if m.label in request_labels]
    if any(m.op != "=" for m in scope) or numerator_scope != scope:
        return None
    route, method = total.value_of(contract.route_label), total.value_of(contract.method_label)
    endpoint = None if route is None else f"{method} {route}" if method else route
    statuses = [m for m in numerator.matchers if m.label == contract.status_label]
    if histogram:
        return (endpoint, ()) if not statuses and not any(
            m.label == contract.status_label for m in total.matchers) else None
    if len(statuses) != 1 or any(m.label == contract.status_label for m in total.matchers):
        return None
    return _statuses(statuses[0], key, contract, endpoint)


def _statuses(
    matcher: Matcher, key: str, contract: MetricContract, endpoint: str | None,
) -> tuple[str | None, tuple[str, ...]] | None:
    wanted = ("=", "=~") if key == "bad" else ("!=", "!~")
    if matcher.op not in wanted:
        return None
    positive = matcher.op if key == "bad" else {"!=": "=", "!~": "=~"}[matcher.op]
    if f'{positive}"{matcher.value}"' == contract.error_status_matcher:
        return endpoint, ()  # the contract's own error statuses: the recorder's failed requests
    alternatives = matcher.value.strip("()").split("|") if matcher.op.endswith("~") else [matcher.value]
    if not all(_STATUS_ALTERNATIVE.match(a) for a in alternatives):
        return None
    return endpoint, tuple(a.replace(".", "x") for a in alternatives)


def _endpoint_of(query: str, contract: MetricContract) -> str | None:
    route = re.search(rf'\b{re.escape(contract.route_label)}\s*=\s*"([^"]+)"', query)
    method = re.search(rf'\b{re.escape(contract.method_label)}\s*=\s*"([^"]+)"', query)
    if route is None:
        return None
    return f"{method.group(1)} {route.group(1)}" if method else route.group(1)


def _check_source_type(check: Checker, ratio: YamlMapping, keys: tuple[str, ...]) -> None:
    for key in keys:
        metric = ratio.get(key)
        source = metric.get("metricSource") if isinstance(metric, dict) else None
        kind = source.get("type") if isinstance(source, dict) else None
        if kind not in (None, "Prometheus"):
            check.fail(line_of(ratio, key), f"indicator.ratioMetric.{key}.metricSource.type",
                       f"unsupported metric source {shown(kind)}; only Prometheus")


def _positive(text: str) -> float | None:
    """A positive, finite number from a query's text (le="0.25", a quantile), else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 < value < math.inf else None
