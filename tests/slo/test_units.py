"""Parsing of times for Prometheus windows."""

from __future__ import annotations

import pytest

from slogate.slo.units import parse_time


def test_parse_time_forms() -> None:
    assert parse_time("now", 1000.0) == 1000.0
    assert parse_time("now-15m", 1000.0) == 100.0
    assert parse_time("1700000000", 0.0) == 1_700_000_000.0
    assert parse_time("2023-11-14T22:13:20Z", 0.0) == 1_700_000_000.0
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday", 0.0)


def test_ratio_near_one_hundred_percent_keeps_its_digits() -> None:
    from slogate.slo.units import format_ratio

    assert format_ratio(0.99995) == "99.995%"
    assert format_ratio(0.999) == "99.9%"
    assert format_ratio(1.0) == "100%"
