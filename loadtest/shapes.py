"""Closed-model load shapes as plans: ramp, steps, spike, soak (Locust runs them through
loadtest.plugin.PlannedShape; this module does not import Locust).

A shape is chosen by a compact text, ``NAME[:key=value,...]``, from ``--slogate-shape`` (plain
Locust) or ``slogate run --shape``. The peak is the run's users (``-u``), the length its run time
(``-t``); the parameters place the changes in between:

- ``ramp``                  0 → users linearly over ``ramp`` (default: the whole run)
- ``steps:steps=4``         users/steps more users every run/steps
- ``spike:base=20%,at=50%,length=10%``   ``base`` of the users, the full users for ``length`` of
  the run starting at ``at`` of the run, then ``base`` again
- ``soak:ramp=10%``         ramp to users over ``ramp`` (default 10% of the run, at most 60 s), hold

Durations take units (``30s``, ``2m``) or a share of the run (``25%``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from slogate.slo.units import parse_duration

SHAPES = ("ramp", "steps", "spike", "soak")
_KEYS: dict[str, tuple[str, ...]] = {
    "ramp": ("ramp",),
    "steps": ("steps",),
    "spike": ("base", "at", "length"),
    "soak": ("ramp",),
}


class ShapeError(ValueError):
    """A shape text that cannot be used; the message names the shape and the parameter."""


@dataclass(frozen=True)
class ShapePlan:
    """Users asked for at each moment of a closed-model run."""

    name: str
    users: int
    duration_s: float
    params: Mapping[str, float]

    def users_at(self, elapsed_s: float) -> int | None:
        """Users wanted ``elapsed_s`` into the run; None once the run is over."""
        if elapsed_s >= self.duration_s:
            return None
        p = self.params
        if self.name in ("ramp", "soak"):
            ramp = p["ramp"]
            return self.users if ramp <= 0 else min(self.users, math.ceil(self.users * elapsed_s / ramp))
        if self.name == "steps":
            steps = int(p["steps"])
            step = min(steps, int(elapsed_s // (self.duration_s / steps)) + 1)
            return max(1, round(self.users * step / steps))
        base = max(1, round(self.users * p["base"]))
        in_spike = p["at"] <= elapsed_s < p["at"] + p["length"]
        return self.users if in_spike else base

    def describe(self) -> dict[str, object]:
        return {"shape": self.name, **{k: round(v, 3) for k, v in self.params.items()}}


def parse_shape(text: str, *, users: int, duration_s: float | None) -> ShapePlan:
    """``NAME[:key=value,...]`` → a plan for ``users`` over ``duration_s``; ShapeError if unusable."""
    name, _, rest = text.strip().partition(":")
    name = name.strip().lower()
    if name not in SHAPES:
        raise ShapeError(f"shape {name!r}: unknown; expected one of {', '.join(SHAPES)}")
    if not duration_s or duration_s <= 0:
        raise ShapeError(f"shape {name}: needs a run time (-t / --duration)")
    if users < 1:
        raise ShapeError(f"shape {name}: needs at least one user")
    given: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in _KEYS[name]:
            raise ShapeError(
                f"shape {name}: bad parameter {item!r}; expected key=value with keys "
                f"{', '.join(_KEYS[name])}"
            )
        given[key.strip()] = value.strip()
    defaults = {
        "ramp": {"ramp": "100%"},
        "steps": {"steps": "4"},
        "spike": {"base": "20%", "at": "50%", "length": "10%"},
        "soak": {"ramp": f"{min(60.0, duration_s * 0.1):g}s"},
    }[name]
    params: dict[str, float] = {}
    for key, value in {**defaults, **given}.items():
        params[key] = _parameter(name, key, value, duration_s)
    if name == "steps" and not (params["steps"] >= 1 and params["steps"] == int(params["steps"])):
        raise ShapeError(f"shape steps: steps must be a whole number ≥ 1, got {given.get('steps')!r}")
    return ShapePlan(name, users, duration_s, params)


def _parameter(shape: str, key: str, value: str, duration_s: float) -> float:
    try:
        if key == "steps":
            return float(int(value))
        if value.endswith("%"):
            share = float(value[:-1]) / 100
            if not 0 <= share <= 1:
                raise ValueError("a share must be between 0% and 100%")
            return share if key == "base" else share * duration_s
        if key == "base":
            raise ValueError("base is a share of the users, e.g. 20%")
        return parse_duration(value)
    except ValueError as exc:
        raise ShapeError(f"shape {shape}: parameter {key}={value!r}: {exc}") from None
