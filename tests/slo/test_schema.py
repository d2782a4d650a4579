"""The published JSON Schema: up to date with the loader, and agreeing with it on real specs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from slogate.cli import EXAMPLE_SPEC, main
from slogate.slo.specfile.schema import SCHEMA_PATH, schema_text, spec_schema

PRESETS = sorted((Path(__file__).resolve().parents[2] / "slo" / "presets").glob("*.yaml"))


def test_published_schema_is_the_generated_one() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "slo/spec.schema.json is stale: regenerate it with "
        "`.venv/bin/slogate validate --schema > slo/spec.schema.json`"
    )
    jsonschema.Draft202012Validator.check_schema(spec_schema())


@pytest.mark.parametrize("path", [EXAMPLE_SPEC, *PRESETS], ids=lambda p: Path(p).name)
def test_shipped_specs_match_the_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), spec_schema())


@pytest.mark.parametrize("objective", [
    {"name": "x", "kind": "latency", "percentile": "p99", "threshold": "1s", "treshold": "2s"},
    {"name": "x", "kind": "latency", "threshold": "1s"},
    {"name": "x", "kind": "throughput", "min": "fast"},
    {"name": "x", "kind": "error_ratio", "max": "1%", "error_statuses": ["oops"]},
])
def test_schema_rejects_what_the_loader_rejects(objective: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"service": "s", "objectives": [objective]}, spec_schema())


def test_validate_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "slogate SLO spec"
    assert main(["validate"]) == 2
