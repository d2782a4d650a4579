"""For the same SLO, slogate's burn-rate alerts are the SRE workbook's (chapter 5, "Alerting on
SLOs"): the same window pairs and burn-rate factors, no ``for:``, read from recording rules of
the user's own queries. Sloth and Pyrra files from the corpus, as their users wrote them.

The workbook's table is for a 30-day SLO: page at 14.4× over 1h (5m short), 6× over 6h (30m);
ticket at 3× over 1d (2h), 1× over 3d (6h) — 2%, 5%, 10% and 10% of the budget within the long
window. For other periods slogate keeps the windows and those budget shares, so the factor scales
with the period (``slo.burn``): a 28-day SLO pages at 2% × 672h / 1h = 13.44×. Sloth's own
defaults are exactly the workbook's for 30 days (and the same shares for 28); Pyrra's scale the
windows with the SLO window instead and fix the factors at 14, 7, 2, 1 (README: "slogate, the
workbook, Sloth and Pyrra")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from slogate.alerts import build_rules, plan_alerts
from slogate.alerts.plan import AlertPlan
from slogate.slo.sli import WINDOW, parse_selector
from slogate.slo.specfile.load import load_spec

CORPUS = Path(__file__).parents[1] / "slo" / "data" / "corpus"

WORKBOOK_30D = (
    # tier, long window, short window, burn-rate factor, budget share within the long window
    ("page", "1h", "5m", 14.4, 0.02),
    ("page", "6h", "30m", 6.0, 0.05),
    ("ticket", "1d", "2h", 3.0, 0.10),
    ("ticket", "3d", "6h", 1.0, 0.10),
)
RECORDED_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
"""Every long and short window of the table: what Sloth records, and slogate (with the period)."""


def _alerts(plan: AlertPlan, slo: str) -> list[tuple[str, str, str, float, float]]:
    """One objective's burn alerts as (tier, long, short, factor, for seconds)."""
    return [(b.active.window.tier, b.active.window.long, b.active.window.short, b.active.factor, b.for_s)
            for b in plan.burns if b.sli.name == slo]


def _recorded(plan: AlertPlan, slo: str) -> dict[str, str]:
    """One objective's recording rules: record name -> expression."""
    return {rule["record"]: rule["expr"] for group in build_rules(plan)["groups"]
            for rule in group["rules"] if "record" in rule and rule["labels"]["slo"] == slo}


def _sloth_queries(path: Path) -> dict[str, dict[str, Any]]:
    """The SLIs of a Sloth file as written, by SLO name."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {slo["name"]: slo["sli"]["events"] for slo in document["slos"]}


@pytest.mark.parametrize(("file", "allowed"), [
    ("examples_getting-started.yml", {"requests-availability": 0.001}),
    ("examples_kubernetes-apiserver.yml", {"requests-availability": 0.001, "requests-latency": 0.01}),
])
def test_sloth_30d_slos_alert_as_the_workbook(file: str, allowed: dict[str, float]) -> None:
    path = CORPUS / "sloth" / file
    plan = plan_alerts(load_spec(path))
    queries = _sloth_queries(path)
    for burn in plan.burns:
        # Each pair reads the long and the short window's recorded ratio, above factor × budget.
        window = burn.active.window
        threshold = burn.active.threshold
        assert threshold == pytest.approx(burn.active.factor * allowed[burn.sli.name], rel=1e-9)
        assert burn.rule.expr == (
            f'{burn.sli.recorded(window.long_s)} > {threshold:g}\nand\n'
            f'{burn.sli.recorded(window.short_s)} > {threshold:g}')
    for slo, events in queries.items():
        assert _alerts(plan, slo) == [
            (tier, long, short, pytest.approx(factor), 0.0) for tier, long, short, factor, _ in WORKBOOK_30D]
        recorded = _recorded(plan, slo)
        assert [name.rsplit("rate", 1)[1] for name in recorded] == [*RECORDED_WINDOWS, "30d"]
        for name, expr in recorded.items():
            # The user's queries verbatim, the range put in; the 30-day ratio too (Sloth's own
            # is the mean of its 5-minute ratios, slogate's weighs each request alike).
            span = name.rsplit("rate", 1)[1]
            assert events["error_query"].strip().replace(WINDOW, span) in expr
            assert events["total_query"].strip().replace(WINDOW, span) in expr


def test_sloths_alerting_is_kept_on_the_workbook_pairs() -> None:
    plan = plan_alerts(load_spec(CORPUS / "sloth" / "examples_getting-started.yml"))
    rules = [(b.active.window.long, b.rule.alert, b.rule.labels["severity"]) for b in plan.burns]
    assert rules == [("1h", "MyServiceHighErrorRate", "pageteam"),
                     ("6h", "MyServiceHighErrorRate", "pageteam"),
                     ("1d", "MyServiceHighErrorRate", "slack"), ("3d", "MyServiceHighErrorRate", "slack")]


@pytest.mark.parametrize(("file", "window", "period", "factors"), [
    # The workbook's budget shares over the SLO period: share × period / long window.
    ("thanos-http.yaml", "4w", "28d", (13.44, 5.6, 2.8, 0.1 * 672 / 72)),
    ("pyrra-connect-errors.yaml", "2w", "14d", (6.72, 2.8, 1.4, 0.1 * 336 / 72)),
    ("prometheus-http.yaml", "7d", "7d", (3.36, 1.4, 0.7, 0.1 * 168 / 72)),
])
def test_pyrra_slos_keep_the_workbook_windows_and_budget_shares(
    file: str, window: str, period: str, factors: tuple[float, ...],
) -> None:
    path = CORPUS / "pyrra" / file
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document["spec"]["window"] == window
    plan = plan_alerts(load_spec(path))
    (slo,) = {b.sli.name for b in plan.burns}
    assert _alerts(plan, slo) == [
        (tier, long, short, pytest.approx(factor), 0.0)
        for (tier, long, short, _, _), factor in zip(WORKBOOK_30D, factors, strict=True)]
    period_s = plan.slis[0].burn.period_s
    for burn, (*_, share) in zip(plan.burns, WORKBOOK_30D, strict=True):
        assert burn.active.factor * burn.active.window.long_s / period_s == pytest.approx(share)
        assert burn.active.threshold == pytest.approx(burn.active.factor * 0.01)  # target 99
    # The user's metrics and matchers, regex ones included, over every window and the period.
    ratio = document["spec"]["indicator"]["ratio"]
    errors, total = (parse_selector(ratio[key]["metric"]) for key in ("errors", "total"))
    recorded = _recorded(plan, slo)
    assert [name.rsplit("rate", 1)[1] for name in recorded] == [*RECORDED_WINDOWS, period]
    for name, expr in recorded.items():
        span = name.rsplit("rate", 1)[1]
        assert f"rate({errors}[{span}])" in expr and f"rate({total}[{span}])" in expr


def test_a_pair_that_can_never_fire_is_left_out() -> None:
    """Caddy's example: 90% of responses under 50ms over 4 weeks. Paging at 13.44× would need more
    than every request slow (13.44 × 10%), so that pair is not written (Pyrra writes its 14× one,
    which can never fire either)."""
    plan = plan_alerts(load_spec(CORPUS / "pyrra" / "caddy-response-latency.yaml"))
    assert [(tier, long) for tier, long, *_ in _alerts(plan, "caddy-response-latency")] == [
        ("page", "6h"), ("ticket", "1d"), ("ticket", "3d")]
