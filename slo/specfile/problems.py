"""What is wrong with a spec and where: problems collected with file, line and field, all at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slogate.slo.specfile.source import YamlMapping


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
