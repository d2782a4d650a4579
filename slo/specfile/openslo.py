"""OpenSLO v1 files into slogate's spec model.

Kinds: ``SLO`` (inline ``indicator`` or ``indicatorRef``), ``SLI``, ``DataSource`` (type
Prometheus), ``AlertPolicy`` and ``AlertCondition`` (burn-rate conditions, see
``specfile.openslo_policy``: ``slogate alerts`` builds its multi-window alerts from them; policies
inline in an SLO too), ``AlertNotificationTarget`` (routing: Alertmanager's business, accepted and
not used), ``Service`` (its name). Indicators (``specfile.openslo_indicator``) keep the user's
Prometheus queries, metric names and matchers as written.

Budgeting, with OpenSLO's meaning: ``Occurrences`` counts good events over the window: a ratio's
share must reach ``target``; a ``thresholdMetric``'s data points (one per range of its query, else
per minute) must meet ``op value`` in a ``target`` share of them. ``Timeslices`` judges every
``timeSliceWindow``: a slice is good when its ratio reaches ``timeSliceTarget`` (a threshold's
quantile meets ``op value``), and ``target`` of the slices must be good.

Time windows: rolling in minutes, hours, days or weeks (at least an hour: ``1m`` is a minute, not a
month); calendar-aligned (``isRolling: false`` or ``calendar``) for one day, week or month.
Anything else (another data source type, ``RatioTimeslices``, ``raw`` ratios, a query of unknown
shape, quarters and years) is an error that names the file, line and field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.spec import (
    CALENDAR_PERIOD_S,
    DEFAULT_PERIOD_S,
    Calendar,
    LatencyObjective,
    Objective,
    Spec,
)
from slogate.slo.specfile.openslo_indicator import query_of, range_s, ratio_objective, threshold_objective
from slogate.slo.specfile.openslo_policy import document_name, parse_alert_policies
from slogate.slo.specfile.problems import Checker, SpecError
from slogate.slo.specfile.source import YamlMapping, line_of, source_of
from slogate.slo.units import parse_ratio, positive_duration, shown

API_VERSION = "openslo/v1"
SUPPORTED_KINDS = ("SLO", "SLI", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget",
                   "Service")
_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d|w|M|Q|Y)\s*$")
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_CALENDARS: dict[str, Calendar] = {"1d": "day", "1w": "week", "1M": "month"}
DATA_POINT_S = 60.0
"""The spacing of a thresholdMetric's data points when its query has no range of its own."""


@dataclass(frozen=True)
class _Window:
    """An SLO's time window: its length, and the calendar unit when it is calendar-aligned."""

    period_s: float
    calendar: Calendar | None = None


@dataclass
class _Documents:
    scope: str = "in this file"
    """Where a referenced object was looked for, for the problem when it is not there."""
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


_REFERENCES = {"indicatorRef": "SLI", "alertPolicyRef": "AlertPolicy", "conditionRef": "AlertCondition",
               "targetRef": "AlertNotificationTarget", "metricSourceRef": "DataSource", "service": "Service"}
"""The fields that name another OpenSLO object, and its kind."""


def references(objects: list[Any]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(kind, name) of the OpenSLO v1 objects among ``objects``, and of the objects they name: the
    files of one spec are those whose objects name each other's."""
    mine = [o for o in objects if isinstance(o, YamlMapping) and o.get("apiVersion") == API_VERSION]
    defined = {(o["kind"], document_name(o)) for o in mine if isinstance(o.get("kind"), str)}
    named: set[tuple[str, str]] = set()
    pending: list[Any] = list(mine)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            named.update((_REFERENCES[key], value) for key, value in node.items()
                         if key in _REFERENCES and isinstance(value, str))
            policies = node.get("alertPolicies")
            if isinstance(policies, list):  # policies by bare name
                named.update(("AlertPolicy", v) for v in policies if isinstance(v, str))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return defined, named


def parse_openslo(
    objects: list[Any], source: str, contract: MetricContract = DEFAULT_CONTRACT
) -> Spec:
    """One Spec from the OpenSLO objects of one file, or of several loaded together (references
    resolve across them); SpecError lists every unsupported part."""
    check = Checker(source)
    found = _sort_documents(check, objects)
    if not found.slos and not check.problems:
        check.fail(1, "", "no SLO document: an OpenSLO spec needs at least one kind: SLO")

    objectives: list[Objective] = []
    services: set[str] = set()
    window = _Window(DEFAULT_PERIOD_S)
    latency_windows: set[_Window] = set()
    objectives_of_policy: dict[str, list[str]] = {}
    for index, slo in found.slos:
        where = f"document[{index}].spec"
        spec = slo.get("spec")
        if not isinstance(spec, YamlMapping):
            check.fail(line_of(slo, "spec"), where, "expected a mapping")
            continue
        if isinstance(spec.get("service"), str):
            services.add(spec["service"])
        window = _window(check, spec, where) or window
        slo_objectives = _objectives(check, found, document_name(slo), spec, where, contract)
        for objective in slo_objectives:
            # The SLO's time window is its error budget's period (latency objectives use the spec's).
            if isinstance(objective, LatencyObjective):
                latency_windows.add(window)
                objectives.append(objective)
            else:
                objectives.append(replace(objective, period_s=window.period_s, calendar=window.calendar))
        for ref in _policy_refs(check, found, spec, where):
            objectives_of_policy.setdefault(ref, []).extend(o.name for o in slo_objectives)
    if len(latency_windows) > 1:
        check.fail(None, "spec.timeWindow", "latency SLOs with different time windows in one file are "
                   "not supported yet: give each window its own file")
    window = next(iter(latency_windows), window)
    policies = parse_alert_policies(check, found.policies, found.conditions, objectives_of_policy)
    if len(services) > 1:
        check.fail(None, "spec.service", f"one file judges one service; found {sorted(services)}")
    if check.problems:
        raise SpecError(check.problems)
    service = next(iter(services), None) or (found.services[0] if found.services else "openslo")
    return Spec(service=service, objectives=tuple(objectives), source=source, period_s=window.period_s,
                calendar=window.calendar, alert_policies=policies,
                labels={"format": API_VERSION, **({"alert_policies": ",".join(sorted(found.policies))}
                                                   if found.policies else {})})


_BY_NAME = {"SLI": "slis", "DataSource": "sources", "AlertPolicy": "policies", "AlertCondition": "conditions"}
"""The kinds other objects refer to by name, and where ``_Documents`` keeps them."""


def _sort_documents(check: Checker, objects: list[Any]) -> _Documents:
    """The file's objects by kind, by name; a document that is no OpenSLO v1 object is a problem."""
    sources = {source_of(o.line) for o in objects if isinstance(o, YamlMapping)}
    found = _Documents(scope="in the files loaded together" if len(sources) > 1 else
                       "in this file (one in another file: pass both files together)")
    for index, document in enumerate(objects):
        if document is None:
            continue
        if isinstance(document, YamlMapping) and document.position is not None:
            index = document.position  # one of several files': its index in its own file
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
        elif kind in _BY_NAME:
            named = getattr(found, _BY_NAME[kind])
            if name in named:  # a reference to it would be ambiguous: the last one must not win silently
                first = named[name]
                check.fail(line_of(document, "metadata"), f"{where}.metadata.name",
                           f"a second {kind} named {shown(name)} (the first is at "
                           f"{source_of(first.line) or check.source}:{line_of(first, 'metadata')})")
            named[name] = document
            if kind == "DataSource":
                _check_source(check, document, f"{where}.spec")
        elif kind == "Service":
            found.services.append(name)
        elif kind == "SLO":
            found.slos.append((index, document))
    return found


def _check_source(check: Checker, document: YamlMapping, where: str) -> None:
    spec = document.get("spec")
    kind = spec.get("type") if isinstance(spec, YamlMapping) else None
    if kind != "Prometheus":
        line = line_of(spec, "type") if isinstance(spec, YamlMapping) else document.line
        check.fail(line, f"{where}.type", f"unsupported data source type {shown(kind)}; only Prometheus")


def _window(check: Checker, spec: YamlMapping, where: str) -> _Window | None:
    windows = spec.get("timeWindow")
    if windows is None:
        return None
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], YamlMapping):
        check.fail(line_of(spec, "timeWindow"), f"{where}.timeWindow", "expected a list of one window")
        return None
    window = windows[0]
    path, line = f"{where}.timeWindow[0]", line_of(window, "duration")
    rolling = window.get("isRolling", "calendar" not in window)
    if not isinstance(rolling, bool):
        check.fail(line_of(window, "isRolling"), f"{path}.isRolling", "expected true or false")
        return None
    duration = window.get("duration")
    if not rolling:
        calendar = _CALENDARS.get(duration.strip()) if isinstance(duration, str) else None
        if calendar is None:
            check.fail(line, f"{path}.duration",
                       f"unsupported calendar window {shown(duration)}: supported are 1d, 1w and 1M "
                       "(a calendar day, week or month)")
            return None
        return _Window(CALENDAR_PERIOD_S[calendar], calendar)
    match = _DURATION.match(duration) if isinstance(duration, str) else None
    if not match or match.group(2) in "MQY":
        check.fail(line, f"{path}.duration",
                   f"unsupported duration {shown(duration)} for a rolling window: use minutes, hours, days "
                   "or weeks (28d, 4w); months, quarters and years have no fixed length (a calendar month "
                   "is isRolling: false with 1M)")
        return None
    seconds = float(match.group(1)) * _SECONDS[match.group(2)]  # float: int() refuses 4,300+ digits
    if not math.isfinite(seconds):
        check.fail(line, f"{path}.duration", f"duration {shown(duration)} is too long")
        return None
    return _Window(seconds) if check.period_floor(line, f"{path}.duration", seconds) else None


def _policy_refs(check: Checker, found: _Documents, spec: YamlMapping, where: str) -> list[str]:
    """The names of an SLO's alert policies; inline ones join the file's policies."""
    refs: list[str] = []
    raw = spec.get("alertPolicies") or []
    path = f"{where}.alertPolicies"
    if not isinstance(raw, list):
        check.fail(line_of(spec, "alertPolicies"), path,
                   "expected a list of AlertPolicy names, {alertPolicyRef: name} or inline AlertPolicy")
        return refs
    for index, item in enumerate(raw):
        ref = item.get("alertPolicyRef") if isinstance(item, dict) else item
        if isinstance(item, YamlMapping) and ref is None and item.get("kind") == "AlertPolicy":
            ref = document_name(item)
            if not ref:
                check.fail(item.line, f"{path}[{index}].metadata.name", "missing")
                continue
            found.policies[ref] = item
        if not isinstance(ref, str):
            check.fail(line_of(spec, "alertPolicies"), f"{path}[{index}]",
                       "expected an AlertPolicy name, {alertPolicyRef: name} or an inline kind: AlertPolicy")
        elif ref not in found.policies:
            check.fail(line_of(spec, "alertPolicies"), path,
                       f"no AlertPolicy named {shown(ref)} {found.scope}")
        else:
            refs.append(ref)
    return refs


def _indicator(check: Checker, found: _Documents, spec: YamlMapping, where: str) -> YamlMapping | None:
    if "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        if not isinstance(ref, str) or ref not in found.slis:
            check.fail(line_of(spec, "indicatorRef"), f"{where}.indicatorRef",
                       f"no SLI named {shown(ref)} {found.scope}")
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
        hint = " (the field is objectives, not objective)" if "objective" in spec else ""
        check.fail(line_of(spec, "objectives"), f"{where}.objectives", f"expected a non-empty list{hint}")
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
        objective = _objective(check, indicator, item, method == "Timeslices", objective_name, path, contract)
        if objective is not None:
            result.append(objective)
    return result


def _objective(
    check: Checker, indicator: YamlMapping, item: YamlMapping, timeslices: bool, name: str, path: str,
    contract: MetricContract,
) -> Objective | None:
    """One OpenSLO objective: with Timeslices, ``timeSliceTarget`` judges each slice and ``target``
    is the share of good slices; with Occurrences, ``target`` is the share of good events (of good
    data points for a thresholdMetric)."""
    target = _target(check, item, path)
    common: dict[str, Any] = {"name": name}
    slice_target: float | None = None
    if timeslices:
        common["window_s"] = _timeslice(check, item, path)
        slice_target = _ratio(check, item, "timeSliceTarget", path)
        common["window_target"] = target
    if "ratioMetric" in indicator:
        ratio = indicator["ratioMetric"]
        if not isinstance(ratio, YamlMapping):
            check.fail(line_of(indicator, "ratioMetric"), "indicator.ratioMetric", "expected a mapping")
            return None
        if timeslices and (target is None or common["window_s"] is None):
            return None
        return ratio_objective(check, ratio, slice_target if timeslices else target, common, contract)
    if "thresholdMetric" in indicator:
        if timeslices and slice_target is not None and slice_target < 1.0:
            check.fail(line_of(item, "timeSliceTarget"), f"{path}.timeSliceTarget",
                       "a thresholdMetric slice is judged on its one quantile (good when it meets op "
                       "value); a timeSliceTarget below 1 (a share of a slice's data points) is not "
                       "supported: use 1")
            return None
        if not timeslices:
            query = query_of(indicator["thresholdMetric"]) or ""
            common["window_s"] = range_s(query) or DATA_POINT_S
            common["window_target"] = target
        if target is None or common.get("window_s") is None:
            return None
        return threshold_objective(check, indicator, item, path, common, contract)
    check.fail(indicator.line, "indicator.spec",
               "unsupported indicator: expected ratioMetric or thresholdMetric (rawMetric and composite "
               "SLOs are not supported)")
    return None


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
