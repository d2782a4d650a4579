"""``evaluation.json``: the evaluation's stable JSON form (rendered by :mod:`slogate.slo.bundle`)."""

from __future__ import annotations

from slogate.slo.bundle import evaluation_json as render_json

__all__ = ["render_json"]
