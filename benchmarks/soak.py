"""Soak: a steady open-model rate against the reference target, with the load generator's memory and
open file descriptors sampled, to show they stay flat after warm-up (issue 7: growth under 5%, no
error from slogate itself).

    .venv/bin/python -m benchmarks.soak                  # 10 minutes at 50 requests/s
    .venv/bin/python -m benchmarks.soak --minutes 2 --rate 100

Samples every ``--every`` seconds the RSS and open descriptors of the Locust processes (the
descendants of ``slogate run``) and of the reference target. Growth compares the mean of the first
three samples after warm-up (the first 20% of the run, at least 30 s) with the mean of the last three.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from slogate.target import ReferenceTarget

REPO = Path(__file__).resolve().parents[1]
SPEC = """\
service: reference-proxy
warmup: 5s
objectives:
  - {name: errors, kind: error_ratio, max: 1%}
  - {name: p95, kind: latency, percentile: p95, threshold: 1s}
"""
GOAL_GROWTH = 0.05


@dataclass
class Sample:
    t: float
    rss: int
    fds: int


@dataclass
class Series:
    samples: list[Sample] = field(default_factory=list)

    def growth(self, warmup_s: float, attribute: str) -> tuple[float, float, float]:
        """(after warm-up, at the end, relative growth)."""
        steady = [s for s in self.samples if s.t >= warmup_s]
        if len(steady) < 6:
            return float("nan"), float("nan"), float("nan")
        first = statistics.fmean(getattr(s, attribute) for s in steady[:3])
        last = statistics.fmean(getattr(s, attribute) for s in steady[-3:])
        return first, last, (last - first) / first if first else float("nan")


def measure(processes: list[psutil.Process]) -> tuple[int, int]:
    rss = fds = 0
    for process in processes:
        try:
            rss += process.memory_info().rss
            fds += process.num_fds()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return rss, fds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="run length (default 10)")
    parser.add_argument("--rate", type=float, default=50.0, help="arrivals per second (default 50)")
    parser.add_argument("--users", type=int, default=20, help="the user pool (default 20)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples (default 5)")
    args = parser.parse_args()
    duration_s = args.minutes * 60
    warmup_s = max(30.0, 0.2 * duration_s)
    folder = Path(tempfile.mkdtemp(prefix="slogate-soak-"))
    (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
    bundle = folder / "bundle"
    generator, target_series = Series(), Series()
    with ReferenceTarget() as target:
        command = [sys.executable, "-m", "slogate.cli", "run", "--host", target.proxy_url,
                   "--spec", str(folder / "spec.yaml"), "--users", str(args.users),
                   "--spawn-rate", str(args.users), "--rate", f"{args.rate:g}",
                   "--duration", f"{duration_s:g}s", "--out", str(bundle), "--json"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with (folder / "stdout").open("wb") as out, (folder / "stderr").open("wb") as err:
            child = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=REPO)
        target_process = psutil.Process(target.pid)
        start = time.monotonic()
        print(f"soak: {args.minutes:g} min at {args.rate:g}/s; bundle {bundle}", file=sys.stderr)
        while child.poll() is None:
            time.sleep(args.every)
            now = time.monotonic() - start
            locust = psutil.Process(child.pid).children(recursive=True) if child.poll() is None else []
            if locust:
                rss, fds = measure(locust)
                generator.samples.append(Sample(now, rss, fds))
            rss, fds = measure([target_process, *target_process.children(recursive=True)])
            target_series.samples.append(Sample(now, rss, fds))
        code = child.wait()
    stderr = (folder / "stderr").read_text(encoding="utf-8", errors="replace")
    log = (bundle / "locust.log").read_text(encoding="utf-8", errors="replace") if bundle.exists() else ""
    own_errors = [line for line in (stderr + log).splitlines()
                  if "Traceback" in line or " ERROR" in line or "slogate: cannot" in line]
    run = json.loads((bundle / "run.json").read_text(encoding="utf-8"))
    requests = sum(e[part]["count"] for s in run["slices"] for e in s["endpoints"].values()
                   for part in ("ok", "failed"))
    failed = sum(e["count"] for e in run["errors"])
    flags = [flag.get("code", flag) if isinstance(flag, dict) else flag for flag in run["validity"]]
    print(f"run: exit {code}, {requests} requests, {failed} failed, complete={run['complete']}, "
          f"validity flags {flags}")
    print(f"warm-up excluded: first {warmup_s:.0f}s; samples every {args.every:g}s")
    print(f"{'what':<28} {'after warm-up':>14} {'at the end':>12} {'growth':>8}  goal < {GOAL_GROWTH:.0%}")
    for name, series in (("load generator", generator), ("reference target", target_series)):
        for attribute, unit in (("rss", "MiB"), ("fds", "")):
            first, last, growth = series.growth(warmup_s, attribute)
            scale = 2**20 if attribute == "rss" else 1
            print(f"{name + ' ' + attribute.upper():<28} {first / scale:>11.1f}{unit:>3} "
                  f"{last / scale:>9.1f}{unit:>3} {growth:>+8.1%}")
    print(f"slogate's own errors: {len(own_errors)}")
    for line in own_errors[:10]:
        print(f"  {line}")
    return 0 if code in (0, 1, 3) and not own_errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
