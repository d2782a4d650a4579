"""Fixtures of the alert rule tests: the reference spec and the real promtool."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from slo.loader import load_spec
from slo.spec import Spec

REPO = Path(__file__).resolve().parents[2]
REFERENCE_SPEC = REPO / "slogate" / "specs" / "reference.yaml"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def promtool() -> str:
    """The path of promtool: a skip on a developer machine without it, a failure in CI."""
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists()
                                         else None)
    if found is None:
        message = ("promtool not found: install Debian's 'prometheus' package "
                   "(scripts/setup --with-system does)")
        if _in_ci():
            pytest.fail(message + "; it is required when CI is set")
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def reference_spec() -> Spec:
    return load_spec(REFERENCE_SPEC)
