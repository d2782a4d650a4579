"""Results that cannot be written: a clear error before the run, exit 2, no truncated file."""

from __future__ import annotations

import contextlib
import errno
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from slogate.cli import main
from slogate.slo.bundle import write_atomic, write_json
from tests.conftest import unavailable
from tests.reliability.helpers import ERRORS_SPEC, temp_files


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(ERRORS_SPEC, encoding="utf-8")
    return path


def test_unwritable_report_folder_stops_before_the_run(
    tmp_path: Path, spec: Path, closed_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Tests run as root in CI, and root ignores permission bits: a folder under a regular file
    # cannot be created by anyone.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    bundle = blocker / "bundle"
    code = main(["run", "--host", f"http://127.0.0.1:{closed_port}", "--spec", str(spec),
                 "--duration", "60s", "--out", str(bundle)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot write results to {bundle}" in err and "Traceback" not in err
    assert "load test:" not in err  # no load was started
    assert blocker.read_text(encoding="utf-8") == "not a folder"
    # The same for `slogate gate --out` (and /proc, which no one can write into).
    assert main(["gate", str(tmp_path), "--spec", str(spec), "--out", "/proc/slogate-bundle"]) == 2
    assert "cannot write results to /proc/slogate-bundle" in capsys.readouterr().err


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs the right to mount: root outside a locked-down container)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        unavailable(f"cannot mount a tmpfs here (the right to mount is needed): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def fill(folder: Path) -> None:
    """Write until the disk is full."""
    with contextlib.suppress(OSError), (folder / "filler").open("wb", buffering=0) as handle:
        while True:
            handle.write(b"x" * 4096)


def test_full_disk(tiny_disk: Path, spec: Path, closed_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tiny_disk / "bundle"
    write_json(bundle / "run.json", {"schema_version": 1, "kept": True})
    fill(tiny_disk)
    # A checkpoint that no longer fits leaves the previous file whole and no temp file behind.
    with pytest.raises(OSError) as full:
        write_json(bundle / "run.json", {"schema_version": 1, "padding": "y" * 200_000})
    assert full.value.errno == errno.ENOSPC
    kept = json.loads((bundle / "run.json").read_text(encoding="utf-8"))
    assert kept == {"schema_version": 1, "kept": True}
    assert temp_files(tiny_disk) == []
    with pytest.raises(OSError):
        write_atomic(tiny_disk / "new.json", b"z" * 100_000)
    assert not (tiny_disk / "new.json").exists() and temp_files(tiny_disk) == []
    # A run that would write there is refused before it starts.
    code = main(["run", "--host", f"http://127.0.0.1:{closed_port}", "--spec", str(spec),
                 "--duration", "60s", "--out", str(tiny_disk / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write results to" in err and "No space left" in err, err
    assert temp_files(tiny_disk) == []
