"""Prometheus rules as values, in the shape of Prometheus' own ``rulefmt``: a recording rule, an
alerting rule, a group. Built by the alert plan's renderers; turned into YAML data only at the edge
(``as_data``), in the key order promtool and people read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slogate.slo.promql import duration


@dataclass(frozen=True)
class RecordingRule:
    """``record: <name>`` with the value of ``expr``, under ``labels``."""

    record: str
    expr: str
    labels: Mapping[str, str]

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            data["labels"] = dict(self.labels)
        return data


@dataclass(frozen=True)
class AlertingRule:
    """``alert: <name>`` while ``expr`` returns series for ``for_s`` (0: as soon as it does)."""

    alert: str
    expr: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    for_s: float = 0.0

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_s > 0.0:
            data["for"] = duration(self.for_s)
        if self.labels:
            data["labels"] = dict(self.labels)
        if self.annotations:
            data["annotations"] = dict(self.annotations)
        return data


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True)
class RuleGroup:
    """A named group of rules, evaluated together."""

    name: str
    rules: tuple[Rule, ...]

    def as_data(self) -> dict[str, Any]:
        return {"name": self.name, "rules": [rule.as_data() for rule in self.rules]}


def rule_file_data(groups: Sequence[RuleGroup]) -> dict[str, Any]:
    """A rule file's document, ``{"groups": [...]}``, ready for YAML."""
    return {"groups": [group.as_data() for group in groups]}
