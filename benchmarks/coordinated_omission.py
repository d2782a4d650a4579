"""Coordinated omission: a target that stalls 1 s every 10 s, driven at a fixed arrival rate.

Prints, side by side: the true p99 / p99.9 of the run's schedule, slogate's open model (latency
from each arrival's intended start), Locust's own statistics of that same run, and bare Locust in
the closed model at the same nominal rate (constant_throughput, few users).

The true values are computed per arrival, not from a formula: the reference target's stall is the
last second of every 10 s counted from the *target's* start (slogate/target/faults.py), and a
request arriving in it waits until it ends. The benchmark finds where the stalls fall on the wall
clock (one probe request caught in a stall returns exactly at its end), then gives every arrival
the schedule sent, at ``started + n / rate``, the latency ``base + time left in the stall``; the
percentiles of those are the truth the open model should report.

The closed model shows omission only when its users are few against the stall: each user is stuck
in a stall with one request and sends nothing else meanwhile, so only ``users x stalls`` requests
are slow. With 20 users at 200/s that is 1% of the requests, exactly at p99 (the earlier version of
this benchmark used that and saw bare Locust "close to the truth" by coincidence); with 4 users it
is 0.2%, and the p99 it reports is the base latency while the true p99 is 0.9 s.

    .venv/bin/python -m benchmarks.coordinated_omission [--rate 100] [--duration 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from slogate.slo.run import RunResult
from slogate.target import FaultConfig, ReferenceTarget

REPO = Path(__file__).resolve().parents[1]
BASE_S = 0.002
STALL_S, PERIOD_S = 1.0, 10.0
CLOSED_USERS = 4
QUANTILES = (0.99, 0.999)
LOCUSTFILE = """\
import slogate.loadtest.plugin  # noqa: F401
from locust import FastHttpUser, constant_throughput, task


class Reader(FastHttpUser):
    wait_time = constant_throughput({per_user})

    @task
    def content(self) -> None:
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


def stall_end(url: str) -> float:
    """The epoch time a stall of the target ended: probe until a request is held by one."""
    deadline = time.time() + PERIOD_S + 5
    while time.time() < deadline:
        sent = time.time()
        with urllib.request.urlopen(url, timeout=PERIOD_S) as reply:
            reply.read()
        answered = time.time()
        if answered - sent > STALL_S / 4:
            return answered - BASE_S
        time.sleep(0.005)
    raise SystemExit("coordinated_omission: the target never stalled")


def true_latencies_s(started: float, duration: float, rate: float, a_stall_end: float) -> np.ndarray:
    """The latency of every arrival of the schedule: base, plus what is left of a stall it lands in."""
    arrivals = started + np.arange(int(rate * duration)) / rate
    # Time until the next stall end (stall ends every PERIOD_S from a_stall_end on, both ways).
    until_end = (a_stall_end - arrivals) % PERIOD_S
    return BASE_S + np.where(until_end < STALL_S, until_end, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()
    faults = FaultConfig.parse(latency=f"constant:{BASE_S * 1e3:g}ms", stall=f"{STALL_S:g}s/{PERIOD_S:g}s")
    # Users stuck in a stall hold an arrival each: the pool covers a stall's arrivals, with room.
    pool = int(args.rate * STALL_S * 1.5) + 10
    with tempfile.TemporaryDirectory() as folder, ReferenceTarget(faults=faults) as target:
        work = Path(folder)
        host = target.upstream_url
        a_stall_end = stall_end(host + "/content/1")
        open_file = work / "open.py"
        open_file.write_text(LOCUSTFILE.format(per_user=1))
        closed_file = work / "closed.py"
        closed_file.write_text(LOCUSTFILE.format(per_user=args.rate / CLOSED_USERS))
        bundle = work / "bundle"
        open_stats = run_locust(open_file, host, pool, args.duration, "--slogate-rate", f"{args.rate:g}",
                                "--slogate-out", str(bundle))
        closed_stats = run_locust(closed_file, host, CLOSED_USERS, args.duration,
                                  "--slogate-out", str(work / "closed"))
        run = RunResult.from_dict(json.loads((bundle / "run.json").read_text()))
    window, _ = run.merged(None)
    truth_s = true_latencies_s(run.started_at, args.duration, args.rate, a_stall_end)
    true = {q: float(np.percentile(truth_s, q * 100, method="inverted_cdf")) * 1e3 for q in QUANTILES}
    late = sum(s.dispatch_late for s in run.slices)
    dropped = sum(s.dispatch_dropped for s in run.slices)
    stalled = float(np.mean(truth_s > BASE_S))
    closed_requests = sum(int(e["num_requests"]) for e in closed_stats)  # type: ignore[call-overload]
    print(f"rate {args.rate:g}/s for {args.duration:g} s, stall {STALL_S:g} s every {PERIOD_S:g} s "
          f"({stalled:.1%} of the schedule's arrivals land in a stall); open model: "
          f"{window.requests} requests, {late} late, {dropped} dropped, pool {pool} users; "
          f"closed model: {CLOSED_USERS} users, {closed_requests} requests")
    print(f"{'':34} {'p99 ms':>10} {'ratio':>7} {'p99.9 ms':>10} {'ratio':>7}")
    rows = {
        "true (from the schedule)": true,
        "slogate open model": {q: (window.all_latencies().quantile(q) or 0) / 1e3 for q in QUANTILES},
        "Locust stats, same open run": {q: locust_quantile(open_stats, q) for q in QUANTILES},
        f"bare Locust closed ({CLOSED_USERS} users)": {
            q: locust_quantile(closed_stats, q) for q in QUANTILES
        },
    }
    for name, values in rows.items():
        print(f"{name:34} {values[0.99]:10.1f} {values[0.99] / true[0.99]:7.3f} "
              f"{values[0.999]:10.1f} {values[0.999] / true[0.999]:7.3f}")
    print("goal: slogate within 10% of the true p99 and p99.9")


if __name__ == "__main__":
    main()
