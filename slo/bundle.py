"""The run bundle on disk: one folder per run, every file written atomically (temp file + rename)."""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from slogate.slo.evaluation import Evaluation
from slogate.slo.redact import redact, strip_control
from slogate.slo.request_rows import REQUEST_ROWS_FILE, RequestRows
from slogate.slo.run import RunResult

_Model = TypeVar("_Model")

RUN_FILE = "run.json"
EVALUATION_FILE = "evaluation.json"
SERVER_EVALUATION_FILE = "server-evaluation.json"
"""The same spec judged from the proxy's own metrics in Prometheus (``gate --prometheus``)."""
REPORT_HTML = "report.html"
SUMMARY_MD = "summary.md"
JUNIT_XML = "junit.xml"


def _file_mode() -> int:
    # mkstemp creates 0600 files; results are meant to be read (CI artefacts), so honour the umask.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def new_run_id() -> str:
    """A run id that sorts by start time: '20261126-141500-a3f9'."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def file_stem(name: str) -> str:
    """A file-name-safe form of a service name, for the files generated for it."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return stem or "service"


class BundleError(Exception):
    """A bundle that cannot be read: the message names the file and what is wrong."""


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file to write that replaces ``path`` only when complete: readers see the old file or the
    new, never half, and a failure (a full disk, an interrupt) leaves no temporary file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, content: str | bytes) -> None:
    """Replace ``path`` with ``content`` atomically (see ``atomic_file``)."""
    with atomic_file(path) as handle:
        handle.write(content.encode("utf-8") if isinstance(content, str) else content)


def write_run(path: Path, run: RunResult) -> None:
    """Write ``run.json`` atomically, one slice at a time.

    A run is rewritten every few seconds while it goes on; building the whole document first
    would take memory in proportion to the run's length at every checkpoint.
    """
    facts = json.dumps(run.to_dict(slices=False), indent=1, allow_nan=False)
    with atomic_file(path) as handle:
        handle.write(facts[: facts.rindex("}")].rstrip().encode("utf-8"))
        handle.write(b',\n "slices": [')
        for index, time_slice in enumerate(run.slices):
            text = json.dumps(time_slice.to_dict(packed=True), allow_nan=False)
            handle.write(("\n  " if index == 0 else ",\n  ").encode("utf-8") + text.encode("utf-8"))
        handle.write(b"\n ]\n}\n")
    _write_request_rows(path.parent / REQUEST_ROWS_FILE, run.request_rows)


def _write_request_rows(path: Path, rows: RequestRows) -> None:
    """The streamed requests' rows beside run.json; none left from an earlier run in the folder."""
    if rows.blocks:
        write_atomic(path, rows.csv_gz())
    else:
        path.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=False, allow_nan=False) + "\n")


def evaluation_json(evaluation: Evaluation) -> str:
    """``evaluation.to_dict()`` indented, readable back with ``Evaluation.from_dict``.

    Strings are redacted; a non-finite number (an infinite burn rate against a zero budget)
    becomes null, because JSON has no infinity and strict parsers reject ``Infinity``.
    """
    data = _clean(evaluation.to_dict())
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_evaluation(path: Path, evaluation: Evaluation) -> None:
    """The one writer of ``evaluation.json`` (and ``server-evaluation.json``): the Locust plugin,
    ``gate`` on a bundle and ``gate --prometheus`` all write through here."""
    write_atomic(path, evaluation_json(evaluation))


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


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{path}: missing") from None
    except OSError as exc:
        raise BundleError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BundleError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); the file may be truncated"
        ) from None


def read_run(bundle: Path) -> RunResult:
    """The run of a bundle folder (or of a run.json given directly)."""
    path = bundle if bundle.is_file() else bundle / RUN_FILE
    # Reading an hour of slices makes hundreds of thousands of objects and no garbage: with the
    # cycle collector on, it rescans them all again and again (a third of the time of a long run).
    collecting = gc.isenabled()
    gc.disable()
    try:
        run = _read_model(path, RunResult.from_dict)
    finally:
        if collecting:
            gc.enable()
    problem = _negative_count(run)
    if problem is not None:
        raise BundleError(f"{path}: {problem}: counts cannot be negative; the file was altered or corrupted")
    rows_path = path.parent / REQUEST_ROWS_FILE
    if rows_path.exists():
        run = dataclasses.replace(run, request_rows=_read_request_rows(rows_path))
    return run


def _read_request_rows(path: Path) -> RequestRows:
    try:
        return RequestRows.from_csv_gz(path.read_bytes())
    except OSError as exc:
        raise BundleError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise BundleError(f"{path}: {exc}") from None


def _negative_count(run: RunResult) -> str | None:
    """Where a count of ``run`` is below zero (a verdict on it would be meaningless), or None."""
    for i, error in enumerate(run.errors):
        if error.count < 0:
            return f"errors[{i}].count is {error.count}"
    for i, time_slice in enumerate(run.slices):
        counts = {"users": time_slice.users, "dispatch_late": time_slice.dispatch_late,
                  "dispatch_dropped": time_slice.dispatch_dropped}
        counts |= {f"errors.{kind}": n for kind, n in time_slice.errors.items()}
        for endpoint, window in time_slice.endpoints.items():
            counts[f"endpoints.{endpoint}.rate_limited"] = window.rate_limited
            counts |= {f"endpoints.{endpoint}.statuses.{code}": n for code, n in window.statuses.items()}
        for name, count in counts.items():
            if count < 0:
                return f"slices[{i}].{name} is {count}"
    return None


def check_writable(folder: Path) -> None:
    """Fail before a run, not after it, when its results could not be written (raises OSError)."""
    probe = folder / ".slogate-write-check"
    write_atomic(probe, b"ok")
    probe.unlink()


def read_evaluation(bundle: Path) -> Evaluation:
    return _read_model(bundle / EVALUATION_FILE, Evaluation.from_dict)


def read_server_evaluation(bundle: Path) -> Evaluation | None:
    """The server-side evaluation kept beside the client's, if ``gate --prometheus`` wrote one."""
    path = bundle / SERVER_EVALUATION_FILE
    return _read_model(path, Evaluation.from_dict) if path.exists() else None


def _read_model(path: Path, from_dict: Callable[[dict[str, Any]], _Model]) -> _Model:
    data = read_json(path)
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a JSON object")
    try:
        return from_dict(data)
    except ValueError as exc:
        raise BundleError(f"{path}: {exc}") from None
