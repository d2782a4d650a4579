"""Coordinated omission: a target that stalls 1 s every 10 s, driven at a fixed arrival rate.

Prints, side by side from one run each: slogate's open model (latency from each arrival's intended
start), Locust's own statistics of that same run, and bare Locust in the closed model at the same
nominal rate (constant_throughput), against the true p99 / p99.9 that follow from the schedule.

True values: a fraction stall/period of arrivals lands in the stall and waits for its end, the
wait uniform in (0, stall]; so P(latency > base + x) = (stall/period)·(1 − x/stall), which gives
p99 = base + 0.9 s and p99.9 = base + 0.99 s for a 1 s stall every 10 s.

    .venv/bin/python -m benchmarks.coordinated_omission [--rate 200] [--duration 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from slo.run import RunResult
from slogate.target import FaultConfig, ReferenceTarget

REPO = Path(__file__).resolve().parents[1]
BASE_LATENCY = "constant:2ms"
STALL_S, PERIOD_S = 1.0, 10.0
LOCUSTFILE = """\
import loadtest.plugin  # noqa: F401
from locust import FastHttpUser, constant_throughput, task


class Reader(FastHttpUser):
    wait_time = constant_throughput({per_user})

    @task
    def health(self) -> None:
        self.client.get("/content/1", name="/content/{{id}}")
"""


def locust_quantile(entries: list[dict[str, object]], q: float) -> float:
    """A quantile (ms) from Locust's own response-time histogram (rounded buckets)."""
    merged: dict[float, int] = {}
    for entry in entries:
        for bucket, count in dict(entry["response_times"]).items():  # type: ignore[call-overload]
            merged[float(bucket)] = merged.get(float(bucket), 0) + int(count)
    total = sum(merged.values())
    seen = 0
    for bucket in sorted(merged):
        seen += merged[bucket]
        if seen >= q * total:
            return bucket
    return float("nan")


def run_locust(
    locustfile: Path, host: str, users: int, duration: float, *extra: str
) -> list[dict[str, object]]:
    completed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--json", "--host", host,
         "-u", str(users), "-r", str(users), "-t", f"{duration:g}s", "--stop-timeout", "3", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=duration + 60, check=True,
    )
    start = completed.stdout.index("[")
    return list(json.JSONDecoder().raw_decode(completed.stdout, start)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    faults = FaultConfig.parse(latency=BASE_LATENCY, stall=f"{STALL_S:g}s/{PERIOD_S:g}s")
    pool = int(args.rate * STALL_S * 1.5) + 10
    closed_users = 20
    with tempfile.TemporaryDirectory() as folder, ReferenceTarget(faults=faults) as target:
        work = Path(folder)
        open_file = work / "open.py"
        open_file.write_text(LOCUSTFILE.format(per_user=1))
        closed_file = work / "closed.py"
        closed_file.write_text(LOCUSTFILE.format(per_user=args.rate / closed_users))
        bundle = work / "bundle"
        host = target.upstream_url
        open_stats = run_locust(open_file, host, pool, args.duration, "--slogate-rate", f"{args.rate:g}",
                                "--slogate-out", str(bundle))
        closed_stats = run_locust(closed_file, host, closed_users, args.duration,
                                  "--slogate-out", str(work / "closed"))
        run = RunResult.from_dict(json.loads((bundle / "run.json").read_text()))
    window, _ = run.merged(None)
    base_ms = 2.0
    true = {0.99: base_ms + 0.9 * STALL_S * 1e3, 0.999: base_ms + 0.99 * STALL_S * 1e3}
    late = sum(s.dispatch_late for s in run.slices)
    dropped = sum(s.dispatch_dropped for s in run.slices)
    print(f"rate {args.rate:g}/s for {args.duration:g} s, stall {STALL_S:g}s every {PERIOD_S:g}s; "
          f"open-model requests {window.requests}, late {late}, dropped {dropped}")
    print(f"{'':34} {'p99 ms':>10} {'ratio':>7} {'p99.9 ms':>10} {'ratio':>7}")
    rows = {
        "true (from the schedule)": {q: v for q, v in true.items()},
        "slogate open model": {q: (window.all_latencies().quantile(q) or 0) / 1e3 for q in true},
        "Locust stats, same open run": {q: locust_quantile(open_stats, q) for q in true},
        f"bare Locust closed ({closed_users} users)": {q: locust_quantile(closed_stats, q) for q in true},
    }
    for name, values in rows.items():
        print(f"{name:34} {values[0.99]:10.1f} {values[0.99] / true[0.99]:7.3f} "
              f"{values[0.999]:10.1f} {values[0.999] / true[0.999]:7.3f}")


if __name__ == "__main__":
    main()
