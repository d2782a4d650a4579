"""The one way in: read a spec file and let the dialect its documents are written in build the Spec.

The file's objects are its YAML documents, with a top-level list read as its items (the form the
OpenSLO SDK and ``oslo`` write: ``- apiVersion: openslo/v1 ...``). The first dialect in
``DIALECTS`` that claims the objects parses them; a file no dialect claims is slogate's own format,
read from its documents as written. A new dialect is a sibling module and one entry here.

Several files (or a folder of ``*.yaml`` and ``*.yml`` files) make one spec when loaded together:
their objects go to the dialect as one list, so an OpenSLO SLO in one file finds its SLI, alert
policy or conditions in another, and every problem still names the file and line it is at. The
files of one spec are in one dialect (refused otherwise), and slogate's own format is one file.

The command's metric contract (``--contract``) reaches every dialect: OpenSLO reads with it which
queries are over the proxy's own request metrics (and so what a load test can measure of them).
Sloth's and Pyrra's SLIs are PromQL of their own, read the same under any contract; slogate's own
format names its contract itself (``contract:``), which wins over the command's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from slogate.slo.contract import DEFAULT_CONTRACT, MetricContract
from slogate.slo.spec import Spec
from slogate.slo.specfile.native import parse_native
from slogate.slo.specfile.openslo import is_openslo, parse_openslo, references
from slogate.slo.specfile.problems import SpecError, SpecProblem
from slogate.slo.specfile.pyrra import is_pyrra, parse_pyrra
from slogate.slo.specfile.sloth import is_sloth, parse_sloth
from slogate.slo.specfile.source import (
    SourceError,
    YamlMapping,
    YamlSequence,
    parse_documents,
    read_text,
    source_of,
)

__all__ = ["DIALECTS", "Dialect", "SpecError", "SpecProblem", "group_by_references", "load_spec",
           "load_specs", "parse_spec", "parse_specs", "spec_files"]


@dataclass(frozen=True)
class Dialect:
    """A spec format other than slogate's own."""

    name: str
    claims: Callable[[list[Any]], bool]
    """Whether a file's objects are written in this dialect (an unsupported version of it too, so
    the dialect can say what it supports)."""
    parse: Callable[..., Spec]
    """The Spec of a file's objects, or of several files' (and their names for problems); raises
    SpecError. Called with the command's contract too when ``reads_contract``."""
    reads_contract: bool = False
    """Whether how the dialect reads a file depends on the proxy's metric contract."""


DIALECTS: tuple[Dialect, ...] = (
    Dialect(name="Pyrra", claims=is_pyrra, parse=parse_pyrra),
    Dialect(name="Sloth", claims=is_sloth, parse=parse_sloth),
    Dialect(name="OpenSLO", claims=is_openslo, parse=parse_openslo, reads_contract=True),
)
"""Most specific claim first: OpenSLO claims any ``apiVersion``, so a dialect recognised by its
own ``apiVersion`` (a Kubernetes resource) goes before it."""


SPEC_SUFFIXES = (".yaml", ".yml")
"""The files of a folder given as a spec."""


def load_spec(path: str | Path, contract: MetricContract = DEFAULT_CONTRACT) -> Spec:
    """Read and validate a spec file. Raises SpecError (never a traceback-worthy error)."""
    return parse_spec(_read(Path(path)), str(path), contract)


def load_specs(paths: Sequence[str | Path], contract: MetricContract = DEFAULT_CONTRACT) -> Spec:
    """One spec from files loaded together (a folder: its ``*.yaml`` and ``*.yml`` files), read
    under ``contract`` (``--contract``). Raises SpecError naming each problem's file."""
    files = spec_files(paths)
    return parse_specs([(str(path), _read(path)) for path in files], contract)


def spec_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files ``paths`` name, a folder by its spec files (sorted, not its subfolders), each once."""
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            found = sorted(p for p in given.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file())
            if not found:
                raise SpecError([SpecProblem(str(given), None, "", "a folder with no *.yaml or *.yml file")])
            files.extend(found)
        else:
            files.append(given)
    return list(dict.fromkeys(files))


def group_by_references(paths: Sequence[str | Path]) -> list[list[Path]]:
    """The files of ``paths`` in the groups that make one spec each: OpenSLO files whose objects
    name each other's (an SLO and the file of its SLI) together, every other file alone; in the
    order given. A name several files define links none of them; a file that cannot be read is
    alone, to be refused on its own."""
    files = spec_files(paths)
    group = list(range(len(files)))  # union-find: each file's group is its root's

    def root(index: int) -> int:
        while group[index] != index:
            index = group[index]
        return index

    found = [references(objects) if objects and is_openslo(objects) else (set(), set())
             for objects in map(_objects_or_none, files)]
    for i, (own, named) in enumerate(found):
        for name in named - own:  # what a file defines itself is its own
            j = _defining_file(name, found)
            if j is not None:
                group[root(i)] = root(j)
    groups: dict[int, list[Path]] = {}
    for index, path in enumerate(files):
        groups.setdefault(root(index), []).append(path)
    return list(groups.values())


def _defining_file(name: tuple[str, str], found: list[tuple[set[Any], set[Any]]]) -> int | None:
    """The index of the one file that defines ``name`` (of those that define it, the one that does
    not use it itself: two self-contained specs may both have an SLI named ``availability``); None
    when no file or several do, so a set is not guessed."""
    defining = [index for index, (defined, _) in enumerate(found) if name in defined]
    if len(defining) > 1:
        defining = [index for index in defining if name not in found[index][1]]
    return defining[0] if len(defining) == 1 else None


def parse_spec(text: str, source: str = "<memory>", contract: MetricContract = DEFAULT_CONTRACT) -> Spec:
    """The Spec written in ``text``, which keeps the text (``Spec.source_text``)."""
    return parse_specs([(source, text)], contract)


def parse_specs(files: Sequence[tuple[str, str]], contract: MetricContract = DEFAULT_CONTRACT) -> Spec:
    """The one Spec that ``files`` (name, text) make together, read under ``contract``; it keeps
    their text."""
    parsed = [(source, _objects(text, source)) for source, text in files]
    dialects = [next((d for d in DIALECTS if d.claims(objects)), None) for _, (_, objects) in parsed]
    source = ", ".join(name for name, _ in files)
    if len(files) == 1:
        documents, objects = parsed[0][1]
        dialect = dialects[0]
        spec = _parse(dialect, objects, source, contract) if dialect else parse_native(documents, source)
        return replace(spec, source_text=files[0][1])
    if None in dialects or len(set(dialects)) > 1:
        formats = ", ".join(f"{name} is {d.name if d else 'slogate format'}"
                            for (name, _), d in zip(files, dialects, strict=True))
        raise SpecError([SpecProblem(source, None, "", "files loaded together must be one spec in one "
                                     "format (OpenSLO, Sloth or Pyrra; slogate's own format is one file "
                                     f"a spec): {formats}")])
    dialect = dialects[0]
    assert dialect is not None  # every file is in this one dialect
    objects = [o for _, (_, file_objects) in parsed for o in file_objects]
    try:
        spec = _parse(dialect, objects, source, contract)
    except SpecError as exc:
        # A problem at a line of no file (the set's own) is the set's, with no line.
        raise SpecError([replace(p, source=source_of(p.line) or p.source,
                                 line=p.line if source_of(p.line) else None) for p in exc.problems]) from None
    return replace(spec, source_text="\n".join(f"# {name}\n{text}" for name, text in files))


def _parse(dialect: Dialect, objects: list[Any], source: str, contract: MetricContract) -> Spec:
    if dialect.reads_contract:
        return dialect.parse(objects, source, contract)
    return dialect.parse(objects, source)


def _read(path: Path) -> str:
    try:
        return read_text(path)
    except SourceError as exc:
        raise SpecError([SpecProblem(str(path), exc.line, "", exc.reason)]) from None


def _objects(text: str, source: str) -> tuple[list[Any], list[Any]]:
    """A file's documents, and its objects: the documents with a top-level list read as its items
    (a mapping among several files' knowing its index in its own file)."""
    try:
        documents = parse_documents(text, source)
    except SourceError as exc:
        raise SpecError([SpecProblem(source, exc.line, "", exc.reason)]) from None
    objects = [item for document in documents
               for item in (document if isinstance(document, YamlSequence) else [document])]
    for position, item in enumerate(objects):
        if isinstance(item, YamlMapping):
            item.position = position
    return documents, objects


def _objects_or_none(path: Path) -> list[Any] | None:
    try:
        return _objects(_read(path), str(path))[1]
    except SpecError:
        return None
