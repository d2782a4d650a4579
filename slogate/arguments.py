"""Argument types of the command line: each turns a value into what it means or says what was expected."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlparse

from slogate import catalog
from slogate.loadtest.options import parse_seconds
from slogate.slo.units import parse_port, parse_positive, parse_ratio

_Value = TypeVar("_Value")


def argtype(parse: Callable[[str], _Value], name: str) -> Callable[[str], _Value]:
    """An argparse ``type`` from a parser that raises ValueError: its message becomes the usage
    error (exit 2); ``name`` is what argparse calls the value in its own messages."""

    def convert(text: str) -> _Value:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


duration = argtype(parse_seconds, "duration")
"""A positive duration: '30s', '5m', or a number of seconds ('30'), as Locust's --run-time."""

spec = argtype(catalog.spec_path, "spec")
"""A spec file, or a packaged preset: 'preset:web-api' (or 'web-api' when no such file exists)."""

scenario = argtype(catalog.scenario_path, "scenario")
"""A locustfile, or a packaged scenario's name: 'mix', 'llm', 'caching'."""


def _ratio_value(text: str) -> float:
    return parse_ratio(text if text.strip().endswith("%") else float(text))


ratio = argtype(_ratio_value, "ratio")
"""'5%' or a fraction ('0.05')."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


positive_float = argtype(parse_positive, "number")
port = argtype(parse_port, "port")


def processes(text: str) -> int:
    """Locust worker processes: a count, or -1 for one per CPU."""
    if text.strip() == "-1":
        return -1
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a number of processes (or -1: one per CPU), got {text!r}") from None


def http_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(f"expected an http(s) URL, got {text!r}")
    return text
