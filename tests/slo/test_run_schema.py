"""run.json schema 2 (packed histograms): read back exactly, schema 1 still read, bad payloads named."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from slogate.slo.bundle import BundleError, read_run, write_json
from slogate.slo.evaluator import evaluate
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.run import EndpointWindow, ErrorGroup, RunResult
from slogate.slo.specfile.load import parse_spec
from tests.builders import make_run

SPEC = """\
service: svc
warmup: 2s
objectives:
  - {name: p99, kind: latency, percentile: p99, threshold: 50ms}
  - {name: a-p95, kind: latency, endpoint: GET /a, percentile: p95, threshold: 20ms}
  - {name: budget, kind: latency, target: 99%, threshold: 40ms}
  - {name: errors, kind: error_ratio, max: 5%}
  - {name: every-3s, kind: latency, percentile: p90, threshold: 30ms, window: 3s}
"""


def lognormal_run() -> RunResult:
    """Ten one-second slices of two endpoints, lognormal latencies, a few failures."""
    rng = random.Random(3)
    slices: list[dict[str, tuple[list[float], dict[str, int]]]] = [
        {"GET /a": ([], {}), "POST /b": ([], {})} for _ in range(10)]
    failed: dict[str, int] = {}
    for i in range(6_000):
        endpoint = "GET /a" if i % 3 else "POST /b"
        latencies, failures = slices[i // 600][endpoint]
        latency_ms = rng.lognormvariate(9.0, 0.7) / 1000.0
        if i % 97 == 0:
            failures["503"] = failures.get("503", 0) + 1
            failed[endpoint] = failed.get(endpoint, 0) + 1
        else:
            latencies.append(latency_ms)
    errors = [ErrorGroup(endpoint, "HTTP 503", "busy", count)
              for endpoint, count in sorted(failed.items(), key=lambda item: -item[1])]
    return make_run(slices, errors=errors)


def as_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """The same run as an older slogate wrote it: every histogram's buckets as [index, count] pairs."""
    old: dict[str, Any] = json.loads(json.dumps(data))
    old["schema_version"] = 1
    for time_slice in old["slices"]:
        for window in time_slice["endpoints"].values():
            for key in ("ok", "failed"):
                window[key] = LatencyHistogram.from_dict(window[key]).to_dict()
    return old


def test_run_json_packs_slices_and_keeps_the_rest_plain(tmp_path: Path) -> None:
    run = lognormal_run()
    data = run.to_dict()
    assert data["schema_version"] == 2
    assert [(e["endpoint"], e["count"]) for e in data["errors"]] == [("GET /a", 41), ("POST /b", 21)]
    window = data["slices"][0]["endpoints"]["GET /a"]
    assert isinstance(window["ok"]["buckets"], dict)  # packed: hundreds of buckets
    assert window["ok"]["count"] == 396 and window["statuses"] == {"200": 396, "503": 4}  # plain numbers
    write_json(tmp_path / "run.json", data)
    back = read_run(tmp_path)
    assert back.to_dict() == data
    assert back.slices[4].endpoints["GET /a"].ok == run.slices[4].endpoints["GET /a"].ok


def test_schema_1_runs_are_still_read_and_judged_the_same(tmp_path: Path) -> None:
    data = lognormal_run().to_dict()
    write_json(tmp_path / "v2.json", data)
    write_json(tmp_path / "v1.json", as_schema_1(data))
    spec = parse_spec(SPEC)
    v1, v2 = read_run(tmp_path / "v1.json"), read_run(tmp_path / "v2.json")
    assert v1.to_dict() == data
    judged_v1, judged_v2 = evaluate(spec, v1, now=0.0), evaluate(spec, v2, now=0.0)
    assert judged_v1.to_dict() == judged_v2.to_dict()
    # Seconds 2 to 10 (warm-up excluded) hold requests 1200 to 5999, 49 of them failed.
    assert judged_v2.objectives[0].samples == 4_800 - 49


def test_merged_window_equals_merging_one_by_one() -> None:
    run = RunResult.from_dict(lognormal_run().to_dict())
    windows = [s.endpoints[name] for s in run.slices for name in sorted(s.endpoints)]
    one_by_one = EndpointWindow()
    for window in windows:
        one_by_one.merge(window)
    merged = EndpointWindow.merged(windows)
    assert merged.to_dict() == one_by_one.to_dict()
    assert merged.ok.sum == one_by_one.ok.sum
    total, matched = run.merged("GET /a")
    assert matched == ["GET /a"] and total.requests == 4_000


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda h: h["buckets"].update(counts="@@@"), "'counts' is not base64"),
        (lambda h: h["buckets"].update(n=h["buckets"]["n"] + 1), "per value"),
        (lambda h: h.update(count=h["count"] + 1), "count does not match its buckets"),
    ],
)
def test_a_damaged_histogram_names_the_file(tmp_path: Path, damage: Any, message: str) -> None:
    data = lognormal_run().to_dict()
    damage(data["slices"][3]["endpoints"]["GET /a"]["ok"])
    path = tmp_path / "run.json"
    write_json(path, data)
    with pytest.raises(BundleError, match="malformed histogram") as raised:
        read_run(tmp_path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    write_json(tmp_path / "run.json", {**lognormal_run().to_dict(), "schema_version": 3})
    with pytest.raises(BundleError, match="unsupported run schema_version 3; expected 1 or 2"):
        read_run(tmp_path)


def test_streamed_run_json_is_the_same_document(tmp_path: Path) -> None:
    from slogate.slo.bundle import write_run

    run = lognormal_run()
    write_run(tmp_path / "run.json", run)
    assert json.loads((tmp_path / "run.json").read_text()) == run.to_dict()
    assert read_run(tmp_path).to_dict() == run.to_dict()
    assert list(tmp_path.iterdir()) == [tmp_path / "run.json"]  # no temporary file left
