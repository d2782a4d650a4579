"""Sloth specs into slogate's spec model: ``version: prometheus/v1`` files and the Kubernetes
``sloth.slok.dev/v1`` ``PrometheusServiceLevel`` resource (the same fields in camelCase).

Each ``slos[]`` item is an availability objective over Sloth's default 30-day period, its
``objective`` a percentage. Its SLI is kept as written (``slo.sli``): ``events`` error and total
queries, or ``raw`` error-ratio query, each with Sloth's ``{{.window}}`` range placeholder. Such
an objective is judged server-side only (a load test cannot run the user's queries). The
``alerting`` section (alert name, labels, annotations, per-tier labels and annotations, disabled
tiers) and the SLO's labels are kept as ``AlertOverrides``. SLI plugins and SLO plugins run Go code
inside Sloth; they are refused with the reason, as is a file of several services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slogate.slo.sli import WINDOW, AlertOverrides, ErrorRatioQuery, EventQueries, QuerySli, TierOverrides
from slogate.slo.spec import DEFAULT_PERIOD_S, AvailabilityObjective, Spec
from slogate.slo.specfile.problems import Checker, SpecError
from slogate.slo.specfile.source import YamlMapping, line_of
from slogate.slo.units import shown

VERSION = "prometheus/v1"
CRD_API_VERSION = "sloth.slok.dev/v1"
CRD_KIND = "PrometheusServiceLevel"


@dataclass(frozen=True)
class _Keys:
    """The field names of one Sloth form (snake_case file, camelCase Kubernetes resource)."""

    error_query: str
    total_query: str
    error_ratio_query: str
    page_alert: str
    ticket_alert: str
    slo_plugins: str


_FILE_KEYS = _Keys("error_query", "total_query", "error_ratio_query", "page_alert", "ticket_alert",
                   "slo_plugins")
_CRD_KEYS = _Keys("errorQuery", "totalQuery", "errorRatioQuery", "pageAlert", "ticketAlert", "sloPlugins")


def is_sloth(objects: list[Any]) -> bool:
    """Whether a file's objects are Sloth's: a ``version`` field (an unsupported version too) or
    the Kubernetes resource's ``apiVersion``."""
    return any(isinstance(o, YamlMapping) and (
        ("version" in o and "apiVersion" not in o) or o.get("apiVersion") == CRD_API_VERSION)
        for o in objects)


def parse_sloth(objects: list[Any], source: str) -> Spec:
    """One Spec from the Sloth specs of one file; SpecError lists every fault."""
    check = Checker(source)
    services: dict[str, int | None] = {}
    labels: dict[str, str] = {}
    objectives: list[AvailabilityObjective] = []
    for index, document in enumerate(objects):
        if document is None:
            continue
        body = _body(check, document, f"document[{index}]")
        if body is None:
            continue
        spec, keys, where = body
        service = spec.get("service")
        if not isinstance(service, str) or not service.strip():
            check.fail(line_of(spec, "service"), f"{where}service", "expected a non-empty service name")
        else:
            services.setdefault(service.strip(), line_of(spec, "service"))
        labels.update(check.strings(spec, "labels", f"{where}labels"))
        if spec.get(keys.slo_plugins):
            _refuse_plugins(check, spec, keys.slo_plugins, where)
        objectives.extend(_objectives(check, spec, keys, where))
    if len(services) > 1:
        check.fail(list(services.values())[1], "service",
                   f"one file judges one service; found {sorted(services)}: give each its own file")
    if not objectives and not check.problems:
        check.fail(1, "slos", "no SLO: a Sloth spec needs at least one slos[] item")
    names = [o.name for o in objectives]
    for name in sorted({n for n in names if names.count(n) > 1}):
        check.fail(None, "slos", f"duplicate SLO name {name!r}")
    if check.problems:
        raise SpecError(check.problems)
    return Spec(service=next(iter(services)), objectives=tuple(objectives), source=source,
                period_s=DEFAULT_PERIOD_S, labels=labels)


def _body(check: Checker, document: Any, where: str) -> tuple[YamlMapping, _Keys, str] | None:
    """The spec mapping of a document, the field names of its form and its path prefix."""
    if not isinstance(document, YamlMapping):
        check.fail(None, where, "expected a Sloth spec mapping (version: prometheus/v1)")
        return None
    if "apiVersion" in document:
        if document.get("apiVersion") != CRD_API_VERSION or document.get("kind") != CRD_KIND:
            check.fail(line_of(document, "kind"), f"{where}.kind",
                       f"expected {CRD_API_VERSION} {CRD_KIND} like the file's other documents, got "
                       f"{shown(document.get('apiVersion'))} {shown(document.get('kind'))}")
            return None
        check.unknown_fields(document, {"apiVersion", "kind", "metadata", "spec", "status"}, f"{where}.")
        spec = document.get("spec")
        if not isinstance(spec, YamlMapping):
            check.fail(line_of(document, "spec"), f"{where}.spec", "expected a mapping")
            return None
        check.unknown_fields(spec, {"service", "labels", "sloPlugins", "slos"}, f"{where}.spec.")
        return spec, _CRD_KEYS, f"{where}.spec."
    if document.get("version") != VERSION:
        check.fail(line_of(document, "version"), f"{where}.version",
                   f"unsupported Sloth version {shown(document.get('version'))}; supported: {VERSION} "
                   f"(and the Kubernetes {CRD_API_VERSION} {CRD_KIND})")
        return None
    check.unknown_fields(document, {"version", "service", "labels", "slo_plugins", "slos"}, "")
    return document, _FILE_KEYS, ""


def _refuse_plugins(check: Checker, mapping: YamlMapping, key: str, path: str) -> None:
    check.fail(line_of(mapping, key), f"{path}{key}",
               "Sloth SLO plugins change how Sloth writes its rules (Go code run by Sloth); slogate "
               "writes its own rules and cannot run them: remove the plugins, or keep using Sloth")


def _objectives(check: Checker, spec: YamlMapping, keys: _Keys, where: str) -> list[AvailabilityObjective]:
    raw = spec.get("slos")
    if not isinstance(raw, list) or not raw:
        check.fail(line_of(spec, "slos"), f"{where}slos", "expected a non-empty list of SLOs")
        return []
    result: list[AvailabilityObjective] = []
    for index, item in enumerate(raw):
        path = f"{where}slos[{index}]"
        if not isinstance(item, YamlMapping):
            check.fail(line_of(spec, "slos"), path, "expected a mapping")
            continue
        objective = _objective(check, item, keys, path)
        if objective is not None:
            result.append(objective)
    return result


def _objective(check: Checker, item: YamlMapping, keys: _Keys, path: str) -> AvailabilityObjective | None:
    before = len(check.problems)
    check.unknown_fields(item, {"name", "description", "objective", "plugins", "labels", "sli",
                                "alerting"}, f"{path}.")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        check.fail(line_of(item, "name"), f"{path}.name", "expected a non-empty name")
    objective = item.get("objective")
    if isinstance(objective, bool) or not isinstance(objective, int | float) or not 0 < objective < 100:
        check.fail(line_of(item, "objective"), f"{path}.objective",
                   f"expected a percentage between 0 and 100 exclusive, such as 99.9; got {shown(objective)}")
    if item.get("plugins"):
        _refuse_plugins(check, item, "plugins", f"{path}.")
    description = item.get("description", "")
    if not isinstance(description, str):
        check.fail(line_of(item, "description"), f"{path}.description", "expected text")
    labels = check.strings(item, "labels", f"{path}.labels")
    sli = _sli(check, item, keys, path)
    alerting = _alerting(check, item, keys, labels, path)
    if len(check.problems) > before or sli is None or not isinstance(objective, int | float):
        return None
    return AvailabilityObjective(
        name=str(name).strip(), target=round(float(objective) / 100.0, 12), period_s=DEFAULT_PERIOD_S,
        description=description if isinstance(description, str) else "",
        sli=sli, client_side=False, alerting=alerting)


def _sli(check: Checker, item: YamlMapping, keys: _Keys, path: str) -> QuerySli | None:
    sli = item.get("sli")
    if not isinstance(sli, YamlMapping):
        check.fail(line_of(item, "sli"), f"{path}.sli", "expected a mapping with events or raw")
        return None
    check.unknown_fields(sli, {"events", "raw", "plugin"}, f"{path}.sli.")
    given = [k for k in ("events", "raw", "plugin") if sli.get(k) is not None]
    if len(given) != 1:
        check.fail(sli.line, f"{path}.sli", f"expected exactly one of events, raw and plugin; got {given}")
        return None
    kind = given[0]
    body = sli[kind]
    where = f"{path}.sli.{kind}"
    if kind == "plugin":
        plugin_id = body.get("id") if isinstance(body, dict) else None
        check.fail(line_of(sli, "plugin"), where,
                   f"SLI plugin {shown(plugin_id)} is Go code that Sloth runs to write the queries; "
                   "slogate cannot run it: write the queries it produces as events (error_query, "
                   "total_query) or raw (error_ratio_query)")
        return None
    if not isinstance(body, YamlMapping):
        check.fail(line_of(sli, kind), where, "expected a mapping")
        return None
    if kind == "raw":
        check.unknown_fields(body, {keys.error_ratio_query}, f"{where}.")
        ratio = _query(check, body, keys.error_ratio_query, where)
        return None if ratio is None else ErrorRatioQuery(ratio=ratio)
    check.unknown_fields(body, {keys.error_query, keys.total_query}, f"{where}.")
    bad, total = (_query(check, body, key, where) for key in (keys.error_query, keys.total_query))
    return None if bad is None or total is None else EventQueries(total=total, bad=bad)


def _query(check: Checker, body: YamlMapping, key: str, where: str) -> str | None:
    query = body.get(key)
    if not isinstance(query, str) or not query.strip():
        check.fail(line_of(body, key), f"{where}.{key}", "expected a PromQL query")
        return None
    if WINDOW not in query:
        check.fail(line_of(body, key), f"{where}.{key}",
                   f"expected the range placeholder {WINDOW} in the query (as in [{WINDOW}])")
        return None
    return query.strip()


def _alerting(
    check: Checker, item: YamlMapping, keys: _Keys, slo_labels: dict[str, str], path: str,
) -> AlertOverrides | None:
    alerting = item.get("alerting")
    if alerting is None:
        return AlertOverrides(labels=slo_labels) if slo_labels else None
    where = f"{path}.alerting"
    if not isinstance(alerting, YamlMapping):
        check.fail(line_of(item, "alerting"), where, "expected a mapping")
        return None
    check.unknown_fields(alerting, {"name", "labels", "annotations", keys.page_alert, keys.ticket_alert},
                         f"{where}.")
    name = alerting.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        check.fail(line_of(alerting, "name"), f"{where}.name", "expected an alert name")
    page, ticket = (_tier(check, alerting, key, f"{where}.{key}") for key in (keys.page_alert,
                                                                              keys.ticket_alert))
    return AlertOverrides(
        name=name.strip() if isinstance(name, str) and name.strip() else None,
        labels={**slo_labels, **check.strings(alerting, "labels", f"{where}.labels")},
        annotations=check.strings(alerting, "annotations", f"{where}.annotations"),
        page=page, ticket=ticket, disabled=page.disabled and ticket.disabled)


def _tier(check: Checker, alerting: YamlMapping, key: str, where: str) -> TierOverrides:
    tier = alerting.get(key)
    if tier is None:
        return TierOverrides()
    if not isinstance(tier, YamlMapping):
        check.fail(line_of(alerting, key), where, "expected a mapping")
        return TierOverrides()
    check.unknown_fields(tier, {"disable", "labels", "annotations"}, f"{where}.")
    disabled = tier.get("disable", False)
    if not isinstance(disabled, bool):
        check.fail(line_of(tier, "disable"), f"{where}.disable", "expected true or false")
    labels = check.strings(tier, "labels", f"{where}.labels")
    return TierOverrides(disabled=disabled is True, labels=labels,
                         annotations=check.strings(tier, "annotations", f"{where}.annotations"),
                         severity=labels.get("severity"))
