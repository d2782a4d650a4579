"""The dashboards' shared fixture: Grafana's dashboard JSON schema."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA_ENV = "SLOGATE_GRAFANA_SCHEMA"
DEFAULT_SCHEMA = REPO.parent / "shared" / "grafana" / "dashboard.schema.json"


@pytest.fixture(scope="session")
def schema() -> dict[str, Any]:
    path = Path(os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA)
    if not path.is_file():
        pytest.fail(
            f"Grafana's dashboard JSON schema is missing at {path}: put dashboard.schema.json "
            f"there (shared/grafana/ beside the repository) or name it with {SCHEMA_ENV}"
        )
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded
