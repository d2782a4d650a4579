"""The command line's argument types: a value is taken as meant, or refused saying what was expected."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest

from slogate import arguments


@pytest.mark.parametrize(("parse", "text", "value"), [
    (arguments.duration, "250ms", 0.25),
    (arguments.duration, "10", 10.0),  # seconds, as Locust's --run-time
    (arguments.duration, "1.5m", 90.0),
    (arguments.ratio, "5%", 0.05),
    (arguments.ratio, "0.05", 0.05),
    (arguments.positive_int, "3", 3),
    (arguments.positive_float, "2.5", 2.5),
    (arguments.port, "0", 0),
    (arguments.port, "65535", 65535),
    (arguments.processes, "-1", -1),
    (arguments.processes, "4", 4),
    (arguments.http_url, "https://otel.example:4318/v1/traces", "https://otel.example:4318/v1/traces"),
])
def test_good_values(parse: Callable[[str], Any], text: str, value: object) -> None:
    assert parse(text) == pytest.approx(value)


@pytest.mark.parametrize(("parse", "text", "expected"), [
    (arguments.duration, "ten", "expected a positive number of seconds, got 'ten' (or a duration"),
    (arguments.duration, "0s", "expected a positive number of seconds"),
    (arguments.duration, "-5", "expected a positive number of seconds"),
    (arguments.positive_int, "0", "expected at least 1"),
    (arguments.positive_float, "nan", "expected a positive number"),
    (arguments.positive_float, "inf", "expected a positive number"),
    (arguments.positive_float, "-2", "expected a positive number"),
    (arguments.port, "65536", "expected a TCP port"),
    (arguments.port, "-1", "expected a TCP port"),
    (arguments.port, "http", "expected a TCP port"),
    (arguments.processes, "0", "expected a number of processes (or -1: one per CPU)"),
    (arguments.processes, "-2", "expected a number of processes"),
    (arguments.http_url, "otel:4318", "expected an http(s) URL"),
])
def test_bad_values_say_what_was_expected(parse: Callable[[str], Any], text: str, expected: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        parse(text)
