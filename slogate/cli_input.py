"""What the commands of the command line share to read and check their input: the usage error
(exit 2), the spec loaded under a ``--contract``, the ``--host`` URL and the output folder checked
before any work. ``slogate.cli`` and ``slogate.capacity_cli`` both import it; it imports neither,
so the commands' modules import one way (and ``python -m slogate.cli`` has one ``UsageError``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from slogate import catalog

if TYPE_CHECKING:
    from slogate.slo.contract import MetricContract
    from slogate.slo.spec import Spec

DEFAULT_OUT = Path("out")
CONTRACT_NAMES = ", ".join(catalog.contract_names())
SPEC_HELP = ("SLO spec file (YAML) or preset:NAME; repeat it, or give a folder, for the files of one spec "
             "(OpenSLO objects that refer to each other)")


class UsageError(Exception):
    """Bad input found before any work started (exit 2)."""


def load_spec(paths: Path | list[Path], contract: MetricContract | None = None, *,
              warmup_s: float | None = None) -> Spec:
    """The spec of a file, or of files (and folders of them) loaded together, read under the
    ``--contract`` given (None: the default); where the spec names another contract, which wins,
    it is said. ``warmup_s`` (``--warmup``) replaces the spec's own warm-up."""
    from slogate import console
    from slogate.slo.contract import DEFAULT_CONTRACT
    from slogate.slo.spec import contract_notes
    from slogate.slo.specfile.load import load_specs

    spec = load_specs([paths] if isinstance(paths, Path) else paths, contract or DEFAULT_CONTRACT)
    for note in contract_notes(spec, contract) if contract is not None else ():
        console.say(f"note: {note}")
    return spec if warmup_s is None else dataclasses.replace(spec, warmup_s=warmup_s)


def contract_of(path: Path | None) -> MetricContract | None:
    """The metric contract of a ``--contract`` file; None when none was given."""
    if path is None:
        return None
    from slogate import observability as obs

    try:
        return obs.load_contract_file(contract_file(path))[0]
    except obs.ObservabilityError as exc:
        raise UsageError(str(exc)) from None


def contract_file(path: Path) -> Path:
    """A ``--contract`` value as a file: the file itself, or the packaged preset of that name (a
    file the user has always wins)."""
    from slogate.slo.contract import contract_path  # reads YAML: not at the command line's import

    try:
        return contract_path(str(path), Path())
    except ValueError as exc:
        raise UsageError(f"--contract: {exc}") from None


def check_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"--host: expected an http(s) URL such as http://127.0.0.1:8080, got {url!r}")


def check_writable(folder: Path) -> None:
    """Fail before the run, not after it, when results could not be written."""
    from slogate.slo.bundle import check_writable as check_folder

    try:
        check_folder(folder)
    except OSError as exc:
        raise UsageError(f"cannot write results to {folder}: {exc.strerror or exc}") from None
