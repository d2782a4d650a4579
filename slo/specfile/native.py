"""slogate's own spec format (one YAML document: ``service``, ``objectives``...) into the model.

The field tables below are also the source of the published JSON Schema (``specfile.schema``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from slogate.slo.contract import MetricContract, resolve_contract
from slogate.slo.sli import Matcher, parse_selector
from slogate.slo.spec import (
    DEFAULT_CONFIDENCE,
    DEFAULT_PERIOD_S,
    AvailabilityObjective,
    ErrorRatioObjective,
    GoodputLimits,
    GoodputObjective,
    HitRatioObjective,
    JudgedObjective,
    LatencyKind,
    LatencyObjective,
    RunOnlyObjective,
    Spec,
    ThroughputObjective,
)
from slogate.slo.specfile.problems import Checker, SpecError, SpecProblem
from slogate.slo.specfile.source import YamlMapping, YamlSequence
from slogate.slo.units import parse_duration, parse_ratio, positive_duration, shown

TOP_FIELDS = {"service", "description", "period", "warmup", "labels", "objectives", "confidence",
              "min_duration", "family", "contract"}
COMMON_FIELDS = {"name", "kind", "endpoint", "min_samples", "gating", "description", "window",
                 "window_target", "min_duration"}
SERVER_FIELDS = {"contract", "matchers"}
"""How an objective's server-side series are read: its contract and extra label matchers."""
LATENCY_KINDS: tuple[LatencyKind, ...] = ("latency", "ttfb", "ttft", "itl", "tpot")
"""Kinds stated as a percentile or a share under a threshold (one sample per request, or per
inter-chunk gap for 'itl')."""
KIND_FIELDS: dict[str, set[str]] = {
    **{kind: {"percentile", "threshold", "target"} for kind in LATENCY_KINDS},
    "tokens_per_s": {"min", "target"},
    "error_ratio": {"max", "period", "error_statuses"},
    "availability": {"target", "period", "error_statuses"},
    "throughput": {"min"},
    "hit_ratio": {"target", "period"},
    "goodput": {"target", "limits", "period"},
}
KIND_REQUIRED: dict[str, set[str]] = {
    **{kind: {"threshold"} for kind in LATENCY_KINDS},
    "tokens_per_s": {"min", "target"},
    "error_ratio": {"max"},
    "availability": {"target"},
    "throughput": {"min"},
    "hit_ratio": {"target"},
    "goodput": {"target", "limits"},
}
WHOLE_RUN_ONLY = {"window", "window_target"}
"""Fields a hit ratio and a goodput objective lack: they are judged over the whole run only."""
RUN_ONLY_KINDS = ("hit_ratio", "goodput")
"""Kinds judged from a run only: whole runs, no server-side series."""
GOODPUT_LIMITS = ("ttft", "tpot", "total")
"""The per-request limits a goodput objective can set (each a duration)."""
_STATUS_CLASS = re.compile(r"^[1-5][0-9x]{2}$")
_RESERVED_LABELS = {"le"}
"""Labels a matcher may not pick: the histogram's bucket bound is the SLI's own."""


def objective_fields(kind: str) -> set[str]:
    """The fields an objective of ``kind`` may have (the JSON Schema's too)."""
    if kind in RUN_ONLY_KINDS:
        return (COMMON_FIELDS - WHOLE_RUN_ONLY) | KIND_FIELDS[kind]
    return COMMON_FIELDS | SERVER_FIELDS | KIND_FIELDS[kind]


def parse_native(documents: list[Any], source: str) -> Spec:
    """One Spec from the documents of a file in slogate's format; SpecError lists every fault."""
    if len(documents) > 1:
        raise SpecError([SpecProblem(source, None, "", "expected one YAML document (several "
                                     "'---' documents are for OpenSLO files, with apiVersion)")])
    document = documents[0] if documents else None

    check = Checker(source)
    if not isinstance(document, YamlMapping):
        check.fail(1, "", "expected a mapping with 'service' and 'objectives'")
        raise SpecError(check.problems)
    check.unknown_fields(document, TOP_FIELDS, "")

    service = document.get("service")
    if not isinstance(service, str) or not service.strip():
        check.fail(document.key_lines.get("service", document.line), "service",
                   "expected a non-empty service name")
    period = DEFAULT_PERIOD_S
    if "period" in document:
        period = check.convert(document, "period", "period", parse_duration) or DEFAULT_PERIOD_S
    warmup = 0.0
    if "warmup" in document:
        warmup = check.convert(document, "warmup", "warmup", parse_duration) or 0.0
    confidence = DEFAULT_CONFIDENCE
    if "confidence" in document:
        confidence = check.convert(document, "confidence", "confidence", _confidence) or confidence
    min_duration = 0.0
    if "min_duration" in document:
        min_duration = check.convert(document, "min_duration", "min_duration", parse_duration) or 0.0
    family = document.get("family", "none")
    if family not in ("none", "holm"):
        check.fail(document.key_lines["family"], "family", "expected none or holm")
        family = "none"
    labels = document.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        check.fail(document.key_lines.get("labels"), "labels", "expected a mapping of strings")
        labels = {}
    if not isinstance(document.get("description", ""), str):
        check.fail(document.key_lines["description"], "description", "expected text")

    contract = _contract(check, document, "contract", source) if "contract" in document else None
    objectives = _objectives(check, document, period, source)
    if check.problems:
        raise SpecError(check.problems)
    return Spec(
        service=str(service).strip(),
        objectives=tuple(o for o in objectives if not isinstance(
            o, ThroughputObjective | GoodputObjective | HitRatioObjective)),
        throughput_objectives=tuple(o for o in objectives if isinstance(o, ThroughputObjective)),
        run_objectives=tuple(o for o in objectives if isinstance(o, GoodputObjective | HitRatioObjective)),
        source=source,
        description=str(document.get("description", "")),
        warmup_s=warmup,
        period_s=period,
        labels={str(k): str(v) for k, v in labels.items()},
        contract=contract,
        confidence=confidence,
        min_duration_s=min_duration,
        family=family,
    )


def _objectives(check: Checker, document: YamlMapping, period: float, source: str) -> list[JudgedObjective]:
    """The objectives that are well written, in order; the others' problems go to ``check``."""
    objectives: list[JudgedObjective] = []
    raw_objectives = document.get("objectives")
    if not isinstance(raw_objectives, YamlSequence) or not raw_objectives:
        check.fail(document.key_lines.get("objectives", document.line), "objectives",
                   "expected a non-empty list of objectives")
        return objectives
    names: set[str] = set()
    for index, item in enumerate(raw_objectives):
        path = f"objectives[{index}]"
        if not isinstance(item, YamlMapping):
            check.fail(raw_objectives.item_lines[index], path, "expected a mapping")
            continue
        objective = _objective(check, item, path, period, source)
        if objective is None:
            continue
        if objective.name in names:
            check.fail(item.key_lines.get("name", item.line), f"{path}.name",
                       f"duplicate objective name {objective.name!r}")
        names.add(objective.name)
        objectives.append(objective)
    return objectives


def _objective(check: Checker, item: YamlMapping, path: str, period: float,
               source: str) -> JudgedObjective | None:
    before = len(check.problems)
    kind: Any = item.get("kind")
    if not _known_kind(kind):
        check.fail(item.key_lines.get("kind", item.line), f"{path}.kind",
                   f"expected one of: {', '.join(sorted(KIND_FIELDS))}; got {shown(kind)}")
        return None
    check.unknown_fields(item, objective_fields(kind), f"{path}.")
    for required in sorted(KIND_REQUIRED[kind]):
        if required not in item:
            check.fail(item.line, f"{path}.{required}", f"missing; a {kind} objective needs it")
    if kind in LATENCY_KINDS and ("percentile" in item) == ("target" in item):
        check.fail(item.line, f"{path}.percentile",
                   ("missing; " if "target" not in item else "") + f"a {kind} objective needs either "
                   "percentile (p99 <= threshold) or target (99% of requests under threshold), "
                   "not both")
    common = _common_fields(check, item, path)
    if kind not in RUN_ONLY_KINDS:
        common |= _server_fields(check, item, path, source)
    objective: JudgedObjective | None
    if kind in LATENCY_KINDS:
        objective = _latency(check, item, path, kind, common)
    elif kind == "tokens_per_s":
        objective = _tokens_per_s(check, item, path, common)
    elif kind in RUN_ONLY_KINDS:
        objective = _run_only(check, item, path, kind, period, common)
    elif kind == "throughput":
        floor = check.convert(item, "min", f"{path}.min", _rate) if "min" in item else None
        objective = None if floor is None else ThroughputObjective(min_rps=floor, period_s=period, **common)
    else:
        objective = _budget(check, item, path, kind, period, common)
    return objective if len(check.problems) == before else None


def _common_fields(check: Checker, item: YamlMapping, path: str) -> dict[str, Any]:
    """The fields every kind of objective has, as keyword arguments of its model."""
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        check.fail(item.key_lines.get("name", item.line), f"{path}.name",
                   "expected a non-empty name")
    endpoint = item.get("endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.strip()):
        check.fail(item.key_lines["endpoint"], f"{path}.endpoint",
                   "expected an endpoint such as 'POST /v1/messages' or '/v1/messages'")
    elif isinstance(endpoint, str) and (problem := _endpoint_problem(endpoint.strip())):
        check.fail(item.key_lines["endpoint"], f"{path}.endpoint", problem)
    min_samples = item.get("min_samples")
    if min_samples is not None and (
        isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1
    ):
        check.fail(item.key_lines["min_samples"], f"{path}.min_samples",
                   "expected a whole number of at least 1")
    gating = item.get("gating", True)
    if not isinstance(gating, bool):
        check.fail(item.key_lines["gating"], f"{path}.gating", "expected true or false")

    description = item.get("description", "")
    if not isinstance(description, str):
        check.fail(item.key_lines["description"], f"{path}.description", "expected text")
    window = None
    if "window" in item:
        window = check.convert(item, "window", f"{path}.window", positive_duration)
    window_target = 1.0
    if "window_target" in item:
        if "window" not in item:
            check.fail(item.key_lines["window_target"], f"{path}.window_target", "needs window")
        window_target = check.convert(item, "window_target", f"{path}.window_target", parse_ratio) or 1.0
    min_duration = None
    if "min_duration" in item:
        min_duration = check.convert(item, "min_duration", f"{path}.min_duration", parse_duration)
    return {
        "name": str(name).strip() if isinstance(name, str) else "",
        "endpoint": endpoint.strip() if isinstance(endpoint, str) else None,
        "min_samples": min_samples,
        "gating": gating,
        "window_s": window,
        "window_target": window_target,
        "min_duration_s": min_duration,
        "description": description if isinstance(description, str) else "",
    }


def _server_fields(check: Checker, item: YamlMapping, path: str, source: str) -> dict[str, Any]:
    """An objective's own contract and matchers, as keyword arguments of its model."""
    contract = _contract(check, item, f"{path}.contract", source) if "contract" in item else None
    matchers = _matchers(check, item, f"{path}.matchers") if "matchers" in item else ()
    return {"contract": contract, "matchers": matchers}


def _contract(check: Checker, mapping: YamlMapping, path: str, source: str) -> MetricContract | None:
    """The contract a ``contract:`` field names: a preset, a file beside the spec, or overrides."""
    try:
        return resolve_contract(mapping["contract"], Path(source).parent)
    except ValueError as exc:
        check.fail(mapping.key_lines["contract"], path, str(exc))
        return None


def _matchers(check: Checker, item: YamlMapping, path: str) -> tuple[Matcher, ...]:
    """``matchers:`` as a mapping of labels to values (equality), or PromQL matchers (one string,
    or a list of them): ``handler="api"``, ``path=~"/api/.*"``, ``server!="srv1"``."""
    raw = item["matchers"]
    line = item.key_lines["matchers"]
    found: list[tuple[int, Matcher]] = []
    if isinstance(raw, YamlMapping) and raw:
        for label, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                check.fail(raw.key_lines[label], f"{path}.{label}",
                           f"expected the label's value as text, got {shown(value)}")
                continue
            found.append((raw.key_lines[label], Matcher(str(label), "=", str(value))))
    elif isinstance(raw, str | YamlSequence) and raw:
        texts = [raw] if isinstance(raw, str) else list(raw)
        lines = [line] if isinstance(raw, str) else raw.item_lines
        for index, (text, at) in enumerate(zip(texts, lines, strict=True)):
            where = path if isinstance(raw, str) else f"{path}[{index}]"
            try:
                if not isinstance(text, str):
                    raise ValueError
                parsed = parse_selector(f"x{{{text}}}").matchers
                if not parsed:
                    raise ValueError
            except ValueError:
                check.fail(at, where, 'expected PromQL label matchers such as handler="api", '
                           f'path=~"/api/.*" or server!="srv1"; got {shown(text)}')
                continue
            found.extend((at, m) for m in parsed)
    else:
        check.fail(line, path, "expected a mapping of labels to values ({handler: api}) or a list "
                   "of PromQL label matchers (['handler=~\"api|v2\"', 'server!=\"srv1\"'])")
        return ()
    before = len(check.problems)
    for at, matcher in found:
        if problem := _matcher_problem(matcher):
            check.fail(at, path, problem)
    return tuple(m for _, m in found) if len(check.problems) == before else ()


def _matcher_problem(matcher: Matcher) -> str | None:
    """Why a matcher cannot be added to a contract's selectors, or None."""
    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", matcher.label) or matcher.label.startswith("__"):
        return (f"{matcher.label!r} is not a usable Prometheus label name (letters, digits and '_', "
                "not starting with a digit or '__')")
    if matcher.label in _RESERVED_LABELS:
        return f"{matcher} picks the histogram's bucket bound, which the SLI sets from its threshold"
    if matcher.op in ("=~", "!~"):
        try:
            re.compile(matcher.value)
        except re.error as exc:
            return f"{matcher}: not a valid regular expression ({exc})"
    return None


def _latency(
    check: Checker, item: YamlMapping, path: str, kind: LatencyKind, common: dict[str, Any],
) -> LatencyObjective | None:
    form: Literal["percentile", "budget"] = "budget" if "target" in item else "percentile"
    if form == "budget":
        share = check.convert(item, "target", f"{path}.target", parse_ratio)
        if share is not None and not 0.0 < share < 1.0:
            check.fail(item.key_lines["target"], f"{path}.target",
                       "expected a share strictly between 0% and 100%, such as 99%")
            share = None
        percentile = None if share is None else share * 100.0
    else:
        percentile = _percentile(check, item, path) if "percentile" in item else None
    threshold = (
        check.convert(item, "threshold", f"{path}.threshold", positive_duration)
        if "threshold" in item
        else None
    )
    if percentile is None or threshold is None:
        return None
    return LatencyObjective(percentile=percentile, threshold_s=threshold, kind=kind, form=form, **common)


def _share_target(check: Checker, item: YamlMapping, path: str) -> float | None:
    """A 'target' strictly between 0% and 100% (a share of good events), or None (said to ``check``)."""
    share: float | None = check.convert(item, "target", f"{path}.target", parse_ratio)
    if share is not None and not 0.0 < share < 1.0:
        check.fail(item.key_lines["target"], f"{path}.target",
                   "expected a share strictly between 0% and 100%, such as 99%")
        return None
    return share


def _tokens_per_s(check: Checker, item: YamlMapping, path: str,
                  common: dict[str, Any]) -> LatencyObjective | None:
    """A floor on each stream's output tokens/s (1 / its TPOT), kept as the TPOT ceiling it is:
    judged as the share of streams at or above the floor (``target``), never as a percentile of
    tokens/s, so it reads the same '#tpot' histogram as a tpot objective does."""
    floor = check.convert(item, "min", f"{path}.min", _token_rate) if "min" in item else None
    share = _share_target(check, item, path) if "target" in item else None
    if floor is None or share is None:
        return None
    return LatencyObjective(percentile=share * 100.0, threshold_s=1.0 / floor, kind="tokens_per_s",
                            form="budget", **common)


def _run_only(check: Checker, item: YamlMapping, path: str, kind: str, period: float,
              common: dict[str, Any]) -> RunOnlyObjective | None:
    """A hit ratio or goodput floor: a share of good events judged from a run only."""
    share = _share_target(check, item, path) if "target" in item else None
    objective_period = period
    if "period" in item:
        objective_period = check.convert(item, "period", f"{path}.period", positive_duration) or period
    if kind == "hit_ratio":
        return None if share is None else HitRatioObjective(target=share, period_s=objective_period, **common)
    limits = _limits(check, item, path) if "limits" in item else None
    if share is None or limits is None:
        return None
    return GoodputObjective(target=share, limits=limits, period_s=objective_period, **common)


def _limits(check: Checker, item: YamlMapping, path: str) -> GoodputLimits | None:
    raw = item["limits"]
    where = f"{path}.limits"
    if not isinstance(raw, YamlMapping) or not raw:
        check.fail(item.key_lines["limits"], where,
                   f"expected a mapping of {', '.join(GOODPUT_LIMITS)} to durations, such as "
                   "{ttft: 500ms, tpot: 50ms, total: 20s}")
        return None
    before = len(check.problems)
    check.unknown_fields(raw, set(GOODPUT_LIMITS), f"{where}.")
    values = {name: check.convert(raw, name, f"{where}.{name}", positive_duration)
              for name in GOODPUT_LIMITS if name in raw}
    if len(check.problems) != before:
        return None
    return GoodputLimits(ttft_s=values.get("ttft"), tpot_s=values.get("tpot"), total_s=values.get("total"))


def _token_rate(value: object) -> float:
    """Output tokens per second from '20/s', '1200/m' or a bare number."""
    try:
        return _rate(value)
    except ValueError:
        raise ValueError(f"expected output tokens per second such as 20/s or 20, "
                         f"got {shown(value)}") from None


def _budget(
    check: Checker, item: YamlMapping, path: str, kind: str, period: float, common: dict[str, Any],
) -> ErrorRatioObjective | AvailabilityObjective | None:
    """An error ratio or availability objective: a share of bad requests over a period."""
    statuses = _statuses(check, item, path) if "error_statuses" in item else ()
    common = {**common, "error_statuses": statuses}
    objective_period = period
    if "period" in item:
        objective_period = check.convert(item, "period", f"{path}.period", positive_duration)
    if kind == "error_ratio" and "max" in item:
        max_ratio = check.convert(item, "max", f"{path}.max", parse_ratio)
        if max_ratio is not None and objective_period:
            return ErrorRatioObjective(max_ratio=max_ratio, period_s=objective_period, **common)
    elif kind == "availability" and "target" in item:
        target = check.convert(item, "target", f"{path}.target", parse_ratio)
        if target is not None and not 0.0 < target < 1.0:
            check.fail(item.key_lines["target"], f"{path}.target",
                       "expected a target strictly between 0% and 100%")
        elif target is not None and objective_period:
            return AvailabilityObjective(target=target, period_s=objective_period, **common)
    return None


def _known_kind(kind: object) -> bool:
    return isinstance(kind, str) and kind in KIND_FIELDS  # a list or mapping is unhashable: no `in`


def _percentile(check: Checker, item: YamlMapping, path: str) -> float | None:
    raw = item["percentile"]
    text = raw[1:] if isinstance(raw, str) and raw.lower().startswith("p") else raw
    try:
        if isinstance(text, bool):
            raise ValueError
        value = float(text)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond float range
        value = float("nan")
    if not 0.0 < value < 100.0:
        check.fail(item.key_lines["percentile"], f"{path}.percentile",
                   f"expected a percentile between 0 and 100 exclusive, such as p99 or 99.9; "
                   f"got {shown(raw)}")
        return None
    return value


def _statuses(check: Checker, item: YamlMapping, path: str) -> tuple[str, ...]:
    raw = item["error_statuses"]
    values = raw if isinstance(raw, list) else [raw]
    result: list[str] = []
    for value in values:
        text = str(value).strip().lower() if isinstance(value, str | int) else ""
        if isinstance(value, bool) or not _STATUS_CLASS.match(text):
            check.fail(item.key_lines["error_statuses"], f"{path}.error_statuses",
                       f"expected status codes or classes such as 5xx, 429 or 50x; got {shown(value)}")
            return ()
        result.append(text)
    return tuple(result)


def _rate(value: object) -> float:
    """Requests per second from '1000/s', '60000/m' or a bare number."""
    per = {"s": 1.0, "m": 60.0, "h": 3600.0}
    text = str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else ""
    number, _, unit = text.partition("/")
    try:
        rate = float(number) / per[unit.strip() or "s"]
    except (ValueError, KeyError):
        raise ValueError(f"expected a request rate such as 1000/s or 6000/m, got {shown(value)}") from None
    if not rate > 0.0 or rate == float("inf"):
        raise ValueError(f"expected a request rate greater than zero, got {shown(value)}")
    return rate


def _confidence(value: object) -> float:
    confidence = parse_ratio(value)
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"expected a confidence from 50% up to (not including) 100%, such as 95%; "
                         f"got {shown(value)}")
    return confidence


def _endpoint_problem(endpoint: str) -> str | None:
    """Why an endpoint can never match a recorded one ('METHOD /route' or '/route'), or None.

    Scenarios record upper-case methods and routes that start with '/': 'get /content/{id}' or
    'GET content/{id}' would select nothing, and a verdict on nothing is never what was meant.
    """
    method, _, route = endpoint.rpartition(" ")
    if not route.startswith("/"):
        return f"the route must start with '/': {endpoint!r} (e.g. 'GET /content/{{id}}')"
    if method and not (method.isalpha() and method.isupper()):
        suggestion = f"{method.upper()} {route}" if method.isalpha() else f"GET {route}"
        return f"the method must be an upper-case HTTP method: {endpoint!r} (e.g. {suggestion!r})"
    return None
