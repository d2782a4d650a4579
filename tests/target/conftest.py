"""Fixtures of the reference target tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from slogate.target import TargetConfig
from tests.target.target_helpers import ThreadedTarget


@pytest.fixture
def make_target() -> Iterator[Callable[..., ThreadedTarget]]:
    """``make_target(**TargetConfig fields)``: a running target, closed after the test."""
    started: list[ThreadedTarget] = []

    def make(**fields: Any) -> ThreadedTarget:
        target = ThreadedTarget(TargetConfig(**fields))
        started.append(target)
        return target

    yield make
    for target in started:
        target.close()
