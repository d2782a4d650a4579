"""Alertmanager inhibit rules that go with the generated alerts.

- A firing page silences the ticket of the same alert, SLO and service: the same budget burn
  should reach people once, through the louder channel.
- A proxy that Prometheus cannot scrape silences every other slogate alert of its service: they
  all read its metrics, so they are symptoms of the one cause.

Written for Alertmanager's ``inhibit_rules`` (``source_matchers``/``target_matchers``, 0.22+).
"""

from __future__ import annotations

from typing import Any

from slogate.alerts.rules import (
    ALERT_PREFIX,
    ERROR_BUDGET_BURN,
    LATENCY_BUDGET_BURN,
    PROXY_TARGET_DOWN,
)
from slogate.alerts.windows import WORKBOOK_WINDOWS, BurnWindow
from slogate.slo import promql


def inhibit_rules(windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS) -> list[dict[str, Any]]:
    """The inhibit rules for alerts built with ``windows`` (page -> ticket only when both are on)."""
    burns = f"alertname=~{promql.string(f'{ERROR_BUDGET_BURN}|{LATENCY_BUDGET_BURN}')}"
    tiers = {w.tier for w in windows}
    rules: list[dict[str, Any]] = []
    if {"page", "ticket"} <= tiers:
        rules.append({
            "source_matchers": [burns, 'tier="page"'],
            "target_matchers": [burns, 'tier="ticket"'],
            "equal": ["alertname", "slo", "service"],
        })
    rules.append({
        "source_matchers": [f"alertname={promql.string(PROXY_TARGET_DOWN)}"],
        "target_matchers": [
            f"alertname=~{promql.string(ALERT_PREFIX + '.*')}",
            f"alertname!={promql.string(PROXY_TARGET_DOWN)}",
        ],
        "equal": ["service"],
    })
    return rules


def inhibit_document(windows: tuple[BurnWindow, ...] = WORKBOOK_WINDOWS) -> dict[str, Any]:
    """``{"inhibit_rules": [...]}``: merge it into alertmanager.yml."""
    return {"inhibit_rules": inhibit_rules(windows)}
