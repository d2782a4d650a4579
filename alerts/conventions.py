"""The alerts' conventions (monitoring mixins, DESIGN.md): their names, which runbooks and
Alertmanager routes key on, the annotation templates, runbook links, and the shape every alert
here takes.

CamelCase alert names prefixed ``Slogate``; a ``severity`` label (``critical`` pages, ``warning``
makes a ticket); annotations ``summary`` (a static sentence), ``description`` (templated with
``$value``) and ``runbook_url``.
"""

from __future__ import annotations

from slogate.alerts.rulefmt import AlertingRule
from slogate.slo import promql
from slogate.slo.spec import Spec

ALERT_PREFIX = "Slogate"
ERROR_BUDGET_BURN = "SlogateErrorBudgetBurn"
LATENCY_BUDGET_BURN = "SlogateLatencyBudgetBurn"
PROXY_SERVER_ERRORS = "SlogateProxyServerErrorsHigh"
PROXY_UPSTREAM_ERRORS = "SlogateProxyUpstreamErrorsHigh"
PROXY_CIRCUIT_BREAKER_OPEN = "SlogateProxyCircuitBreakerOpen"
PROXY_LATENCY_HIGH = "SlogateProxyLatencyHigh"
PROXY_RATE_LIMITING_SPIKE = "SlogateProxyRateLimitingSpike"
PROXY_TARGET_DOWN = "SlogateProxyTargetDown"
SLI_METRICS_ABSENT = "SlogateSliMetricsAbsent"

DEFAULT_RUNBOOK_BASE = "https://github.com/slogate/slogate/blob/main/docs/runbooks.md"
"""Where runbook links point; each alert links to ``<base>#<alert name in lower case>``."""

VALUE_PERCENT = "{{ $value | humanizePercentage }}"
VALUE = "{{ $value }}"


def runbook_url(base: str, alert: str) -> str:
    return f"{base.rstrip('#')}#{alert.lower()}"


def group_name(spec: Spec, part: str) -> str:
    return f"slogate-{spec.service}-{part}"


def spec_labels(spec: Spec) -> dict[str, str]:
    """The spec's own labels, sorted, which every alert of it carries (with ``service``); a
    ValueError for a name Prometheus would refuse."""
    return {promql.label_name(k): v for k, v in sorted(spec.labels.items())}


def service_labels(spec: Spec) -> dict[str, str]:
    """The labels of the alerts about the service as a whole: the spec's own and ``service``."""
    return {**spec_labels(spec), "service": spec.service}


def alerting_rule(
    name: str,
    expr: str,
    for_s: float,
    severity: str,
    labels: dict[str, str],
    summary: str,
    description: str,
    runbook_base: str,
) -> AlertingRule:
    """An alert in the conventional shape: ``severity`` first, the three annotations."""
    return AlertingRule(
        alert=name,
        expr=expr,
        for_s=for_s,
        labels={"severity": severity, **labels},
        annotations={
            "summary": summary,
            "description": description,
            "runbook_url": runbook_url(runbook_base, name),
        },
    )
