"""Parsing of times for Prometheus windows; the one way every number is said (durations, shares,
percentage points, multiples): no exponent, fixed significant digits, nothing beyond the whole."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from slogate.slo.units import (
    SECONDS_PER_YEAR,
    format_duration,
    format_multiple,
    format_percent,
    format_points,
    format_ratio,
    parse_duration,
    parse_ratio,
    parse_time,
)


def test_parse_time_forms() -> None:
    assert parse_time("now", 1000.0) == 1000.0
    assert parse_time("now-15m", 1000.0) == 100.0
    assert parse_time("1700000000", 0.0) == 1_700_000_000.0
    assert parse_time("2023-11-14T22:13:20Z", 0.0) == 1_700_000_000.0
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday", 0.0)


def test_ratio_near_one_hundred_percent_keeps_its_digits() -> None:
    assert format_ratio(0.99995) == "99.995%"
    assert format_ratio(0.999) == "99.9%"
    assert format_ratio(1.0) == "100%"


# -- formatting: one module says every number the same way -------------------------------------

REPRODUCIBLE = settings(deadline=None, derandomize=True, database=None, max_examples=400,
                        suppress_health_check=[HealthCheck.too_slow])
ANY_FLOAT = st.floats(allow_nan=False, allow_infinity=False)


def no_exponent(text: str) -> bool:
    return "e" not in text.replace("years", "").replace("year", "") and "E" not in text


@REPRODUCIBLE
@given(ANY_FLOAT)
@example(2.701e-7).via("2.701e-05% in a report")
@example(2.168e-19).via("2.168e-17% in a report")
@example(0.99999999999999986).via("99.999999999999986% in a report")
@example(-1e-17).via("an interval's lower bound a hair below zero")
@example(1.0000000000000002).via("an interval's upper bound a hair above one")
def test_ratios_never_exponent_never_beyond_the_whole(fraction: float) -> None:
    text = format_ratio(fraction)
    assert no_exponent(text) and text.endswith("%"), text
    value = parse_ratio(text.lstrip("<> "))  # parse_ratio refuses anything beyond 0–100%
    clamped = min(1.0, max(0.0, fraction))
    assert value == pytest.approx(clamped, rel=5e-4, abs=1e-6), text
    if 0.0 < clamped < 1.0:
        assert text not in ("0%", "100%"), f"{fraction!r} is neither nothing nor all: {text}"
    decimals = text.strip("<> %").partition(".")[2]
    assert len(decimals) <= 4, text


@REPRODUCIBLE
@given(st.floats(min_value=0.0, max_value=SECONDS_PER_YEAR * 0.999))
@example(1e-3 - 1e-9).via("the ms boundary")
@example(0.99996).via("rounds up to the next unit: 1s, not 1000ms")
@example(86400 * 364.9).via("the last days before a year")
def test_durations_under_a_year_read_back(seconds: float) -> None:
    text = format_duration(seconds)
    assert no_exponent(text) and "us" not in text, text
    assert parse_duration(text) == pytest.approx(seconds, rel=5e-4, abs=5e-10), text
    number = text.rstrip("µsmhd")
    assert len(number.replace(".", "").lstrip("0")) <= 4, text  # four significant digits at most


@REPRODUCIBLE
@given(st.floats(min_value=SECONDS_PER_YEAR, max_value=1e300))
@example(1861 * 86400.0).via("'Exhausted in 1861d' in a report")
def test_durations_from_a_year_are_years(seconds: float) -> None:
    text = format_duration(seconds)
    assert no_exponent(text) and text.endswith(("year", "years")), text
    if not text.startswith("> "):
        years = float(text.split()[0].replace(",", ""))
        assert years == pytest.approx(seconds / SECONDS_PER_YEAR, rel=0.05), text


def test_durations_in_words() -> None:
    assert format_duration(850e-6) == "850µs"
    assert format_duration(0.09533) == "95.33ms"
    assert format_duration(1861 * 86400) == "5.1 years"
    assert format_duration(365 * 86400) == "1 year"
    assert format_duration(1e12) == "> 1,000 years"
    assert format_duration(30 * 86400) == "30d"
    assert format_duration(-1.0) == "0µs"


@REPRODUCIBLE
@given(ANY_FLOAT)
def test_points_and_multiples_never_exponent(value: float) -> None:
    points = format_points(value)
    assert no_exponent(points) and points.endswith(" pp") and points[0] in "+-", points
    if abs(value) < 1e20:
        assert float(points[:-3]) == pytest.approx(value * 100, rel=5e-4, abs=5e-5), points
    multiple = format_multiple(abs(value))
    assert no_exponent(multiple) and multiple.endswith("x"), multiple
    percent = format_percent(abs(value))
    assert no_exponent(percent) and not math.isnan(float(percent.strip("<> %").replace(",", "") or 0))


def test_points_multiples_and_shares_in_words() -> None:
    assert format_points(2.168e-19) == "+0 pp"
    assert format_points(-0.0015) == "-0.15 pp"
    assert format_multiple(0.0537) == "0.054x"
    assert format_multiple(14.4) == "14.4x"
    assert format_multiple(2500.4) == "2,500x"
    assert format_percent(3.5) == "350%"
    assert format_ratio(3.5) == "100%"
