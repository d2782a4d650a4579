"""The ``slo`` modules import one way: no circle among them, and no spec dialect imports another.

Read from the source (every import statement, lazy ones inside functions included), so a
back-import is caught before it can bite at import time.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import slogate.slo
from slogate.slo.specfile.load import DIALECTS
from slogate.slo.specfile.native import parse_native

SLO = Path(slogate.slo.__file__).resolve().parent
PACKAGE = "slogate.slo"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SLO).with_suffix("").parts
    return ".".join((PACKAGE, *parts[:-1])) if parts[-1] == "__init__" else ".".join((PACKAGE, *parts))


MODULES = {_module_name(path): path for path in SLO.rglob("*.py")}


def _imports(name: str) -> set[str]:
    """The ``slo`` modules that module ``name`` imports (``from a import b``: ``a.b`` if a module)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {module for module in found if module in MODULES and module != name}


def test_the_slo_modules_import_no_circle() -> None:
    graph = {name: _imports(name) for name in MODULES}
    assert "slogate.slo.specfile.source" in graph["slogate.slo.specfile.problems"]  # the reader works
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import circle: {' -> '.join(exc.args[1])}") from None


def test_no_spec_dialect_imports_another() -> None:
    dialects = {dialect.parse.__module__ for dialect in DIALECTS} | {parse_native.__module__}
    assert {"slogate.slo.specfile.native", "slogate.slo.specfile.openslo"} <= dialects
    for dialect in sorted(dialects):
        assert not _imports(dialect) & (dialects - {dialect}), dialect
