"""``evaluation.json``: the evaluation's stable JSON form, secrets masked, strictly valid JSON."""

from __future__ import annotations

import json
import math
from typing import Any

from slogate.reports.format import strip_control
from slogate.slo.evaluation import Evaluation
from slogate.slo.redact import redact


def render_json(evaluation: Evaluation) -> str:
    """``evaluation.to_dict()`` indented, readable back with ``Evaluation.from_dict``.

    Strings are redacted; a non-finite number (an infinite burn rate against a zero budget)
    becomes null, because JSON has no infinity and strict parsers reject ``Infinity``.
    """
    data = _clean(evaluation.to_dict())
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_control(redact(value))
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value
