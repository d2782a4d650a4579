"""OpenSLO ``AlertPolicy`` and ``AlertCondition`` documents into slogate's alert policies.

Only burn-rate conditions exist in OpenSLO v1 (``condition.kind: burnrate``): alert when the error
budget burns at least ``threshold`` times as fast as the SLO's time window allows, over
``lookbackWindow``, once that has held for ``alertAfter``. ``slogate alerts`` turns each into a
multi-window alert (the long window is ``lookbackWindow``, the short one a twelfth of it, as in the
SRE workbook) in place of its default tiers.

A condition's ``severity`` (or, failing that, the policy's) chooses the alert's tier and
``severity`` label: ``page``/``critical`` page, ``ticket``/``warning`` make a ticket, ``info`` a
ticket labelled ``info``. ``alertWhen*`` flags and ``notificationTargets`` are Alertmanager's
business (routing), so they are accepted and not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from slogate.slo.spec import AlertPolicy, BurnRateCondition
from slogate.slo.specfile.problems import Checker
from slogate.slo.specfile.source import YamlMapping, line_of
from slogate.slo.units import parse_duration, positive_duration

Tier = Literal["page", "ticket"]

SEVERITY_TIERS: dict[str, tuple[Tier, str]] = {
    "page": ("page", "critical"),
    "critical": ("page", "critical"),
    "ticket": ("ticket", "warning"),
    "warning": ("ticket", "warning"),
    "info": ("ticket", "info"),
}
"""An OpenSLO severity (free text in the standard) as slogate's alert tier and severity label."""

BURN_OPS = ("gt", "gte")


def parse_alert_policies(
    check: Checker,
    policies: Mapping[str, YamlMapping],
    conditions: Mapping[str, YamlMapping],
    objectives_of: Mapping[str, Sequence[str]],
) -> tuple[AlertPolicy, ...]:
    """Every policy that some SLO references, with the names of the objectives it covers.

    ``conditions`` are the file's ``kind: AlertCondition`` documents, for ``conditionRef``;
    problems are added to ``check`` with their line and field.
    """
    result: list[AlertPolicy] = []
    for name, document in policies.items():
        where = f"AlertPolicy {name!r}.spec"
        spec = document.get("spec")
        if not isinstance(spec, YamlMapping):
            check.fail(line_of(document, "spec"), where, "expected a mapping")
            continue
        fallback = spec.get("severity")
        raw = spec.get("conditions")
        if not isinstance(raw, list) or not raw:
            check.fail(line_of(spec, "conditions"), f"{where}.conditions",
                       "expected a non-empty list of AlertCondition (inline or conditionRef)")
            continue
        parsed: list[BurnRateCondition] = []
        for index, item in enumerate(raw):
            path = f"{where}.conditions[{index}]"
            condition = _condition_document(check, item, conditions, spec, path)
            if condition is None:
                continue
            condition_name, body, body_path = condition
            burn = _burn_rate(check, condition_name or f"{name}-{index}", body, fallback, body_path)
            if burn is not None:
                parsed.append(burn)
        if len(parsed) == len(raw):
            description = spec.get("description")
            result.append(AlertPolicy(
                name=name, conditions=tuple(parsed), objectives=tuple(objectives_of.get(name, ())),
                description=description if isinstance(description, str) else "",
            ))
    return tuple(p for p in result if p.objectives)


def document_name(document: YamlMapping) -> str:
    """An OpenSLO document's ``metadata.name``, stripped; empty when it has none."""
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name.strip() if isinstance(name, str) else ""


def _condition_document(
    check: Checker, item: Any, conditions: Mapping[str, YamlMapping], policy: YamlMapping, path: str,
) -> tuple[str, YamlMapping, str] | None:
    """(name, the condition's spec, its field path) of an inline condition or a conditionRef."""
    if not isinstance(item, YamlMapping):
        check.fail(line_of(policy, "conditions"), path, "expected a mapping (an AlertCondition)")
        return None
    if "conditionRef" in item:
        ref = item["conditionRef"]
        if not isinstance(ref, str) or ref not in conditions:
            check.fail(line_of(item, "conditionRef"), f"{path}.conditionRef",
                       f"no AlertCondition named {ref!r} in this file")
            return None
        document = conditions[ref]
        path = f"AlertCondition {ref!r}"
    else:
        document = item
        if item.get("kind", "AlertCondition") != "AlertCondition":
            check.fail(line_of(item, "kind"), f"{path}.kind",
                       f"expected AlertCondition, got {item.get('kind')!r}")
            return None
    spec = document.get("spec")
    if not isinstance(spec, YamlMapping):
        check.fail(line_of(document, "spec"), f"{path}.spec", "expected a mapping")
        return None
    return document_name(document), spec, f"{path}.spec"


def _burn_rate(
    check: Checker, name: str, spec: YamlMapping, fallback_severity: Any, path: str,
) -> BurnRateCondition | None:
    problems = len(check.problems)
    severity = spec.get("severity", fallback_severity)
    tier_severity = SEVERITY_TIERS.get(severity.strip().lower()) if isinstance(severity, str) else None
    if tier_severity is None:
        check.fail(line_of(spec, "severity"), f"{path}.severity",
                   f"expected one of {', '.join(SEVERITY_TIERS)}, got {severity!r}")
    condition = spec.get("condition")
    if not isinstance(condition, YamlMapping):
        check.fail(line_of(spec, "condition"), f"{path}.condition",
                   "expected a mapping with kind: burnrate, op, threshold and lookbackWindow")
        return None
    path = f"{path}.condition"
    if condition.get("kind") != "burnrate":
        check.fail(line_of(condition, "kind"), f"{path}.kind",
                   f"unsupported condition kind {condition.get('kind')!r}; only burnrate")
    if condition.get("op") not in BURN_OPS:
        check.fail(line_of(condition, "op"), f"{path}.op",
                   f"expected gt or gte (alert when the burn rate is over the threshold), "
                   f"got {condition.get('op')!r}")
    factor = condition.get("threshold")
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor < 1e6:
        check.fail(line_of(condition, "threshold"), f"{path}.threshold",
                   f"expected a positive burn rate (a multiple of the sustainable rate, e.g. 14.4), "
                   f"got {factor!r}")
    lookback: float | None = None
    if "lookbackWindow" in condition:
        lookback = check.convert(condition, "lookbackWindow", f"{path}.lookbackWindow",
                                 positive_duration)
    else:
        check.fail(condition.line, f"{path}.lookbackWindow", "missing")
    after: float | None = 0.0
    if "alertAfter" in condition:
        after = check.convert(condition, "alertAfter", f"{path}.alertAfter", parse_duration)
    if (len(check.problems) > problems or tier_severity is None or lookback is None or after is None
            or not isinstance(factor, int | float)):
        return None
    tier, level = tier_severity
    return BurnRateCondition(name=name, factor=float(factor), lookback_s=lookback, tier=tier,
                             severity=level, alert_after_s=after)
