"""Evaluating a long run from its bundle: time and peak memory, and whether they stay flat per slice.

A synthetic bundle of a 10,000 req/s run over 10 endpoints in 1 s slices (the histograms written in
their ``to_dict`` form, as the recorder would; run.json written by ``write_json`` as the plugin
does), judged by a spec of every objective kind. Both run schemas are measured side by side: 1 (bucket
pairs as JSON numbers, what older bundles hold) and 2 (packed buckets, what slogate writes now).
Each length and schema runs in a fresh process so its peak RSS is its own:

    .venv/bin/python -m benchmarks.evaluate_long_run            # 10 and 60 min (36 M requests), both
    .venv/bin/python -m benchmarks.evaluate_long_run --minutes 5 --minutes 60 --schema 2

Goal (issue 4): a one-hour run evaluated in under 5 s and 500 MB, flat per slice (compare the
µs/slice of both lengths). The ``results`` column is a digest of every objective's result: the same
run must judge the same in either schema.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from slogate.slo.bundle import read_run, write_json
from slogate.slo.evaluator import evaluate
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.specfile.load import parse_spec

RATE_PER_S = 10_000
ENDPOINTS = [f"GET /api/resource{i}" for i in range(9)] + ["POST /v1/messages"]

SPEC = """\
service: bench
warmup: 10s
objectives:
  - {name: overall-p99, kind: latency, percentile: p99, threshold: 250ms}
  - {name: overall-p99.9, kind: latency, percentile: 99.9, threshold: 1s}
  - {name: messages-p95, kind: latency, endpoint: POST /v1/messages, percentile: p95, threshold: 200ms}
  - {name: r1-budget, kind: latency, endpoint: GET /api/resource1, target: 99%, threshold: 100ms}
  - {name: errors, kind: error_ratio, max: 1%}
  - {name: server-errors, kind: error_ratio, max: 1%, error_statuses: [5xx]}
  - {name: availability, kind: availability, target: 99.5%}
  - {name: p99-every-minute, kind: latency, percentile: p99, threshold: 250ms, window: 60s}
  - {name: throughput, kind: throughput, min: 9000/s}
"""


def _buckets(median_us: float, sigma: float, count: int, rng: random.Random) -> dict[str, Any]:
    """A lognormal latency histogram of ``count`` values in the recorder's to_dict form."""
    histogram = LatencyHistogram()
    gamma_log = math.log((1 + histogram.relative_accuracy) / (1 - histogram.relative_accuracy))
    counts: dict[int, int] = {}
    # Spread the count over the buckets by the lognormal's quantiles (cheap and realistic).
    for i in range(count):
        z = math.sqrt(2) * _erfinv(2 * (i + rng.random()) / count - 1)
        value = median_us * math.exp(sigma * z)
        index = math.ceil(math.log(value) / gamma_log)
        counts[index] = counts.get(index, 0) + 1
    buckets = sorted(counts.items())
    low = 2 * math.exp(buckets[0][0] * gamma_log) / (1 + math.exp(gamma_log))
    high = 2 * math.exp(buckets[-1][0] * gamma_log) / (1 + math.exp(gamma_log))
    total = sum(c for _, c in buckets)
    return {"relative_accuracy": histogram.relative_accuracy, "count": total,
            "sum_us": median_us * total, "min_us": low, "max_us": high, "zero_count": 0,
            "buckets": [[i, c] for i, c in buckets]}


def _erfinv(y: float) -> float:
    from statistics import NormalDist

    y = min(max(y, -0.999999), 0.999999)
    return NormalDist().inv_cdf((y + 1) / 2) / math.sqrt(2)


def make_bundle(folder: Path, minutes: int, schema: int) -> Path:
    """Write run.json of a ``minutes`` long 10,000 req/s run; a few templates, varied per slice."""
    rng = random.Random(1)
    per_endpoint = RATE_PER_S // len(ENDPOINTS)
    templates = [[_buckets(8000 * (1 + e / 5), 0.6, per_endpoint - 2, rng) for e in range(len(ENDPOINTS))]
                 for _ in range(4)]
    failed = _buckets(3000, 0.3, 2, rng)
    if schema == 2:
        templates = [[_packed(h) for h in variant] for variant in templates]
        failed = _packed(failed)
    slices = []
    for second in range(minutes * 60):
        variant = templates[second % len(templates)]
        slices.append({
            "start_s": float(second), "duration_s": 1.0, "users": 500, "generator_cpu_percent": 40.0,
            "errors": {"HTTP 503": 2 * len(ENDPOINTS)}, "target_rate": float(RATE_PER_S),
            "dispatch_late": 0, "dispatch_dropped": 0,
            "endpoints": {name: {"ok": variant[e], "failed": failed,
                                 "statuses": {"200": variant[e]["count"], "503": 2}, "rate_limited": 0}
                          for e, name in enumerate(ENDPOINTS)},
        })
    run = {"schema_version": schema, "run_id": f"bench-{minutes}m", "target": "http://127.0.0.1:1",
           "scenario": "synthetic", "load_model": {"model": "open", "rate_per_s": RATE_PER_S},
           "started_at": 0.0, "ended_at": minutes * 60.0, "slice_s": 1.0, "complete": True,
           "git_revision": None, "slogate_version": "bench", "validity": [], "errors": [],
           "slowest": [], "workers": [], "slices": slices}
    path = folder / f"run-{minutes}m-v{schema}.json"
    write_json(path, run)
    return path


def _packed(histogram: dict[str, Any]) -> dict[str, Any]:
    return LatencyHistogram.from_dict(histogram).to_dict(packed=True)


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's ru_maxrss survives exec, so it would report the
    parent's peak if larger (the parent writes the bundle); VmHWM is this program's own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: Path) -> dict[str, Any]:
    """Read and judge one bundle in this process; the figures of this process alone."""
    spec = parse_spec(SPEC)
    started = time.perf_counter()
    run = read_run(path)
    loaded = time.perf_counter()
    evaluation = evaluate(spec, run)
    judged = time.perf_counter()
    requests = sum(w.requests for s in run.slices for w in s.endpoints.values())
    return {"slices": len(run.slices), "requests": requests, "read_s": loaded - started,
            "evaluate_s": judged - loaded, "total_s": judged - started,
            "peak_rss_mb": _peak_rss_mb(),
            "bundle_mb": path.stat().st_size / 1e6,
            # The same run in either schema must judge the same: a digest of every objective's result.
            "results": hashlib.sha256(json.dumps([o.to_dict() for o in evaluation.objectives],
                                                 sort_keys=True).encode()).hexdigest()[:10]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, action="append", help="run lengths (default 10 and 60)")
    parser.add_argument("--schema", type=int, action="append", choices=[1, 2],
                        help="run.json schemas (default 1 and 2)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'length':>7} {'schema':>6} {'slices':>7} {'requests':>11} {'bundle':>8} {'read':>7} "
              f"{'evaluate':>9} {'total':>7} {'peak RSS':>9} {'µs/slice':>9} {'results':>10}")
        for minutes in args.minutes or [10, 60]:
            for schema in args.schema or [1, 2]:
                path = make_bundle(Path(tmp), minutes, schema)
                output = subprocess.run([sys.executable, "-m", "benchmarks.evaluate_long_run", "--measure",
                                         str(path)], capture_output=True, text=True, check=True).stdout
                path.unlink()
                _print_row(minutes, schema, json.loads(output))


def _print_row(minutes: int, schema: int, f: dict[str, Any]) -> None:
    print(f"{minutes:>5} m {schema:>6} {f['slices']:>7} {f['requests']:>11,} {f['bundle_mb']:>6.0f}MB "
          f"{f['read_s']:>6.2f}s {f['evaluate_s']:>8.2f}s {f['total_s']:>6.2f}s "
          f"{f['peak_rss_mb']:>7.0f}MB {f['total_s'] / f['slices'] * 1e6:>9.0f} {f['results']:>10}")


if __name__ == "__main__":
    main()
