"""The Locust plugin under plain `locust -f`: master/worker processes merge into one run, and the
verdict becomes Locust's exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from slogate.target import ReferenceTarget

SCENARIO = Path(__file__).resolve().parents[2] / "loadtest" / "reference_mix.py"
SPEC = """\
service: reference-proxy
objectives:
  - {name: errors, kind: error_ratio, max: 0%, min_samples: 1}
  - {name: p50, kind: latency, percentile: 50, threshold: 1us, gating: false}
"""


def json_documents(text: str) -> list[list[dict[str, int]]]:
    """Every JSON document on stdout (each Locust process prints its own; the master's is whole)."""
    decoder, documents, index = json.JSONDecoder(), [], 0
    while (index := text.find("[", index)) != -1:
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents


@pytest.mark.slow
def test_processes_merge_losslessly_and_set_the_exit_code(tmp_path: Path, closed_port: int) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    bundle = tmp_path / "bundle"
    with ReferenceTarget() as target:
        completed = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(SCENARIO), "--headless", "--json",
             "--host", target.proxy_url, "-u", "6", "-r", "6", "-t", "4s", "--processes", "2",
             # Its own master port: another Locust on this machine must not join this run.
             "--master-bind-port", str(closed_port), "--master-port", str(closed_port),
             "--slogate-out", str(bundle), "--slogate-spec", str(spec)],
            capture_output=True, text=True, timeout=90, check=False,
        )
    assert completed.returncode == 0, (bundle / "evaluation.json").read_text()[:3000]
    locust_total = max(sum(e["num_requests"] for e in doc) for doc in json_documents(completed.stdout))
    run = json.loads((bundle / "run.json").read_text())
    recorded = sum(
        window["ok"]["count"] + window["failed"]["count"]
        for time_slice in run["slices"]
        for window in time_slice["endpoints"].values()
    )
    # Every request of both workers reached the master's histograms, none twice.
    assert locust_total > 100 and recorded == locust_total
    assert run["load_model"]["processes"] == 2 and run["complete"] is True
    evaluation = json.loads((bundle / "evaluation.json").read_text())
    assert evaluation["verdict"] == "pass"
    assert evaluation["objectives"][1]["verdict"] == "fail"  # informational: reported, not gating
