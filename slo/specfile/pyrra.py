"""Pyrra ``pyrra.dev/v1alpha1`` ``ServiceLevelObjective`` resources into slogate's spec model.

Each resource is one objective over its ``window``, its ``target`` a percentage of good events;
the SLI is kept as written (``slo.sli``):

- ``ratio``: ``errors`` over ``total`` metrics (any name, any matchers) as a ``CounterRatio``;
- ``latency``: ``success`` (``…_bucket{le="T"}``) over ``total`` (``…_count``) as a
  ``HistogramLatency``, T in seconds, or milliseconds when the metric's name says so;
- ``bool_gauge``: a 0/1 gauge, good when 1, as event queries (``sum_over_time`` over
  ``count_over_time``).

``grouping`` labels are kept on the SLI (one ratio per group). ``alerting`` (name, disabled, burn
rate alerts off, severities) is kept as ``AlertOverrides``; Pyrra's fast and medium burns are
slogate's page tier, its slow and long-term burns the ticket tier. ``latencyNative`` (native
histograms) is refused with the reason. The objectives are judged server-side only. The spec's
service is the resources' namespace (else the first one's name).
"""

from __future__ import annotations

import re
from typing import Any

from slogate.slo.sli import (
    WINDOW,
    AlertOverrides,
    CounterRatio,
    EventQueries,
    HistogramLatency,
    Selector,
    TierOverrides,
    parse_selector,
)
from slogate.slo.spec import AvailabilityObjective, LatencyObjective, Objective, Spec
from slogate.slo.specfile.problems import Checker, SpecError
from slogate.slo.specfile.source import YamlMapping, line_of
from slogate.slo.units import shown

API_VERSION = "pyrra.dev/v1alpha1"
KIND = "ServiceLevelObjective"
RULE_LABEL_PREFIX = "pyrra.dev/"
"""Resource labels with this prefix are put on Pyrra's rules and alerts (without the prefix)."""

_PROMETHEUS_DURATION = re.compile(r"^(?:\d+(?:y|w|d|h|m|s|ms))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_SECONDS = {"y": 365 * 86400.0, "w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0,
            "ms": 0.001}
_SPEC_FIELDS = {"description", "target", "window", "indicator", "alerting", "partial_response_strategy",
                "performanceOverAccuracy", "ruleOutput"}
_INDICATORS = ("ratio", "latency", "latencyNative", "bool_gauge")
_MILLISECONDS = re.compile(r"(_milliseconds|_ms)(_bucket)?$")


def is_pyrra(objects: list[Any]) -> bool:
    """Whether a file's objects are Pyrra resources (by ``apiVersion``, any version of the group)."""
    return any(isinstance(o, YamlMapping) and isinstance(o.get("apiVersion"), str)
               and o["apiVersion"].startswith("pyrra.dev/") for o in objects)


def parse_pyrra(objects: list[Any], source: str) -> Spec:
    """One Spec from the Pyrra resources of one file; SpecError lists every fault."""
    check = Checker(source)
    objectives: list[Objective] = []
    periods: list[float] = []
    service = ""
    for index, document in enumerate(objects):
        if document is None:
            continue
        where = f"document[{index}]"
        if not isinstance(document, YamlMapping) or document.get("apiVersion") != API_VERSION \
                or document.get("kind") != KIND:
            line = document.line if isinstance(document, YamlMapping) else None
            check.fail(line, f"{where}.apiVersion", f"expected {API_VERSION} {KIND} resources only")
            continue
        metadata = document.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name.strip():
            check.fail(line_of(document, "metadata"), f"{where}.metadata.name", "missing")
            continue
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        service = service or (namespace if isinstance(namespace, str) and namespace else name)
        labels = metadata.get("labels") if isinstance(metadata, YamlMapping) else None
        rule_labels = {str(k)[len(RULE_LABEL_PREFIX):]: str(v) for k, v in (labels or {}).items()
                       if str(k).startswith(RULE_LABEL_PREFIX)}
        spec = document.get("spec")
        if not isinstance(spec, YamlMapping):
            check.fail(line_of(document, "spec"), f"{where}.spec", "expected a mapping")
            continue
        parsed = _objective(check, name.strip(), spec, rule_labels, f"{where}.spec")
        if parsed is not None:
            objectives.append(parsed[0])
            periods.append(parsed[1])
    _check_one_period(check, objectives, periods)
    if not objectives and not check.problems:
        check.fail(1, "", f"no {KIND} in the file")
    if check.problems:
        raise SpecError(check.problems)
    return Spec(service=service, objectives=tuple(objectives), source=source, period_s=periods[0])


def _check_one_period(check: Checker, objectives: list[Objective], periods: list[float]) -> None:
    """Latency objectives are alerted over the spec's period: they must share one window."""
    latency = {p for o, p in zip(objectives, periods, strict=True) if isinstance(o, LatencyObjective)}
    if len(latency | {periods[0]} if periods else latency) > 1:
        check.fail(None, "spec.window", "latency SLOs with different windows in one file are not "
                   "supported yet: give each window its own file")


def _objective(
    check: Checker, name: str, spec: YamlMapping, rule_labels: dict[str, str], where: str,
) -> tuple[Objective, float] | None:
    before = len(check.problems)
    check.unknown_fields(spec, _SPEC_FIELDS, f"{where}.")
    target = _target(check, spec, where)
    window = _window(check, spec, where)
    description = spec.get("description", "")
    if not isinstance(description, str):
        check.fail(line_of(spec, "description"), f"{where}.description", "expected text")
        description = ""
    alerting = _alerting(check, spec, rule_labels, f"{where}.alerting")
    indicator = spec.get("indicator")
    if not isinstance(indicator, YamlMapping):
        check.fail(line_of(spec, "indicator"), f"{where}.indicator",
                   "expected a mapping with one of ratio, latency, bool_gauge")
        return None
    kinds = [k for k in _INDICATORS if k in indicator]
    check.unknown_fields(indicator, set(_INDICATORS), f"{where}.indicator.")
    if len(kinds) != 1:
        check.fail(indicator.line, f"{where}.indicator",
                   f"expected exactly one of ratio, latency, bool_gauge; got {kinds}")
        return None
    kind = kinds[0]
    body = indicator[kind]
    path = f"{where}.indicator.{kind}"
    if not isinstance(body, YamlMapping):
        check.fail(line_of(indicator, kind), path, "expected a mapping")
        return None
    common: dict[str, Any] = {"name": name, "description": description, "client_side": False,
                              "alerting": alerting}
    objective: Objective | None = None
    if kind == "latencyNative":
        check.fail(line_of(indicator, kind), path, "native histograms are not supported: use latency "
                   "with the classic histogram's _bucket{le=…} and _count series")
    elif kind == "ratio":
        ratio = _ratio(check, body, path)
        if ratio is not None and target is not None and window is not None:
            objective = AvailabilityObjective(target=target, period_s=window, sli=ratio, **common)
    elif kind == "latency":
        latency = _latency(check, body, path)
        if latency is not None and target is not None:
            objective = LatencyObjective(percentile=target * 100.0, threshold_s=latency.threshold_s,
                                         form="budget", sli=latency, **common)
    else:
        gauge = _bool_gauge(check, body, path)
        if gauge is not None and target is not None and window is not None:
            objective = AvailabilityObjective(target=target, period_s=window, sli=gauge, **common)
    if objective is None or window is None or len(check.problems) > before:
        return None
    return objective, window


def _target(check: Checker, spec: YamlMapping, where: str) -> float | None:
    raw = spec.get("target")
    try:
        value = float(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None or not 0 < value < 100:
        check.fail(line_of(spec, "target"), f"{where}.target",
                   f"expected a percentage between 0 and 100 exclusive, such as '99.9'; got {shown(raw)}")
        return None
    return round(value / 100.0, 12)  # 99.9 / 100 is 0.9990000000000001 in binary


def _window(check: Checker, spec: YamlMapping, where: str) -> float | None:
    raw = spec.get("window")
    if not isinstance(raw, str) or not _PROMETHEUS_DURATION.match(raw.strip()):
        check.fail(line_of(spec, "window"), f"{where}.window",
                   f"expected a Prometheus duration such as 4w, 28d or 7d; got {shown(raw)}")
        return None
    seconds = sum(float(n) * _SECONDS[unit] for n, unit in _DURATION_PART.findall(raw.strip()))
    return seconds if check.period_floor(line_of(spec, "window"), f"{where}.window", seconds) else None


def _selector(check: Checker, body: YamlMapping, key: str, path: str) -> Selector | None:
    query = body.get(key)
    metric = query.get("metric") if isinstance(query, dict) else None
    if isinstance(query, YamlMapping):
        check.unknown_fields(query, {"metric"}, f"{path}.{key}.")
    if not isinstance(metric, str):
        check.fail(line_of(body, key), f"{path}.{key}.metric", "expected a metric selector")
        return None
    try:
        return parse_selector(metric)
    except ValueError as exc:
        check.fail(line_of(body, key), f"{path}.{key}.metric", str(exc))
        return None


def _grouping(check: Checker, body: YamlMapping, path: str) -> tuple[str, ...]:
    raw = body.get("grouping") or []
    if not isinstance(raw, list) or not all(isinstance(g, str) and g for g in raw):
        check.fail(line_of(body, "grouping"), f"{path}.grouping", "expected a list of label names")
        return ()
    return tuple(raw)


def _ratio(check: Checker, body: YamlMapping, path: str) -> CounterRatio | None:
    check.unknown_fields(body, {"errors", "total", "grouping"}, f"{path}.")
    errors, total = (_selector(check, body, key, path) for key in ("errors", "total"))
    grouping = _grouping(check, body, path)
    if errors is None or total is None:
        return None
    return CounterRatio(total=total, bad=errors, grouping=grouping)


def _latency(check: Checker, body: YamlMapping, path: str) -> HistogramLatency | None:
    check.unknown_fields(body, {"success", "total", "grouping"}, f"{path}.")
    success, total = (_selector(check, body, key, path) for key in ("success", "total"))
    grouping = _grouping(check, body, path)
    if success is None or total is None:
        return None
    le = success.value_of("le")
    bound = _bound(le)
    if not success.metric.endswith("_bucket") or bound is None:
        check.fail(line_of(body, "success"), f"{path}.success.metric",
                   f"expected a histogram bucket with a finite bound, such as "
                   f"…_bucket{{le=\"0.25\"}}; got {shown(str(success))}")
        return None
    if _MILLISECONDS.search(success.metric):
        return HistogramLatency(good=success, total=total, le=str(le), unit="ms",
                                threshold_s=bound / 1000.0, grouping=grouping)
    return HistogramLatency(good=success, total=total, le=str(le), threshold_s=bound, grouping=grouping)


def _bound(le: str | None) -> float | None:
    try:
        value = float(le) if le is not None else None
    except ValueError:
        return None
    return value if value is not None and 0 < value < float("inf") else None


def _bool_gauge(check: Checker, body: YamlMapping, path: str) -> EventQueries | None:
    check.unknown_fields(body, {"metric", "grouping"}, f"{path}.")
    metric = body.get("metric")
    try:
        gauge = parse_selector(metric) if isinstance(metric, str) else None
    except ValueError as exc:
        check.fail(line_of(body, "metric"), f"{path}.metric", str(exc))
        return None
    if gauge is None:
        check.fail(line_of(body, "metric"), f"{path}.metric", "expected a metric selector")
        return None
    grouping = _grouping(check, body, path)
    by = f" by ({', '.join(grouping)})" if grouping else ""
    # 1 is good, 0 bad: the samples' sum counts the good ones, their count all of them.
    return EventQueries(good=f"sum{by}(sum_over_time({gauge}[{WINDOW}]))",
                        total=f"sum{by}(count_over_time({gauge}[{WINDOW}]))")


def _alerting(
    check: Checker, spec: YamlMapping, rule_labels: dict[str, str], where: str,
) -> AlertOverrides | None:
    alerting = spec.get("alerting")
    if alerting is None:
        return AlertOverrides(labels=rule_labels) if rule_labels else None
    if not isinstance(alerting, YamlMapping):
        check.fail(line_of(spec, "alerting"), where, "expected a mapping")
        return None
    check.unknown_fields(alerting, {"disabled", "burnrates", "absent", "name", "absentName", "severities"},
                         f"{where}.")
    flags = {key: alerting.get(key) for key in ("disabled", "burnrates", "absent")}
    for key, value in flags.items():
        if value is not None and not isinstance(value, bool):
            check.fail(line_of(alerting, key), f"{where}.{key}", "expected true or false")
    name = alerting.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        check.fail(line_of(alerting, "name"), f"{where}.name", "expected an alert name")
    severities = check.strings(alerting, "severities", f"{where}.severities")
    page, ticket = (_tier_severity(check, alerting, severities, pair, where)
                    for pair in (("fastBurn", "mediumBurn"), ("slowBurn", "longTermBurn")))
    off = flags["disabled"] is True or flags["burnrates"] is False
    return AlertOverrides(name=name.strip() if isinstance(name, str) and name.strip() else None,
                          labels=rule_labels, disabled=off,
                          page=TierOverrides(disabled=off, severity=page),
                          ticket=TierOverrides(disabled=off, severity=ticket))


def _tier_severity(
    check: Checker, alerting: YamlMapping, severities: dict[str, str], pair: tuple[str, str], where: str,
) -> str | None:
    """One slogate tier's severity from Pyrra's two burns it stands for (they must agree)."""
    given = {severities[k] for k in pair if k in severities}
    if len(given) > 1:
        check.fail(line_of(alerting, "severities"), f"{where}.severities",
                   f"{pair[0]} and {pair[1]} are one alert tier in slogate (page: fast and medium "
                   "burn, ticket: slow and long-term burn) and must have the same severity")
        return None
    return next(iter(given), None)
