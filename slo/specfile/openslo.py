"""OpenSLO v1 files into slogate's spec model.

Kinds: ``SLO`` (inline ``indicator`` or ``indicatorRef``), ``SLI``, ``DataSource`` (type
Prometheus), ``AlertPolicy`` and ``AlertCondition`` (burn-rate conditions, see
``specfile.openslo_policy``: ``slogate alerts`` builds its multi-window alerts from them),
``Service`` (its name). Indicators are Prometheus queries over
the metric contract (``slo.contract``), recognised by shape, so a load run can be judged by the
same objective Prometheus watches in production:

- ``ratioMetric`` with ``good`` = ``…_bucket{le="T"}`` and ``total`` = ``…_count``: share of
  requests under T (latency, budget form);
- ``ratioMetric`` whose ``bad`` (or ``good``) selects error (or non-error) status codes:
  error ratio (or availability);
- ``thresholdMetric`` = ``histogram_quantile(Q, …)`` with ``op: lte``/``lt`` and ``value`` in
  seconds: the Q-quantile latency at most ``value``.

``budgetingMethod`` ``Occurrences`` judges the whole run; ``Timeslices`` judges every
``timeSliceWindow`` and requires ``timeSliceTarget`` of them to be good. Route and method come from
the queries' ``http_route`` / ``http_request_method`` matchers. Anything else (another data source
type, ``RatioTimeslices``, a query of unknown shape, calendar windows in months) is an error that
names the file, line and field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.spec import (
    DEFAULT_PERIOD_S,
    AvailabilityObjective,
    ErrorRatioObjective,
    LatencyObjective,
    Objective,
    Spec,
)
from slogate.slo.specfile.openslo_policy import document_name, parse_alert_policies
from slogate.slo.specfile.problems import Checker, SpecError
from slogate.slo.specfile.source import YamlMapping, line_of
from slogate.slo.units import parse_ratio, positive_duration, shown

API_VERSION = "openslo/v1"
SUPPORTED_KINDS = ("SLO", "SLI", "DataSource", "AlertPolicy", "AlertCondition", "Service")
_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d|w)\s*$")
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_QUANTILE = re.compile(r"histogram_quantile\s*\(\s*([0-9.]+)\s*,", re.S)
_FLOAT_MAX = 1.7976931348623157e308
_LE = re.compile(r'\ble\s*=\s*"([^"]+)"')


@dataclass
class _Documents:
    slis: dict[str, YamlMapping] = field(default_factory=dict)
    sources: dict[str, YamlMapping] = field(default_factory=dict)
    policies: dict[str, YamlMapping] = field(default_factory=dict)
    conditions: dict[str, YamlMapping] = field(default_factory=dict)
    slos: list[tuple[int, YamlMapping]] = field(default_factory=list)
    services: list[str] = field(default_factory=list)


def is_openslo(objects: list[Any]) -> bool:
    """Whether a file's objects are OpenSLO's: some mapping has an ``apiVersion`` (an unsupported
    one too, so that the error names it rather than the native format's unknown fields)."""
    return any(isinstance(o, YamlMapping) and "apiVersion" in o for o in objects)


def parse_openslo(
    objects: list[Any], source: str, contract: MetricContract = DEFAULT_CONTRACT
) -> Spec:
    """One Spec from the OpenSLO objects of one file; SpecError lists every unsupported part."""
    check = Checker(source)
    found = _sort_documents(check, objects)
    if not found.slos and not check.problems:
        check.fail(1, "", "no SLO document: an OpenSLO spec needs at least one kind: SLO")

    objectives: list[Objective] = []
    services: set[str] = set()
    period = DEFAULT_PERIOD_S
    objectives_of_policy: dict[str, list[str]] = {}
    for index, slo in found.slos:
        where = f"document[{index}].spec"
        spec = slo.get("spec")
        if not isinstance(spec, YamlMapping):
            check.fail(line_of(slo, "spec"), where, "expected a mapping")
            continue
        if isinstance(spec.get("service"), str):
            services.add(spec["service"])
        period = _period(check, spec, where) or period
        slo_objectives = _objectives(check, found, document_name(slo), spec, where, contract)
        for objective in slo_objectives:
            # The SLO's time window is its error budget's period (latency objectives use the spec's).
            objectives.append(objective if isinstance(objective, LatencyObjective)
                              else replace(objective, period_s=period))
        for ref in _policy_refs(check, spec, where):
            if ref not in found.policies:
                check.fail(line_of(spec, "alertPolicies"), f"{where}.alertPolicies",
                           f"no AlertPolicy named {shown(ref)} in this file")
            objectives_of_policy.setdefault(ref, []).extend(o.name for o in slo_objectives)
    policies = parse_alert_policies(check, found.policies, found.conditions, objectives_of_policy)
    if len(services) > 1:
        check.fail(None, "spec.service", f"one file judges one service; found {sorted(services)}")
    if check.problems:
        raise SpecError(check.problems)
    service = next(iter(services), None) or (found.services[0] if found.services else "openslo")
    return Spec(service=service, objectives=tuple(objectives), source=source, period_s=period,
                alert_policies=policies,
                labels={"format": API_VERSION, **({"alert_policies": ",".join(sorted(found.policies))}
                                                   if found.policies else {})})


def _sort_documents(check: Checker, objects: list[Any]) -> _Documents:
    """The file's objects by kind, by name; a document that is no OpenSLO v1 object is a problem."""
    found = _Documents()
    for index, document in enumerate(objects):
        if document is None:
            continue
        where = f"document[{index}]"
        if not isinstance(document, YamlMapping):
            check.fail(None, where, "expected an OpenSLO mapping with apiVersion and kind")
            continue
        if document.get("apiVersion") != API_VERSION:
            check.fail(line_of(document, "apiVersion"), f"{where}.apiVersion",
                       f"unsupported {shown(document.get('apiVersion'))}; expected {API_VERSION}")
            continue
        kind = document.get("kind")
        name = document_name(document)
        if kind not in SUPPORTED_KINDS:
            check.fail(line_of(document, "kind"), f"{where}.kind",
                       f"unsupported OpenSLO kind {shown(kind)}; supported: {', '.join(SUPPORTED_KINDS)}")
        elif not name:
            check.fail(document.line, f"{where}.metadata.name", "missing")
        elif kind == "SLI":
            found.slis[name] = document
        elif kind == "DataSource":
            found.sources[name] = document
            _check_source(check, document, f"{where}.spec")
        elif kind == "AlertPolicy":
            found.policies[name] = document
        elif kind == "AlertCondition":
            found.conditions[name] = document
        elif kind == "Service":
            found.services.append(name)
        else:
            found.slos.append((index, document))
    return found


def _check_source(check: Checker, document: YamlMapping, where: str) -> None:
    spec = document.get("spec")
    kind = spec.get("type") if isinstance(spec, YamlMapping) else None
    if kind != "Prometheus":
        line = line_of(spec, "type") if isinstance(spec, YamlMapping) else document.line
        check.fail(line, f"{where}.type", f"unsupported data source type {shown(kind)}; only Prometheus")


def _period(check: Checker, spec: YamlMapping, where: str) -> float | None:
    windows = spec.get("timeWindow")
    if windows is None:
        return None
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], YamlMapping):
        check.fail(line_of(spec, "timeWindow"), f"{where}.timeWindow", "expected a list of one window")
        return None
    window = windows[0]
    duration = window.get("duration")
    match = _DURATION.match(duration) if isinstance(duration, str) else None
    if not match:
        check.fail(line_of(window, "duration"), f"{where}.timeWindow[0].duration",
                   f"unsupported duration {shown(duration)}: use minutes, hours, days or weeks (28d, 4w); "
                   "months, quarters and years are not supported")
        return None
    seconds = float(match.group(1)) * _SECONDS[match.group(2)]  # float: int() refuses 4,300+ digits
    if not math.isfinite(seconds):
        check.fail(line_of(window, "duration"), f"{where}.timeWindow[0].duration",
                   f"duration {shown(duration)} is too long")
        return None
    return seconds


def _policy_refs(check: Checker, spec: YamlMapping, where: str) -> list[str]:
    refs: list[str] = []
    raw = spec.get("alertPolicies") or []
    if not isinstance(raw, list):
        check.fail(line_of(spec, "alertPolicies"), f"{where}.alertPolicies",
                   "expected a list of AlertPolicy names or {alertPolicyRef: name}")
        return refs
    for item in raw:
        if isinstance(item, str):
            refs.append(item)
        elif isinstance(item, dict) and isinstance(item.get("alertPolicyRef"), str):
            refs.append(item["alertPolicyRef"])
    return refs


def _indicator(check: Checker, found: _Documents, spec: YamlMapping, where: str) -> YamlMapping | None:
    if "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        if not isinstance(ref, str) or ref not in found.slis:
            check.fail(line_of(spec, "indicatorRef"), f"{where}.indicatorRef",
                       f"no SLI named {shown(ref)} in this file")
            return None
        indicator = found.slis[ref].get("spec")
    else:
        inline = spec.get("indicator")
        indicator = inline.get("spec") if isinstance(inline, YamlMapping) else None
    if not isinstance(indicator, YamlMapping):
        check.fail(spec.line, f"{where}.indicator", "missing: give indicator (inline SLI) or indicatorRef")
        return None
    return indicator


def _objectives(
    check: Checker, found: _Documents, name: str, spec: YamlMapping, where: str,
    contract: MetricContract,
) -> list[Objective]:
    indicator = _indicator(check, found, spec, where)
    method = spec.get("budgetingMethod")
    if method not in ("Occurrences", "Timeslices"):
        check.fail(line_of(spec, "budgetingMethod"), f"{where}.budgetingMethod",
                   f"unsupported {shown(method)}; supported: Occurrences, Timeslices")
        return []
    raw = spec.get("objectives")
    if not isinstance(raw, list) or not raw:
        check.fail(line_of(spec, "objectives"), f"{where}.objectives", "expected a non-empty list")
        return []
    if indicator is None:
        return []
    result: list[Objective] = []
    for index, item in enumerate(raw):
        path = f"{where}.objectives[{index}]"
        if not isinstance(item, YamlMapping):
            check.fail(spec.line, path, "expected a mapping")
            continue
        label = next((v for v in (item.get("displayName"), item.get("name")) if isinstance(v, str) and v),
                     None)
        objective_name = name if len(raw) == 1 else f"{name}-{label or index}"
        common: dict[str, Any] = {"name": objective_name}
        if method == "Timeslices":
            common["window_s"] = _timeslice(check, item, path)
            common["window_target"] = _ratio(check, item, "timeSliceTarget", path)
        target = _target(check, item, path)
        objective = _from_indicator(check, indicator, item, target, common, path, contract)
        if objective is not None:
            result.append(objective)
    return result


def _target(check: Checker, item: YamlMapping, path: str) -> float | None:
    if "targetPercent" in item:
        value = item["targetPercent"]
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 100:
            return float(value) / 100.0
        check.fail(line_of(item, "targetPercent"), f"{path}.targetPercent", "expected a number in (0, 100)")
        return None
    return _ratio(check, item, "target", path)


def _ratio(check: Checker, item: YamlMapping, key: str, path: str) -> float | None:
    if key not in item:
        check.fail(item.line, f"{path}.{key}", "missing")
        return None
    value = check.convert(item, key, f"{path}.{key}", parse_ratio)
    if value is not None and not 0.0 < value <= 1.0:
        check.fail(line_of(item, key), f"{path}.{key}", "expected a fraction in (0, 1]")
        return None
    return value  # type: ignore[no-any-return]


def _timeslice(check: Checker, item: YamlMapping, path: str) -> float | None:
    if "timeSliceWindow" not in item:
        check.fail(item.line, f"{path}.timeSliceWindow", "missing; Timeslices budgeting needs it")
        return None
    return check.convert(item, "timeSliceWindow", f"{path}.timeSliceWindow",  # type: ignore[no-any-return]
                         positive_duration)


def _query(metric: Any) -> str | None:
    """The Prometheus query of an OpenSLO metric ({metricSource: {type, spec: {query}}})."""
    source = metric.get("metricSource") if isinstance(metric, dict) else None
    spec = source.get("spec") if isinstance(source, dict) else None
    query = spec.get("query") if isinstance(spec, dict) else None
    return query if isinstance(query, str) else None


def _from_indicator(
    check: Checker, indicator: YamlMapping, item: YamlMapping, target: float | None,
    common: dict[str, Any], path: str, contract: MetricContract,
) -> Objective | None:
    if "ratioMetric" in indicator:
        ratio = indicator["ratioMetric"]
        if not isinstance(ratio, YamlMapping):
            check.fail(line_of(indicator, "ratioMetric"), "indicator.ratioMetric", "expected a mapping")
            return None
        _check_source_type(check, ratio, ("good", "bad", "total"))
        good, bad, total = (_query(ratio.get(k)) for k in ("good", "bad", "total"))
        if total is None or (good is None) == (bad is None):
            check.fail(ratio.line, "indicator.ratioMetric",
                       "expected total and either good or bad, each with metricSource.spec.query")
            return None
        endpoint = _endpoint(good or bad or "", contract)
        if target is None:
            return None
        bucket = _LE.search(good or "") if good and "_bucket" in good else None
        if bucket is not None:
            threshold = _seconds(bucket.group(1))
            if threshold is None:
                check.fail(ratio.line, "indicator.ratioMetric.good", f"cannot read le={bucket.group(1)!r}")
                return None
            return LatencyObjective(percentile=target * 100.0, threshold_s=threshold, form="budget",
                                    endpoint=endpoint, **common)
        if bad is not None and contract.status_label in bad:
            return ErrorRatioObjective(max_ratio=1.0 - target, endpoint=endpoint, **common)
        if good is not None and contract.status_label in good:
            return AvailabilityObjective(target=target, endpoint=endpoint, **common)
        check.fail(ratio.line, "indicator.ratioMetric",
                   f"unrecognised queries: expected good = {contract.request_duration}_bucket{{le=…}} "
                   f"over total = …_count, or a {contract.status_label} matcher in bad or good")
        return None
    if "thresholdMetric" in indicator:
        query = _query(indicator["thresholdMetric"])
        quantile = _QUANTILE.search(query or "")
        if quantile is None:
            check.fail(line_of(indicator, "thresholdMetric"), "indicator.thresholdMetric",
                       "expected a Prometheus query histogram_quantile(Q, …) over the request duration")
            return None
        op, value = item.get("op"), item.get("value")
        # <= float max: also refuses inf, NaN and an integer too big for float() (OverflowError).
        if op not in ("lte", "lt") or isinstance(value, bool) or not isinstance(value, int | float) \
                or not 0 < value <= _FLOAT_MAX:
            check.fail(line_of(item, "op"), f"{path}.op",
                       "expected op lte (or lt) and a positive value in seconds for a latency threshold")
            return None
        q = _seconds(quantile.group(1)) or math.nan  # '1.2.3' matches [0-9.]+ but is no number
        if not 0.0 < q < 1.0:
            check.fail(line_of(indicator, "thresholdMetric"), "indicator.thresholdMetric",
                       f"expected a quantile in (0, 1), got {shown(quantile.group(1))}")
            return None
        return LatencyObjective(percentile=q * 100.0, threshold_s=float(value),
                                endpoint=_endpoint(query or "", contract), **common)
    check.fail(indicator.line, "indicator.spec",
               "unsupported indicator: expected ratioMetric or thresholdMetric")
    return None


def _check_source_type(check: Checker, ratio: YamlMapping, keys: tuple[str, ...]) -> None:
    for key in keys:
        metric = ratio.get(key)
        source = metric.get("metricSource") if isinstance(metric, dict) else None
        kind = source.get("type") if isinstance(source, dict) else None
        if kind not in (None, "Prometheus"):
            check.fail(line_of(ratio, key), f"indicator.ratioMetric.{key}.metricSource.type",
                       f"unsupported metric source {shown(kind)}; only Prometheus")


def _endpoint(query: str, contract: MetricContract) -> str | None:
    route = re.search(rf'\b{re.escape(contract.route_label)}\s*=\s*"([^"]+)"', query)
    method = re.search(rf'\b{re.escape(contract.method_label)}\s*=\s*"([^"]+)"', query)
    if route is None:
        return None
    return f"{method.group(1)} {route.group(1)}" if method else route.group(1)


def _seconds(text: str) -> float | None:
    """A positive, finite number from a query's text (le="0.25", a quantile), else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 < value < math.inf else None

