"""Evaluating a long run from its bundle: time and peak memory, and whether they stay flat per slice.

A synthetic bundle of a 10,000 req/s run over 10 endpoints in 1 s slices (the histograms written in
their ``to_dict`` form, as the recorder would), judged by a spec of every objective kind. Each
length runs in a fresh process so its peak RSS is its own:

    .venv/bin/python -m benchmarks.evaluate_long_run            # 10 min and 60 min (36 M requests)
    .venv/bin/python -m benchmarks.evaluate_long_run --minutes 5 --minutes 60

Goal (issue 4): a one-hour run evaluated in under 5 s and 500 MB.
"""

from __future__ import annotations

import argparse
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

from slo.bundle import read_run
from slo.evaluator import evaluate
from slo.histogram import LatencyHistogram
from slo.loader import parse_spec

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


def make_bundle(folder: Path, minutes: int) -> Path:
    """Write run.json of a ``minutes`` long 10,000 req/s run; a few templates, varied per slice."""
    rng = random.Random(1)
    per_endpoint = RATE_PER_S // len(ENDPOINTS)
    templates = [[_buckets(8000 * (1 + e / 5), 0.6, per_endpoint - 2, rng) for e in range(len(ENDPOINTS))]
                 for _ in range(4)]
    failed = _buckets(3000, 0.3, 2, rng)
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
    run = {"schema_version": 1, "run_id": f"bench-{minutes}m", "target": "http://127.0.0.1:1",
           "scenario": "synthetic", "load_model": {"model": "open", "rate_per_s": RATE_PER_S},
           "started_at": 0.0, "ended_at": minutes * 60.0, "slice_s": 1.0, "complete": True,
           "git_revision": None, "slogate_version": "bench", "validity": [], "errors": [],
           "slowest": [], "workers": [], "slices": slices}
    path = folder / f"run-{minutes}m.json"
    path.write_text(json.dumps(run), encoding="utf-8")
    return path


def measure(path: Path) -> dict[str, float]:
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
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "bundle_mb": path.stat().st_size / 1e6, "verdict_objectives": len(evaluation.objectives)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, action="append", help="run lengths (default 10 and 60)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'length':>7} {'slices':>7} {'requests':>11} {'bundle':>8} {'read':>7} {'evaluate':>9} "
              f"{'total':>7} {'peak RSS':>9} {'µs/slice':>9}")
        for minutes in args.minutes or [10, 60]:
            path = make_bundle(Path(tmp), minutes)
            output = subprocess.run([sys.executable, "-m", "benchmarks.evaluate_long_run", "--measure",
                                     str(path)], capture_output=True, text=True, check=True).stdout
            f = json.loads(output)
            print(f"{minutes:>5} m {f['slices']:>7} {f['requests']:>11,} {f['bundle_mb']:>6.0f}MB "
                  f"{f['read_s']:>6.2f}s {f['evaluate_s']:>8.2f}s {f['total_s']:>6.2f}s "
                  f"{f['peak_rss_mb']:>7.0f}MB {f['total_s'] / f['slices'] * 1e6:>9.0f}")


if __name__ == "__main__":
    main()
