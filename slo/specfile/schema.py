"""The JSON Schema of slogate's own spec format, built from the native dialect's field tables so
the two never drift; published as ``slo/spec.schema.json`` (``slogate validate --schema`` prints
it) for editors to complete and check specs. The dialect stays the authority: it also checks what
a schema cannot say well (units, ranges, duplicate names) and names file, line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slogate.slo.contract import contract_presets
from slogate.slo.specfile.native import (
    GOODPUT_LIMITS,
    KIND_FIELDS,
    KIND_REQUIRED,
    LATENCY_KINDS,
    TOP_FIELDS,
    objective_fields,
)

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "spec.schema.json"
"""Beside the ``slo`` modules, where editors and the README have always found it."""
SCHEMA_ID = "https://slogate.invalid/spec.schema.json"

_DURATION = {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?|\.\d+)\s*(us|µs|ms|s|m|h|d)\s*$",
             "description": "a duration with a unit: 250ms, 1.5s, 500us, 5m, 1h, 30d"}
_RATIO = {"oneOf": [{"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%$"},
                    {"type": "number", "minimum": 0, "maximum": 1}],
          "description": "a percentage ('99.9%') or a fraction (0.999)"}
_MATCHER = {"type": "string", "pattern": r'^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*".*"',
            "description": 'a PromQL label matcher: handler="api", path=~"/api/.*", server!="srv1"'}
_FIELDS: dict[str, dict[str, Any]] = {
    "service": {"type": "string", "minLength": 1, "description": "the service the objectives are for"},
    "description": {"type": "string"},
    "period": {**_DURATION, "description": "SLO period that budgets and burn rates refer to (30d)"},
    "warmup": {**_DURATION, "description": "start of the run excluded from every verdict"},
    "confidence": {**_RATIO, "description": "two-sided confidence of every interval (95%)"},
    "min_duration": {**_DURATION, "description": "judged time (after warmup) a run needs before "
                                                 "a verdict; shorter runs are inconclusive"},
    "family": {"enum": ["none", "holm"], "description": "holm: Holm's correction over the gating "
                                                        "objectives' failures (default none)"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "name": {"type": "string", "minLength": 1},
    "kind": {"type": "string"},
    "endpoint": {"type": "string", "minLength": 1,
                 "description": "'METHOD /route' or '/route' (every method); omit for all requests"},
    "min_samples": {"type": "integer", "minimum": 1,
                    "description": "events needed before a pass (default derived from the target)"},
    "gating": {"type": "boolean", "description": "false: reported, never gating"},
    "window": {**_DURATION, "description": "judge every full window of this length on its own"},
    "window_target": {**_RATIO, "description": "share of windows that must meet it (default 100%)"},
    "percentile": {"oneOf": [{"type": "string", "pattern": r"^[pP]?\d+(\.\d+)?$"},
                             {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100}],
                   "description": "p50, p99, p99.9 or a number such as 99.9"},
    "threshold": {**_DURATION, "description": "latency the percentile (or the target share) must meet"},
    "target": {**_RATIO, "description": "availability, hit ratio or goodput floor, or the share of "
                                        "requests under the threshold (at or above the tokens/s floor)"},
    "max": {**_RATIO, "description": "the largest error ratio allowed"},
    "error_statuses": {"type": "array", "items": {"type": "string", "pattern": r"^[1-5][0-9xX]{2}$"},
                       "description": "status codes or classes counted as errors: 5xx, 429"},
    "min": {"oneOf": [{"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(/\s*[smh])?\s*$"},
                      {"type": "number", "exclusiveMinimum": 0}],
            "description": "the floor: requests per second for throughput (1000/s, 6000/m), output "
                           "tokens per second of each stream for tokens_per_s (20/s)"},
    "limits": {"type": "object", "minProperties": 1,
               "properties": {name: _DURATION for name in GOODPUT_LIMITS},
               "additionalProperties": False,
               "description": "goodput: what a request must meet together to be good, such as "
                              "{ttft: 500ms, tpot: 50ms, total: 20s}"},
    "contract": {
        "oneOf": [{"type": "string", "minLength": 1}, {"type": "object"}],
        "description": "the proxy's metric contract: a preset (" + ", ".join(contract_presets())
                       + "), a contract file beside the spec, or a mapping of overrides ('preset:' to "
                       "start from one); wins over --contract",
    },
    "matchers": {
        "oneOf": [{"type": "object", "minProperties": 1,
                   "additionalProperties": {"type": ["string", "number"]}},
                  {"type": "array", "minItems": 1, "items": _MATCHER}, _MATCHER],
        "description": "label matchers the objective's server-side series must also meet, beside the "
                       "contract's selector: {handler: api} or ['path=~\"/api/.*\"']; one on the "
                       "route or method label replaces the endpoint's",
    },
}


def _objective_schema(kind: str) -> dict[str, Any]:
    fields = sorted(objective_fields(kind))
    properties = {name: _FIELDS[name] for name in fields if name != "kind"}
    properties["kind"] = {"const": kind}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": ["name", "kind", *sorted(KIND_REQUIRED[kind])],
        "additionalProperties": False,
    }
    if kind in LATENCY_KINDS:
        schema["oneOf"] = [{"required": ["percentile"]}, {"required": ["target"]}]
    return schema


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a spec file."""
    top = {name: _FIELDS[name] for name in sorted(TOP_FIELDS) if name != "objectives"}
    top["objectives"] = {
        "type": "array",
        "minItems": 1,
        "items": {"oneOf": [_objective_schema(kind) for kind in sorted(KIND_FIELDS)]},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "slogate SLO spec",
        "type": "object",
        "properties": top,
        "required": ["service", "objectives"],
        "additionalProperties": False,
    }


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=1, ensure_ascii=False) + "\n"
