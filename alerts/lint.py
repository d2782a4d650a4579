"""A lint of the monitoring-mixin conventions (DESIGN.md) over a rule file's data.

Alerting rules: a CamelCase name with the ``Slogate`` prefix; a ``severity`` label of
``critical``, ``warning`` or ``info``; a ``summary`` annotation that is a static sentence (no
template, so notifications group on it) ending with a full stop; a ``description`` annotation;
a ``runbook_url`` with an anchor. Recording rules: a ``level:metric:operations`` name.
"""

from __future__ import annotations

import re
from typing import Any

from slogate.alerts.conventions import ALERT_PREFIX
from slogate.slo.burn import SEVERITIES

ALERT_NAME = re.compile(rf"^{ALERT_PREFIX}(?:[A-Z][a-z0-9]*)+$")
RECORD_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+$")


def lint_rules(document: dict[str, Any]) -> list[str]:
    """Every convention broken in ``document`` (``{"groups": [...]}``), as readable lines."""
    problems: list[str] = []
    for group in document.get("groups", []):
        for index, rule in enumerate(group.get("rules", [])):
            where = f"group {group.get('name')!r} rule {index + 1}"
            if "record" in rule:
                if not RECORD_NAME.match(str(rule["record"])):
                    problems.append(f"{where}: recording rule name {rule['record']!r} is not "
                                    "level:metric:operations")
                continue
            problems.extend(f"{where} ({rule.get('alert')}): {p}" for p in _alert_problems(rule))
    return problems


def _alert_problems(rule: dict[str, Any]) -> list[str]:
    problems = []
    name = str(rule.get("alert", ""))
    if not ALERT_NAME.match(name):
        problems.append(f"name {name!r} is not CamelCase with the {ALERT_PREFIX!r} prefix")
    severity = rule.get("labels", {}).get("severity")
    if severity not in SEVERITIES:
        problems.append(f"severity label {severity!r} is not one of {', '.join(SEVERITIES)}")
    annotations = rule.get("annotations", {})
    summary = str(annotations.get("summary", ""))
    if not summary.strip():
        problems.append("no summary annotation")
    elif "{{" in summary or "$value" in summary:
        problems.append("the summary is templated; keep it a static sentence")
    elif not summary.rstrip().endswith("."):
        problems.append("the summary is not a sentence ending with a full stop")
    if not str(annotations.get("description", "")).strip():
        problems.append("no description annotation")
    runbook = str(annotations.get("runbook_url", ""))
    if not re.match(r"^https?://\S+#[a-z0-9-]+$", runbook):
        problems.append(f"runbook_url {runbook!r} is not a URL with an anchor")
    return problems
