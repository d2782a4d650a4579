"""The published JSON Schemas of slogate's machine-readable reports.

``evaluation.schema.json`` describes ``evaluation.json`` (JSON Schema draft 2020-12). It is
shipped with the package, so a consumer can validate against the schema of the version that
wrote the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVALUATION_SCHEMA = Path(__file__).with_name("evaluation.schema.json")


def evaluation_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(EVALUATION_SCHEMA.read_text(encoding="utf-8"))
    return schema
