"""A corrupt or truncated run bundle: `slogate gate` says what is wrong and where, exit 2, no traceback."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slogate.cli import main
from slogate.loadtest.recorder import RunRecorder
from tests.reliability.helpers import ERRORS_SPEC

Document = dict[str, Any]


def recorded_run() -> Document:
    """A real run.json from the recorder: 200 requests over 2 s, a few failed."""
    recorder = RunRecorder(slice_s=1.0)
    for i in range(200):
        failed = i % 50 == 0
        recorder.record("GET /content/{id}", 1_000.0 + i / 100, 1_000.0 + 37 * i, "503" if failed else "200",
                        ("HTTP 503", "overloaded") if failed else None)
    run = recorder.result(run_id="r1", target="http://127.0.0.1:1", scenario="s.py", load_model={},
                          started_at=1_000.0, ended_at=1_002.0, complete=True, git_revision=None,
                          slogate_version="test")
    return run.to_dict()


def first_window(run: Document) -> Document:
    return next(iter(run["slices"][0]["endpoints"].values()))


def set_negative_count(run: Document) -> None:
    first_window(run)["ok"]["count"] = -5


def set_negative_error_count(run: Document) -> None:
    run["errors"][0]["count"] = -3


CORRUPTIONS: dict[str, tuple[Callable[[Document], None] | str, str]] = {
    "truncated": ("TRUNCATE", "not valid JSON"),
    "bad JSON": ("{'run_id': 1,}", "not valid JSON"),
    "not an object": ("[1, 2, 3]", "expected a JSON object"),
    "wrong schema_version": (lambda run: run.update(schema_version=99), "schema_version 99"),
    "missing field": (lambda run: run.pop("started_at"), "started_at"),
    "missing slices": (lambda run: run.pop("slices"), "slices"),
    "negative histogram count": (set_negative_count, "count"),
    "negative error count": (set_negative_error_count, "count"),
    "wrong type": (lambda run: run.update(started_at="yesterday"), "yesterday"),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_gate_names_the_file_and_the_fault(
    tmp_path: Path, corruption: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(ERRORS_SPEC, encoding="utf-8")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    run_file = bundle / "run.json"
    change, expected = CORRUPTIONS[corruption]
    good = json.dumps(recorded_run(), indent=1)
    if change == "TRUNCATE":
        run_file.write_text(good[: len(good) // 2], encoding="utf-8")
    elif isinstance(change, str):
        run_file.write_text(change, encoding="utf-8")
    else:
        run = copy.deepcopy(recorded_run())
        change(run)
        run_file.write_text(json.dumps(run), encoding="utf-8")
    code = main(["gate", str(bundle), "--spec", str(spec)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(run_file) in err and expected in err, err
    assert "Traceback" not in err
    assert not (bundle / "evaluation.json").exists()  # nothing judged from a broken run


def test_the_uncorrupted_run_is_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The control: the same document, unharmed, gates (fails its 1% error objective)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(ERRORS_SPEC, encoding="utf-8")
    (tmp_path / "run.json").write_text(json.dumps(recorded_run()), encoding="utf-8")
    assert main(["gate", str(tmp_path), "--spec", str(spec)]) in (1, 3)
    assert "Traceback" not in capsys.readouterr().err
