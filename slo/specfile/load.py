"""The one way in: read a spec file and let the dialect its documents are written in build the Spec.

The file's objects are its YAML documents, with a top-level list read as its items (the form the
OpenSLO SDK and ``oslo`` write: ``- apiVersion: openslo/v1 ...``). The first dialect in
``DIALECTS`` that claims the objects parses them; a file no dialect claims is slogate's own format,
read from its documents as written. A new dialect is a sibling module and one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from slogate.slo.spec import Spec
from slogate.slo.specfile.native import parse_native
from slogate.slo.specfile.openslo import is_openslo, parse_openslo
from slogate.slo.specfile.problems import SpecError, SpecProblem
from slogate.slo.specfile.pyrra import is_pyrra, parse_pyrra
from slogate.slo.specfile.sloth import is_sloth, parse_sloth
from slogate.slo.specfile.source import SourceError, YamlSequence, parse_documents, read_text

__all__ = ["DIALECTS", "Dialect", "SpecError", "SpecProblem", "load_spec", "parse_spec"]


@dataclass(frozen=True)
class Dialect:
    """A spec format other than slogate's own."""

    claims: Callable[[list[Any]], bool]
    """Whether a file's objects are written in this dialect (an unsupported version of it too, so
    the dialect can say what it supports)."""
    parse: Callable[[list[Any], str], Spec]
    """The Spec of a file's objects (and the file's name for problems); raises SpecError."""


DIALECTS: tuple[Dialect, ...] = (
    Dialect(claims=is_pyrra, parse=parse_pyrra),
    Dialect(claims=is_sloth, parse=parse_sloth),
    Dialect(claims=is_openslo, parse=parse_openslo),
)
"""Most specific claim first: OpenSLO claims any ``apiVersion``, so a dialect recognised by its
own ``apiVersion`` (a Kubernetes resource) goes before it."""


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file. Raises SpecError (never a traceback-worthy error)."""
    source = str(path)
    try:
        text = read_text(path)
    except SourceError as exc:
        raise SpecError([SpecProblem(source, exc.line, "", exc.reason)]) from None
    return parse_spec(text, source)


def parse_spec(text: str, source: str = "<memory>") -> Spec:
    """The Spec written in ``text``, which keeps the text (``Spec.source_text``)."""
    try:
        documents = parse_documents(text)
    except SourceError as exc:
        raise SpecError([SpecProblem(source, exc.line, "", exc.reason)]) from None
    objects = [item for document in documents
               for item in (document if isinstance(document, YamlSequence) else [document])]
    dialect = next((d for d in DIALECTS if d.claims(objects)), None)
    spec = dialect.parse(objects, source) if dialect else parse_native(documents, source)
    return replace(spec, source_text=text)
