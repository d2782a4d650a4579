"""Burn-rate windows and tiers (``slo.burn``): factors per period, tiers switched on and off,
alert-policy conditions as window pairs, and an objective's burn model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from slogate.slo import burn
from slogate.slo.burn import WORKBOOK_WINDOWS, BurnWindow
from slogate.slo.spec import AlertPolicy, BurnRateCondition, Spec
from slogate.slo.specfile.load import parse_spec

BASE = """\
service: shop
period: 30d
objectives:
  - {name: avail, kind: availability, target: 99.9%}
  - {name: p99, kind: latency, percentile: p99, threshold: 250ms}
"""


def _policy_spec(fast_factor: float = 10.0, slow_lookback_s: float = 12 * 3600.0) -> Spec:
    """An alert policy on ``avail`` (as OpenSLO's AlertPolicy imports it): page at 10x over 2h
    after 2m, ticket at 2x over 12h."""
    policy = AlertPolicy("burn", (
        BurnRateCondition("fast", fast_factor, 2 * 3600.0, "page", "critical", 120.0),
        BurnRateCondition("slow", 2.0, slow_lookback_s, "ticket", "warning"),
    ), objectives=("avail",))
    return replace(parse_spec(BASE), alert_policies=(policy,))


def test_budget_and_period_of_an_objective() -> None:
    spec = parse_spec(
        "service: shop\nperiod: 7d\nobjectives:\n"
        "  - {name: avail, kind: availability, endpoint: GET /a, target: 99.9%, period: 30d}\n"
        "  - {name: p99, kind: latency, percentile: p99, threshold: 250ms}\n"
    )
    avail, p99 = spec.objectives
    assert burn.allowed_bad_ratio(avail) == 0.001
    assert burn.allowed_bad_ratio(p99) == 0.01
    assert burn.period_s(avail, spec) == 30 * 86400
    assert burn.period_s(p99, spec) == 7 * 86400  # latency objectives use the spec's period


def test_burn_factors_follow_the_workbook_and_scale_with_the_period() -> None:
    assert [w.factor(30 * 86400) for w in WORKBOOK_WINDOWS] == [14.4, 6.0, 3.0, 1.0]
    assert [w.factor(7 * 86400) for w in WORKBOOK_WINDOWS] == [3.36, 1.4, 0.7, 0.233333333333]
    assert [(w.tier, w.severity, w.long, w.short) for w in WORKBOOK_WINDOWS] == [
        ("page", "critical", "1h", "5m"), ("page", "critical", "6h", "30m"),
        ("ticket", "warning", "1d", "2h"), ("ticket", "warning", "3d", "6h"),
    ]
    # A 1-day period: the 3d window is longer than the period and is left out.
    assert [a.window.long for a in burn.active_windows(86400, 0.01)] == ["1h", "6h", "1d"]
    # 50% may be bad: only the 1x tier stays under a ratio of 1.
    assert [a.threshold for a in burn.active_windows(30 * 86400, 0.5)] == [0.5]
    with pytest.raises(ValueError, match="positive SLO period"):
        WORKBOOK_WINDOWS[0].factor(0)


def test_record_windows_are_every_pair_window_and_the_period() -> None:
    assert burn.record_windows_s(30 * 86400) == [
        300, 1800, 3600, 7200, 21600, 86400, 259200, 30 * 86400
    ]
    assert burn.record_windows_s(86400) == [300, 1800, 3600, 7200, 21600, 86400]


def test_tiers_switch_off_and_take_a_severity() -> None:
    pages = burn.configure_tiers(["page"], {"page": "info"})
    assert [(w.tier, w.severity, w.long) for w in pages] == [("page", "info", "1h"), ("page", "info", "6h")]
    assert burn.configure_tiers() == WORKBOOK_WINDOWS


@pytest.mark.parametrize(("tiers", "severity", "message"), [
    (["pager"], {}, r"unknown alert tier\(s\) pager"),
    (["page"], {"page": "loud"}, "unknown severity 'loud'"),
    (["page"], {"pager": "info"}, "unknown alert tier 'pager'"),
])
def test_tier_configuration_errors(tiers: list[str], severity: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        burn.configure_tiers(tiers, severity)


def test_policy_conditions_become_window_pairs() -> None:
    spec = _policy_spec()
    avail, p99 = spec.objectives
    model = burn.objective_burn(spec, avail)
    assert [(p.condition, p.for_s, p.window.long, p.window.short, p.window.tier, p.window.severity)
            for p in model.planned] == [
        ("burn/fast", 120.0, "2h", "10m", "page", "critical"),
        ("burn/slow", 0.0, "12h", "1h", "ticket", "warning"),
    ]
    # The budget share is chosen so that the window's factor is the condition's.
    assert [a.factor for a in model.active] == [10.0, 2.0]
    assert [a.threshold for a in model.active] == [0.01, 0.002]
    assert model.record_windows_s == [600, 3600, 7200, 43200, 30 * 86400]
    assert model.problems() == []
    # Objectives without a policy keep the defaults; a tier switched off stays off.
    assert [p.window for p in burn.objective_burn(spec, p99).planned] == list(WORKBOOK_WINDOWS)
    pages = burn.configure_tiers(["page"])
    assert [p.condition for p in burn.objective_burn(spec, avail, pages).planned] == ["burn/fast"]
    assert burn.spec_windows(spec, pages) == (
        burn.objective_burn(spec, avail, pages).planned[0].window, *pages
    )


def test_short_windows_are_a_twelfth_and_at_least_five_minutes() -> None:
    assert [burn.short_window_s(s) for s in (3600, 6 * 3600, 86400, 1800, 120)] == [
        300, 1800, 7200, 300, 120
    ]


def test_conditions_that_can_never_fire_are_problems() -> None:
    too_fast = _policy_spec(fast_factor=1500.0)
    (problem,) = burn.objective_burn(too_fast, too_fast.objectives[0]).problems()
    assert "burn/fast of SLO 'avail' can never fire" in problem
    assert "the highest burn rate it can reach is 1000x" in problem
    too_long = _policy_spec(slow_lookback_s=31 * 86400.0)
    (problem,) = burn.objective_burn(too_long, too_long.objectives[0]).problems()
    assert "lookback window 31d is longer than the SLO period 30d" in problem
    # A default tier that cannot fire is left out silently.
    half = parse_spec("service: s\nobjectives:\n  - {name: p50, kind: latency, percentile: p50, "
                      "threshold: 250ms}\n")
    model = burn.objective_burn(half, half.objectives[0])
    assert [a.window.long for a in model.active] == ["3d"] and model.problems() == []


def test_a_window_without_severity_takes_its_tiers() -> None:
    assert BurnWindow("ticket", 3600, 300, 0.1).severity == "warning"
    assert BurnWindow("page", 3600, 300, 0.1).severity == "critical"
