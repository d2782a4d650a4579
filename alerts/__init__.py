"""Prometheus rules as code: SLI recording rules, multi-window multi-burn-rate SLO alerts,
absent-metric alerts and proxy health alerts, built from an SLO spec and the metric contract;
YAML out, checked by promtool, with Alertmanager inhibit rules beside them.

    from slogate.alerts import write_alert_files
    paths = write_alert_files(spec, Path("out/rules/shop.rules.yaml"))
    # -> shop.rules.yaml, shop.rules.test.yaml (promtool test rules), shop.inhibit.yaml

One alert plan (``plan_alerts``: the SLIs, their burn-rate windows from ``slo.burn``, the burn,
absent and health alerts) is computed from the spec; the three files are renderings of it.
"""

from __future__ import annotations

from pathlib import Path

from slogate.alerts.buckets import buckets_from_exposition
from slogate.alerts.conventions import (
    DEFAULT_RUNBOOK_BASE,
    ERROR_BUDGET_BURN,
    LATENCY_BUDGET_BURN,
    PROXY_CIRCUIT_BREAKER_OPEN,
    PROXY_LATENCY_HIGH,
    PROXY_RATE_LIMITING_SPIKE,
    PROXY_SERVER_ERRORS,
    PROXY_TARGET_DOWN,
    PROXY_UPSTREAM_ERRORS,
    SLI_METRICS_ABSENT,
)
from slogate.alerts.health import DEFAULT_HEALTH, HealthThresholds
from slogate.alerts.inhibit import inhibit_rules, render_inhibit_rules
from slogate.alerts.lint import lint_rules
from slogate.alerts.plan import DEFAULT_OPTIONS, AlertPlan, RuleOptions, plan_alerts
from slogate.alerts.promtool_tests import build_rule_tests, render_rule_tests
from slogate.alerts.rules import build_rules, render_rules
from slogate.slo.bundle import write_atomic
from slogate.slo.burn import configure_tiers
from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.spec import Spec

__all__ = [
    "DEFAULT_HEALTH",
    "DEFAULT_OPTIONS",
    "DEFAULT_RUNBOOK_BASE",
    "ERROR_BUDGET_BURN",
    "LATENCY_BUDGET_BURN",
    "PROXY_CIRCUIT_BREAKER_OPEN",
    "PROXY_LATENCY_HIGH",
    "PROXY_RATE_LIMITING_SPIKE",
    "PROXY_SERVER_ERRORS",
    "PROXY_TARGET_DOWN",
    "PROXY_UPSTREAM_ERRORS",
    "SLI_METRICS_ABSENT",
    "AlertPlan",
    "HealthThresholds",
    "RuleOptions",
    "buckets_from_exposition",
    "build_rule_tests",
    "build_rules",
    "configure_tiers",
    "inhibit_rules",
    "lint_rules",
    "plan_alerts",
    "render_inhibit_rules",
    "render_rule_tests",
    "render_rules",
    "write_alert_files",
]


def companion_paths(rules_path: Path) -> tuple[Path, Path]:
    """The test and inhibit files beside ``x.rules.yaml``: ``x.rules.test.yaml``, ``x.inhibit.yaml``."""
    name = rules_path.name
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    base = stem.removesuffix(".rules")
    return (rules_path.with_name(f"{stem}.test.yaml"), rules_path.with_name(f"{base}.inhibit.yaml"))


def write_alert_files(
    spec: Spec, rules_path: Path, contract: MetricContract = DEFAULT_CONTRACT,
    options: RuleOptions = DEFAULT_OPTIONS,
) -> list[Path]:
    """The rule file, its promtool tests and the inhibit rules beside it; returns the paths.

    Everything is built before anything is written, so bad input leaves no half-set behind.
    """
    plan = plan_alerts(spec, contract, options)
    tests_path, inhibit_path = companion_paths(rules_path)
    texts = {
        rules_path: render_rules(plan),
        tests_path: render_rule_tests(plan, rules_path, tests_path.parent),
        inhibit_path: render_inhibit_rules(plan.windows, plan.burn_names, plan.tier_labels),
    }
    for path, text in texts.items():
        write_atomic(path, text)
    return list(texts)
