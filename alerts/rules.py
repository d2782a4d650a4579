"""The rule groups: SLI recording rules, burn-rate alerts per objective, proxy health alerts.

Conventions (monitoring mixins): CamelCase alert names prefixed ``Slogate``; a ``severity`` label
(``critical`` pages, ``warning`` makes a ticket); annotations ``summary`` (a static sentence),
``description`` (templated with ``$value``) and ``runbook_url``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slogate.alerts.policy import PlannedWindow, planned_windows
from slogate.alerts.sli import Sli, slis
from slogate.alerts.windows import (
    WORKBOOK_WINDOWS,
    ActiveWindow,
    BurnWindow,
    active_windows,
    record_windows_s,
)
from slogate.slo import promql
from slogate.slo.contract import LATENCY_BUCKETS_S, MetricContract
from slogate.slo.spec import LatencyObjective, Spec
from slogate.slo.units import format_duration, format_ratio

Rule = dict[str, Any]

DEFAULT_RUNBOOK_BASE = "https://github.com/slogate/slogate/blob/main/docs/runbooks.md"
"""Where runbook links point; each alert links to ``<base>#<alert name in lower case>``."""

ERROR_BUDGET_BURN = "SlogateErrorBudgetBurn"
LATENCY_BUDGET_BURN = "SlogateLatencyBudgetBurn"
PROXY_SERVER_ERRORS = "SlogateProxyServerErrorsHigh"
PROXY_UPSTREAM_ERRORS = "SlogateProxyUpstreamErrorsHigh"
PROXY_CIRCUIT_BREAKER_OPEN = "SlogateProxyCircuitBreakerOpen"
PROXY_LATENCY_HIGH = "SlogateProxyLatencyHigh"
PROXY_RATE_LIMITING_SPIKE = "SlogateProxyRateLimitingSpike"
PROXY_TARGET_DOWN = "SlogateProxyTargetDown"
SLI_METRICS_ABSENT = "SlogateSliMetricsAbsent"
ALERT_PREFIX = "Slogate"

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
    slow_request_s: float = 1.0  # a bucket boundary: requests slower than this are "slow"
    slow_request_ratio: float = 0.05  # alert when more successful requests than this are slow
    rate_limited_ratio: float = 0.1  # alert when the rate limiter refuses more than this share
    target_down_for_s: float = 60.0
    absent_for_s: float = 600.0


DEFAULT_HEALTH = HealthThresholds()


@dataclass(frozen=True)
class RuleOptions:
    """What shapes the rules besides the spec and the metric contract; the rule file, its promtool
    tests and the inhibit rules are made with the same options."""

    runbook_base: str = DEFAULT_RUNBOOK_BASE
    health: HealthThresholds = DEFAULT_HEALTH
    buckets: Sequence[float] = LATENCY_BUCKETS_S
    """The latency histogram's bucket bounds (a latency threshold must be one of them)."""
    windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS
    """The burn-rate tiers (see ``alerts.windows.configure_tiers``)."""


DEFAULT_OPTIONS = RuleOptions()


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
    for_s: float = 0.0
    """How long both windows must burn before it fires (an alert policy's ``alertAfter``)."""

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
        rule: Rule = {"alert": self.name, "expr": self.expr()}
        if self.for_s > 0.0:
            rule["for"] = promql.duration(self.for_s)
        rule["labels"] = self.labels
        rule["annotations"] = self.annotations()
        return rule


def recording_rules(
    sli_list: Sequence[Sli],
    windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS,
    spec: Spec | None = None,
) -> list[Rule]:
    """One rule per objective and window (every tier's windows and the SLO period, for the
    budget remaining): the bad-event ratio, labelled ``slo`` and ``service``. With ``spec``,
    an objective under an alert policy is recorded over its policy's windows instead."""
    rules: list[Rule] = []
    for sli in sli_list:
        own = windows if spec is None else tuple(
            planned.window for planned in planned_windows(spec, sli.objective, windows)
        )
        for window_s in record_windows_s(sli.period_s, own):
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
    windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS,
) -> list[BurnAlert]:
    """Every objective's burn-rate alerts: the tiers of ``windows`` (see ``alerts.windows``), or
    the conditions of the objective's alert policy (see ``alerts.policy``).

    A default tier that cannot fire for an objective is left out; a policy condition that cannot
    (a lookback longer than the SLO period, a factor the bad ratio can never reach) is a
    ValueError naming it, since someone asked for it.
    """
    extra = tuple((promql.label_name(k), v) for k, v in sorted(spec.labels.items()))
    alerts: list[BurnAlert] = []
    problems: list[str] = []
    for sli in slis(spec, contract, buckets):
        plan = planned_windows(spec, sli.objective, windows)
        active = active_windows(sli.period_s, sli.allowed_bad_ratio, tuple(p.window for p in plan))
        by_window = {a.window: a for a in active}
        for planned in plan:
            if planned.window in by_window:
                alerts.append(BurnAlert(sli, by_window[planned.window], runbook_base, extra,
                                        planned.for_s))
            elif planned.condition:
                problems.append(_unreachable(sli, planned))
    if problems:
        raise ValueError("\n".join(problems))
    return alerts


def _unreachable(sli: Sli, planned: PlannedWindow) -> str:
    window = planned.window
    if window.long_s > sli.period_s:
        why = (f"its lookback window {window.long} is longer than the SLO period "
               f"{format_duration(sli.period_s)}")
    else:
        factor = promql.number(window.factor(sli.period_s))
        why = (f"a burn rate of {factor}x means a bad-event ratio of at least "
               f"{format_ratio(window.factor(sli.period_s) * sli.allowed_bad_ratio)}, more than "
               f"every request; the highest burn rate it can reach is "
               f"{promql.number(1.0 / sli.allowed_bad_ratio)}x")
    return f"alert condition {planned.condition} of SLO {sli.name!r} can never fire: {why}"


def _alert(
    name: str,
    expr: str,
    for_s: float,
    severity: str,
    labels: dict[str, str],
    summary: str,
    description: str,
    runbook_base: str,
) -> Rule:
    return {
        "alert": name,
        "expr": expr,
        "for": promql.duration(for_s),
        "labels": {"severity": severity, **labels},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": runbook_url(runbook_base, name),
        },
    }


def _spec_labels(spec: Spec) -> dict[str, str]:
    labels = {promql.label_name(k): v for k, v in sorted(spec.labels.items())}
    labels["service"] = spec.service
    return labels


def health_rules(
    spec: Spec,
    contract: MetricContract,
    *,
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
    health: HealthThresholds = DEFAULT_HEALTH,
    buckets: Sequence[float] = LATENCY_BUCKETS_S,
) -> list[Rule]:
    """Proxy health alerts read straight from the metric contract (no SLO involved)."""
    w = promql.duration(health.window_s)
    requests = f"{contract.request_duration}_count"
    bucket = f"{contract.request_duration}_bucket"
    failed = promql.failed_matcher(contract)
    succeeded = promql.succeeded_matcher(contract)
    upstream = f"{contract.upstream_duration}_count"
    slow_bound = slow_request_bound(health, buckets)
    labels = _spec_labels(spec)

    def alert(name: str, expr: str, for_s: float, summary: str, description: str,
              severity: str = "warning") -> Rule:
        return _alert(name, expr, for_s, severity, labels, summary, description, runbook_base)

    def ratio(numerator: str, denominator: str, threshold: float) -> str:
        return (f"{promql.sum_rate(numerator, w)}\n/\n{promql.sum_rate(denominator, w)}\n"
                f"> {promql.number(threshold)}")

    all_requests = promql.selector(requests, contract.matchers())
    ok_requests = promql.selector(requests, contract.matchers(succeeded))
    ok_fast = promql.selector(bucket, contract.matchers(succeeded, promql.le_matcher(slow_bound)))
    open_state = promql.number(health.breaker_open_state)
    return [
        alert(
            PROXY_SERVER_ERRORS,
            ratio(promql.selector(requests, contract.matchers(failed)), all_requests,
                  health.server_error_ratio),
            health.for_s,
            f"{spec.service}: the proxy answers too many requests with server errors.",
            f"{VALUE_PERCENT} of requests failed with a server error over the last {w} "
            f"(alert above {format_ratio(health.server_error_ratio)}).",
        ),
        alert(
            PROXY_LATENCY_HIGH,
            f"1 - (\n  {promql.sum_rate(ok_fast, w)}\n/\n  {promql.sum_rate(ok_requests, w)}\n)\n"
            f"> {promql.number(health.slow_request_ratio)}",
            health.for_s,
            f"{spec.service}: the proxy answers too many requests slowly.",
            f"{VALUE_PERCENT} of successful requests took longer than "
            f"{format_duration(slow_bound)} over the last {w} "
            f"(alert above {format_ratio(health.slow_request_ratio)}).",
        ),
        alert(
            PROXY_UPSTREAM_ERRORS,
            ratio(promql.selector(contract.upstream_errors, contract.matchers()),
                  promql.selector(upstream, contract.matchers()), health.upstream_error_ratio),
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
        alert(
            PROXY_RATE_LIMITING_SPIKE,
            ratio(promql.selector(contract.rate_limited, contract.matchers()), all_requests,
                  health.rate_limited_ratio),
            health.for_s,
            f"{spec.service}: the proxy's rate limiter refuses many requests.",
            f"The rate limiter refused {VALUE_PERCENT} as many requests as the proxy answered "
            f"over the last {w} (alert above {format_ratio(health.rate_limited_ratio)}).",
        ),
        alert(
            PROXY_TARGET_DOWN,
            f"{promql.selector('up', contract.matchers())} == 0",
            health.target_down_for_s,
            f"{spec.service}: Prometheus cannot scrape the proxy.",
            "Prometheus has failed to scrape {{ $labels.instance }} of job {{ $labels.job }} for "
            f"{promql.duration(health.target_down_for_s)}: the proxy is down or its metrics "
            "endpoint is unreachable, and every other alert on it is blind.",
            severity="critical",
        ),
    ]


def slow_request_bound(health: HealthThresholds, buckets: Sequence[float]) -> float:
    """The bucket boundary of ``health.slow_request_s``; a ValueError naming the nearest ones."""
    for bound in buckets:
        if math.isclose(bound, health.slow_request_s, rel_tol=1e-9, abs_tol=1e-12):
            return bound
    raise ValueError(
        f"the slow-request threshold {format_duration(health.slow_request_s)} of the proxy "
        f"latency alert is not a bucket boundary of the latency histogram; nearest buckets: "
        f"{nearest_buckets(health.slow_request_s, buckets)}"
    )


def absent_rules(
    sli_list: Sequence[Sli],
    spec: Spec,
    *,
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
    health: HealthThresholds = DEFAULT_HEALTH,
) -> list[Rule]:
    """One alert per SLI when the series it is computed from are missing altogether.

    An SLI with no series is no SLI: its burn-rate alerts are silent, whatever happens. For a
    latency SLI the threshold's bucket itself is checked too, which catches a bucket boundary
    that the exporter does not have (or spells in a way the ``le`` pattern misses).
    """
    base = _spec_labels(spec)
    rules = []
    for sli in sli_list:
        exprs = [f"absent({sli.total_selector})"]
        if sli.latency:
            exprs.append(f"absent({sli.bad_selector})")
        rules.append(_alert(
            SLI_METRICS_ABSENT,
            "\nor\n".join(exprs),
            health.absent_for_s,
            "warning",
            {**base, "slo": sli.name},
            f"{spec.service}: the metrics of an SLO are missing.",
            f"Prometheus has had no series for the {sli.name} SLI for "
            f"{promql.duration(health.absent_for_s)}, so its burn-rate alerts cannot fire. Check "
            f"that the proxy is scraped and exports the metric contract's names and buckets.",
            runbook_base,
        ))
    return rules


def nearest_buckets(value: float, buckets: Sequence[float]) -> str:
    """'250ms (le=0.25) and 500ms (le=0.5)': the buckets either side of ``value``."""
    below = [b for b in sorted(buckets) if b < value]
    above = [b for b in sorted(buckets) if b > value]
    return " and ".join(
        f"{format_duration(b)} (le={promql.number(b)})" for b in (*below[-1:], *above[:1])
    ) or "none (the histogram has no buckets)"


def build_groups(spec: Spec, contract: MetricContract, options: RuleOptions = DEFAULT_OPTIONS) -> list[Rule]:
    """The groups ``…-sli`` (recording), ``…-slo-burn``, ``…-sli-absent`` and
    ``…-proxy-health``."""
    o = options
    sli_list = slis(spec, contract, o.buckets)
    burns = burn_alerts(spec, contract, runbook_base=o.runbook_base, buckets=o.buckets, windows=o.windows)
    groups = [
        {"name": group_name(spec, "sli"), "rules": recording_rules(sli_list, o.windows, spec)},
        {"name": group_name(spec, "slo-burn"), "rules": [b.rule() for b in burns]},
        {
            "name": group_name(spec, "sli-absent"),
            "rules": absent_rules(sli_list, spec, runbook_base=o.runbook_base, health=o.health),
        },
        {
            "name": group_name(spec, "proxy-health"),
            "rules": health_rules(
                spec, contract, runbook_base=o.runbook_base, health=o.health, buckets=o.buckets
            ),
        },
    ]
    return [group for group in groups if group["rules"]]
