"""Shared fixtures: the reference spec, real tools (promtool, chromium), free ports."""

from __future__ import annotations

import compileall
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from slogate.slo.spec import Spec
from slogate.slo.specfile.load import load_spec

REPO = Path(__file__).resolve().parents[1]
REFERENCE_SPEC = REPO / "slogate" / "specs" / "reference.yaml"


PACKAGES = ("slogate", "slo", "loadtest", "reports", "dashboards", "alerts")
"""The project's source folders (``slogate`` links the others in by symlinks)."""


def pytest_sessionstart(session: pytest.Session) -> None:
    """The project compiled to bytecode once, before any test. The suite starts hundreds of
    processes that import it (slogate, Locust and its workers, the target); where
    PYTHONDONTWRITEBYTECODE is set, none of them saves what it compiled, and each spent some
    0.4 s of CPU compiling the same modules again."""
    for folder in PACKAGES:  # compile_dir does not follow the symlinked folders
        compileall.compile_dir(REPO / folder, quiet=1)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(message: str) -> NoReturn:
    """Something a test needs is missing: a skip on a developer machine, a failure in CI, where a
    skip would hide it."""
    if in_ci():
        pytest.fail(message + "; it is required when CI is set")
    pytest.skip(message)


def require_tool(name: str, debian_package: str) -> str:
    """The path of a real tool: a skip on a developer machine without it, a failure in CI."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} not found: install Debian's {debian_package!r} package "
                    "(scripts/setup --with-system does)")
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def reference_spec() -> Spec:
    return load_spec(REFERENCE_SPEC)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port
