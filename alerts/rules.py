"""The rule groups: SLI recording rules, burn-rate alerts per objective, proxy health alerts.

Conventions (monitoring mixins): CamelCase alert names prefixed ``Slogate``; a ``severity`` label
(``critical`` pages, ``warning`` makes a ticket); annotations ``summary`` (a static sentence),
``description`` (templated with ``$value``) and ``runbook_url``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alerts.sli import Sli, slis
from alerts.windows import RECORD_WINDOWS_S, WORKBOOK_WINDOWS, ActiveWindow, active_windows
from slo import promql
from slo.contract import LATENCY_BUCKETS_S, MetricContract
from slo.spec import LatencyObjective, Spec
from slo.units import format_duration, format_ratio

Rule = dict[str, Any]

DEFAULT_RUNBOOK_BASE = "https://github.com/slogate/slogate/blob/main/docs/runbooks.md"
"""Where runbook links point; each alert links to ``<base>#<alert name in lower case>``."""

ERROR_BUDGET_BURN = "SlogateErrorBudgetBurn"
LATENCY_BUDGET_BURN = "SlogateLatencyBudgetBurn"
PROXY_SERVER_ERRORS = "SlogateProxyServerErrorsHigh"
PROXY_UPSTREAM_ERRORS = "SlogateProxyUpstreamErrorsHigh"
PROXY_CIRCUIT_BREAKER_OPEN = "SlogateProxyCircuitBreakerOpen"

VALUE_PERCENT = "{{ $value | humanizePercentage }}"
VALUE = "{{ $value }}"


@dataclass(frozen=True)
class HealthThresholds:
    """When the proxy health alerts fire; each holds for ``for_s`` over a ``window_s`` rate."""

    server_error_ratio: float = 0.05
    upstream_error_ratio: float = 0.05
    breaker_open_state: float = 2.0  # the contract's gauge: 0 closed, 1 half-open, 2 open
    window_s: float = 300.0
    for_s: float = 300.0
    breaker_for_s: float = 60.0


DEFAULT_HEALTH = HealthThresholds()


def runbook_url(base: str, alert: str) -> str:
    return f"{base.rstrip('#')}#{alert.lower()}"


def group_name(spec: Spec, part: str) -> str:
    return f"slogate-{spec.service}-{part}"


@dataclass(frozen=True)
class BurnAlert:
    """One window pair of one objective, as an alerting rule."""

    sli: Sli
    active: ActiveWindow
    runbook_base: str
    extra_labels: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return LATENCY_BUDGET_BURN if self.sli.latency else ERROR_BUDGET_BURN

    @property
    def labels(self) -> dict[str, str]:
        window = self.active.window
        labels = {key: value for key, value in self.extra_labels}
        labels.update({
            "severity": window.severity,
            "tier": window.tier,
            "slo": self.sli.name,
            "service": self.sli.service,
            "long_window": window.long,
            "short_window": window.short,
        })
        return labels

    @property
    def series_labels(self) -> dict[str, str]:
        """The labels of the recorded series the rule reads (and so of the alert, besides)."""
        return self.sli.labels

    def expr(self) -> str:
        threshold = promql.number(self.active.threshold)
        window = self.active.window
        return (
            f"{self.sli.recorded(window.long_s)} > {threshold}\n"
            f"and\n"
            f"{self.sli.recorded(window.short_s)} > {threshold}"
        )

    def annotations(self) -> dict[str, str]:
        sli, active = self.sli, self.active
        window = active.window
        objective = sli.objective
        factor = promql.number(active.factor)
        speed = "fast" if window.tier == "page" else "steadily"
        where = f"to {objective.endpoint}" if objective.endpoint else "to every endpoint"
        if isinstance(objective, LatencyObjective):
            what = (f"of successful requests {where} took longer than "
                    f"{format_duration(objective.threshold_s)}")
            goal = (f"p{objective.percentile:g} <= {format_duration(objective.threshold_s)}, "
                    f"so {format_ratio(sli.allowed_bad_ratio)} may be slower")
        else:
            what = f"of requests {where} failed"
            goal = f"at most {format_ratio(sli.allowed_bad_ratio)} failed requests"
        return {
            "summary": (f"{sli.service}: the {sli.name} SLO is burning its error budget {speed} "
                        f"({factor}x over {window.long})."),
            "description": (
                f"{VALUE_PERCENT} {what} over the last {window.long} (and more than "
                f"{format_ratio(active.threshold)} over the last {window.short}). "
                f"The {sli.name} objective allows {goal} over {format_duration(sli.period_s)}; "
                f"at this pace the error budget burns at least {factor} times as fast as the "
                f"period allows, {format_ratio(window.budget_fraction)} of it within "
                f"{window.long}."
            ),
            "runbook_url": runbook_url(self.runbook_base, self.name),
        }

    def rule(self) -> Rule:
        return {
            "alert": self.name,
            "expr": self.expr(),
            "labels": self.labels,
            "annotations": self.annotations(),
        }


def recording_rules(sli_list: Sequence[Sli]) -> list[Rule]:
    """One rule per objective and window: the bad-event ratio, labelled ``slo`` and ``service``."""
    rules: list[Rule] = []
    for sli in sli_list:
        for window_s in RECORD_WINDOWS_S:
            rules.append({
                "record": sli.record(window_s),
                "expr": sli.expr(window_s),
                "labels": sli.labels,
            })
    return rules


def burn_alerts(
    spec: Spec,
    contract: MetricContract,
    *,
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
    buckets: Sequence[float] = LATENCY_BUCKETS_S,
) -> list[BurnAlert]:
    """Every objective's burn-rate alerts (see ``alerts.windows`` for which tiers apply)."""
    extra = tuple((promql.label_name(k), v) for k, v in sorted(spec.labels.items()))
    alerts: list[BurnAlert] = []
    for sli in slis(spec, contract, buckets):
        for active in active_windows(sli.period_s, sli.allowed_bad_ratio, WORKBOOK_WINDOWS):
            alerts.append(BurnAlert(sli, active, runbook_base, extra))
    return alerts


def health_rules(
    spec: Spec,
    contract: MetricContract,
    *,
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
    health: HealthThresholds = DEFAULT_HEALTH,
) -> list[Rule]:
    """Proxy health alerts read straight from the metric contract (no SLO involved)."""
    w = promql.duration(health.window_s)
    requests = f"{contract.request_duration}_count"
    failed = promql.failed_matcher(contract)
    upstream = f"{contract.upstream_duration}_count"
    labels = {k: v for k, v in sorted(spec.labels.items())}
    labels["service"] = spec.service

    def alert(name: str, expr: str, for_s: float, summary: str, description: str) -> Rule:
        return {
            "alert": name,
            "expr": expr,
            "for": promql.duration(for_s),
            "labels": {"severity": "warning", **labels},
            "annotations": {
                "summary": summary,
                "description": description,
                "runbook_url": runbook_url(runbook_base, name),
            },
        }

    server_ratio = promql.number(health.server_error_ratio)
    upstream_ratio = promql.number(health.upstream_error_ratio)
    open_state = promql.number(health.breaker_open_state)
    return [
        alert(
            PROXY_SERVER_ERRORS,
            f"sum(rate({promql.selector(requests, contract.matchers(failed))}[{w}]))\n"
            f"/\n"
            f"sum(rate({promql.selector(requests, contract.matchers())}[{w}]))\n"
            f"> {server_ratio}",
            health.for_s,
            f"{spec.service}: the proxy answers too many requests with server errors.",
            f"{VALUE_PERCENT} of requests failed with a server error over the last {w} "
            f"(alert above {format_ratio(health.server_error_ratio)}).",
        ),
        alert(
            PROXY_UPSTREAM_ERRORS,
            f"sum(rate({promql.selector(contract.upstream_errors, contract.matchers())}[{w}]))\n"
            f"/\n"
            f"sum(rate({promql.selector(upstream, contract.matchers())}[{w}]))\n"
            f"> {upstream_ratio}",
            health.for_s,
            f"{spec.service}: calls from the proxy to its upstreams fail too often.",
            f"There were {VALUE_PERCENT} as many upstream errors as upstream requests over the "
            f"last {w} (alert above {format_ratio(health.upstream_error_ratio)}).",
        ),
        alert(
            PROXY_CIRCUIT_BREAKER_OPEN,
            f"{promql.selector(contract.circuit_breaker_state, contract.matchers())} "
            f">= {open_state}",
            health.breaker_for_s,
            f"{spec.service}: a circuit breaker of the proxy is open.",
            f"The circuit breaker state is {VALUE} (0 closed, 1 half-open, 2 open) and has been "
            f"open for {promql.duration(health.breaker_for_s)}: requests to its upstream fail "
            f"fast without being tried.",
        ),
    ]


def build_groups(
    spec: Spec,
    contract: MetricContract,
    *,
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
    health: HealthThresholds = DEFAULT_HEALTH,
    buckets: Sequence[float] = LATENCY_BUCKETS_S,
) -> list[Rule]:
    """The three groups: ``…-sli`` (recording), ``…-slo-burn`` and ``…-proxy-health``."""
    sli_list = slis(spec, contract, buckets)
    burns = burn_alerts(spec, contract, runbook_base=runbook_base, buckets=buckets)
    groups = [
        {"name": group_name(spec, "sli"), "rules": recording_rules(sli_list)},
        {"name": group_name(spec, "slo-burn"), "rules": [b.rule() for b in burns]},
        {
            "name": group_name(spec, "proxy-health"),
            "rules": health_rules(spec, contract, runbook_base=runbook_base, health=health),
        },
    ]
    return [group for group in groups if group["rules"]]
