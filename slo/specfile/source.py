"""Spec files as YAML that remembers where everything is: the line of every mapping, key and item.

Reading never raises anything but ``SourceError`` (a line, when there is one, and a reason), so a
malformed, deeply nested, non-UTF-8 or binary file is a message, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from slogate.slo.units import shown

MAX_DEPTH = 64
"""Deepest nesting of YAML collections a spec may have; real specs need four or five levels."""


class SourceError(Exception):
    """A file that cannot be read as YAML; ``line`` is 1-based, None when the whole file is at fault."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(reason)


class Line(int):
    """A 1-based line number that knows its file, so that the problems of objects loaded together
    from several files (an SLO in one, its SLI in another) name the right one."""

    source: str | None

    def __new__(cls, number: int, source: str | None) -> Line:
        line = super().__new__(cls, number)
        line.source = source
        return line


def source_of(line: int | None) -> str | None:
    """The file ``line`` is in, when it knows it."""
    return line.source if isinstance(line, Line) else None


class YamlMapping(dict[str, Any]):
    """A YAML mapping that remembers the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]
    position: int | None = None
    """Its index among its file's objects, when it is one of several files' objects loaded together."""


def line_of(mapping: YamlMapping, key: str) -> int:
    """The line of ``key`` in ``mapping``, or of the mapping itself when the key is missing."""
    return mapping.key_lines.get(key, mapping.line)


class YamlSequence(list[Any]):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose every failure is a MarkedYAMLError, so it has a line."""

    _depth = 0
    source: str | None = None

    def line_at(self, mark: yaml.Mark) -> Line:
        return Line(mark.line + 1, self.source)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # The composer recurses once per level: without a bound, '[[[[…' runs into RecursionError.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML's own constructors raise plain ValueError / OverflowError for a timestamp such as
        # 2024-13-45 or an integer of more than 4,300 digits, and AttributeError for an explicit
        # tag its pattern does not match (!!timestamp nope).
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, AttributeError, TypeError) as exc:
            reason = str(exc).split(";")[0]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {shown(node.value)}: {reason}", node.start_mark
            ) from None


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> YamlMapping:
    mapping = YamlMapping()
    mapping.line = loader.line_at(node.start_mark)
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = shown(key)
        if key in mapping:
            raise yaml.MarkedYAMLError(
                problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = loader.line_at(key_node.start_mark)
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> YamlSequence:
    sequence = YamlSequence(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = loader.line_at(node.start_mark)
    sequence.item_lines = [loader.line_at(child.start_mark) for child in node.value]
    return sequence


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_text(path: str | Path) -> str:
    """A spec file's text, exactly as written (no newline translation)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(None, f"cannot read: {exc.strerror}") from None
    except ValueError as exc:  # a path with a NUL byte
        raise SourceError(None, f"cannot read: {exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SourceError(line, f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded") from None


def parse_documents(text: str, source: str | None = None) -> list[Any]:
    """Every YAML document of ``text``, mappings and sequences carrying their lines (of ``source``)."""
    loader = type("_SourceLoader", (_LineLoader,), {"source": source})
    try:
        return list(yaml.load_all(text, Loader=loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise SourceError(line, f"invalid YAML: {reason}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML forbids, such as NUL
        line = text.count("\n", 0, exc.position) + 1
        code = ord(exc.character) if isinstance(exc.character, str) else exc.character
        raise SourceError(line, f"invalid YAML: character U+{code:04X} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise SourceError(None, f"invalid YAML: {exc}") from None
