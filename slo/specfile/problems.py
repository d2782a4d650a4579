"""What is wrong with a spec and where: problems collected with file, line and field, all at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slogate.slo.specfile.source import YamlMapping

MIN_PERIOD_S = 3600.0
"""The shortest SLO period a spec may give (see ``Checker.period_floor``)."""


@dataclass(frozen=True)
class SpecProblem:
    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SpecError(Exception):
    """A spec that cannot be used; ``problems`` lists every fault found, each with its place."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Checker:
    """Collects problems instead of stopping at the first, so one run shows them all."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[SpecProblem] = []

    def fail(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(SpecProblem(self.source, line, field, message))

    def convert(
        self, mapping: YamlMapping, key: str, path: str, parse: Callable[[Any], Any]
    ) -> Any:
        try:
            return parse(mapping[key])
        except ValueError as exc:
            self.fail(mapping.key_lines.get(key, mapping.line), path, str(exc))
            return None

    def unknown_fields(self, mapping: YamlMapping, allowed: set[str], prefix: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.fail(
                    mapping.key_lines[key],
                    f"{prefix}{key}",
                    f"unknown field; expected one of: {', '.join(sorted(allowed))}",
                )

    def strings(self, mapping: YamlMapping, key: str, path: str) -> dict[str, str]:
        """A mapping of label (or annotation) names to text; numbers and booleans are read as
        the text written (``true``), anything else is a problem."""
        raw = mapping.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, dict) or not all(isinstance(v, str | int | float) for v in raw.values()):
            self.fail(mapping.key_lines.get(key, mapping.line), path, "expected a mapping of names to text")
            return {}
        return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw.items()}

    def period_floor(self, line: int | None, path: str, seconds: float) -> bool:
        """Whether ``seconds`` can be an SLO period: under an hour, burn-rate windows (a twelfth,
        a seventy-second of it...) would be seconds long; such a period is almost always a month
        written ``1m`` (minutes), so it is refused rather than alerted on."""
        if seconds >= MIN_PERIOD_S:
            return True
        self.fail(line, path, f"an SLO period of {seconds:g} s is under the 1h minimum: 'm' is minutes "
                  "(write a month as 30d or 4w, or 1M on a calendar window)")
        return False
