"""Generator efficiency: the most requests/s one machine generates with slogate on, against bare
Locust and wrk.

Two locustfiles that differ only in ``import slogate.loadtest.plugin`` (slogate's recorder, its
Prometheus endpoint and a W3C traceparent on every request: tracing as a run has it by default),
each with FastHttpUser users that never wait, run against the same 1 KiB static file served by
Debian's nginx on 127.0.0.1, with the same users, at 1 and at 2 Locust processes. Runs alternate
(bare, slogate, slogate, bare, ...) so drift of a shared machine cancels; the figures are the
ratios slogate / bare (goal >= 0.95 at each process count), as the ratio of the medians and as the
median of each round's pair. wrk (a C load generator, ``apt-get install wrk``) against the same
file gives the machine's ceiling beside both.

    .venv/bin/python -m benchmarks.generator_efficiency [--rounds 6] [--seconds 6] [--users 20]
        [--processes 1 2] [--no-wrk]
    .venv/bin/python -m benchmarks.generator_efficiency --profile    # cProfile of one slogate run

Needs nginx (``apt-get install -y nginx-light``; scripts/setup --with-system installs it).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.95
BARE, SLOGATE = "bare Locust", "slogate"
USER_CODE = """\
import json
import time

from locust import FastHttpUser, events, task

MEASURE = {"requests": 0}


@events.request.add_listener
def count(**_):
    MEASURE["requests"] += 1


@events.test_start.add_listener
def started(**_):
    MEASURE.update(requests=0, cpu=time.process_time(), wall=time.monotonic())


@events.test_stop.add_listener
def stopped(**_):
    cpu, wall = time.process_time() - MEASURE["cpu"], time.monotonic() - MEASURE["wall"]
    print("MEASURED " + json.dumps({"requests": MEASURE["requests"], "cpu_s": cpu, "wall_s": wall}),
          flush=True)


class Reader(FastHttpUser):
    @task
    def static(self) -> None:
        self.client.get("/index.html", name="/static")
"""
NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        root {folder}/www;
{locations}
    }}
}}
"""


@dataclass(frozen=True)
class Measured:
    """One run: requests/s on the wall clock, and per CPU second of the processes that sent them."""

    per_s: float
    per_cpu_s: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def nginx(folder: Path, files: dict[str, bytes] | None = None, locations: str = "") -> Iterator[str]:
    """Debian's nginx as a child process on a free loopback port, serving ``files`` (by name; by
    default a 1 KiB index.html) with ``locations`` added to its server block; yields its URL once
    it answers."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("benchmarks: nginx not found: apt-get install -y nginx-light")
    served = files if files is not None else {"index.html": b"x" * 1024}
    (folder / "www").mkdir()
    for name, content in served.items():
        (folder / "www" / name).write_bytes(content)
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(NGINX_CONF.format(folder=folder, port=port, locations=locations))
    process = subprocess.Popen(
        [binary, "-c", str(config), "-p", str(folder), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 10
        while True:
            try:
                with urllib.request.urlopen(f"{url}/{next(iter(served))}", timeout=1):
                    break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    log = (folder / "error.log").read_text()
                    raise SystemExit(f"benchmarks: nginx did not start: {log}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_locust(locustfile: Path, host: str, args: argparse.Namespace, processes: int,
               *extra: str) -> Measured:
    """One run, measured by the MEASURE block every locustfile carries, between test start and
    stop (no imports, no end-of-run work). The CPU figure is what the generator reaches with the
    cores to itself: on a shared machine the wall-clock rate moves with the neighbours, a
    request's cost does not."""
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host,
               "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds:g}s",
               "--stop-timeout", "2", "--loglevel", "WARNING", "--only-summary", *extra]
    if processes > 1:
        port = free_port()
        command += ["--processes", str(processes),
                    "--master-bind-port", str(port), "--master-port", str(port)]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                               timeout=args.seconds + 60, check=False)
    # Found anywhere in the output: two processes' lines can interleave on the shared pipe.
    measured = [json.loads(found) for found in re.findall(r"MEASURED (\{[^{}]*\})", completed.stdout)]
    sending = [m for m in measured if m["requests"]]
    if not sending:
        raise SystemExit(f"generator_efficiency: no requests measured:\n{completed.stderr[-2000:]}")
    requests = sum(m["requests"] for m in sending)
    return Measured(requests / max(m["wall_s"] for m in sending), requests / sum(m["cpu_s"] for m in sending))


def run_wrk(host: str, args: argparse.Namespace) -> float | None:
    """wrk's requests/s against the same file, 2 threads and the same connections; None without wrk."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    completed = subprocess.run(
        [binary, "-t", "2", "-c", str(args.users), "-d", f"{args.seconds:g}s", host + "/index.html"],
        capture_output=True, text=True, timeout=args.seconds + 30, check=False,
    )
    found = re.search(r"Requests/sec:\s*([\d.]+)", completed.stdout)
    return float(found.group(1)) if found else None


def compare(bare: Path, with_slogate: Path, host: str, args: argparse.Namespace, processes: int,
            slogate_args: tuple[str, ...]) -> dict[str, list[Measured]]:
    runs: dict[str, list[Measured]] = {BARE: [], SLOGATE: []}
    for round_number in range(args.rounds):
        # ABBA order: neither side is always the second run of its round.
        order = [(BARE, bare, ()), (SLOGATE, with_slogate, slogate_args)]
        for name, locustfile, extra in order[:: -1 if round_number % 2 else 1]:
            runs[name].append(run_locust(locustfile, host, args, processes, *extra))
    return runs


def show(runs: dict[str, list[Measured]], processes: int) -> float:
    """Print one process count's figures; returns the slogate / bare ratio of the wall-clock medians."""
    print(f"{processes} process(es)")
    ratio_of_medians = 0.0
    for field, label in (("per_s", "req/s (wall clock)"), ("per_cpu_s", "req per generator CPU second")):
        values = {name: [getattr(m, field) for m in measured] for name, measured in runs.items()}
        medians = {name: statistics.median(column) for name, column in values.items()}
        print(f"  {label}")
        for name, column in values.items():
            print(f"    {name:12} median {medians[name]:8.0f}   runs: {' '.join(f'{v:.0f}' for v in column)}")
        ratio = medians[SLOGATE] / medians[BARE]
        # Each round's slogate run against the bare run beside it: drift cancels in the pair.
        paired = statistics.median(s / b for s, b in zip(values[SLOGATE], values[BARE], strict=True))
        print(f"    slogate / bare: x{ratio:.3f} of the medians, x{paired:.3f} median of the rounds' ratios "
              f"(goal >= x{GOAL})")
        if field == "per_s":
            ratio_of_medians = ratio
    return ratio_of_medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-wrk", action="store_true", help="leave wrk out")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one slogate run (single process) and print the top functions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder_name, nginx(Path(folder_name)) as host:
        folder = Path(folder_name)
        bare = folder / "bare.py"
        bare.write_text(USER_CODE)
        with_slogate = folder / "with_slogate.py"
        with_slogate.write_text("import slogate.loadtest.plugin  # noqa: F401\n" + USER_CODE)
        slogate_args = ("--slogate-out", str(folder / "bundle"), "--slogate-metrics-port", "0")
        if args.profile:
            profile(with_slogate, host, args, folder, slogate_args)
            return
        print(f"nginx static file (1 KiB) on 127.0.0.1, FastHttpUser, {args.users} users, "
              f"{args.rounds} alternating rounds of {args.seconds:g} s, traceparent on every request")
        highest: dict[str, float] = {}
        for processes in args.processes:
            runs = compare(bare, with_slogate, host, args, processes, slogate_args)
            show(runs, processes)
            for name, measured in runs.items():
                highest[name] = max(highest.get(name, 0.0), statistics.median(m.per_s for m in measured))
        wrk = None if args.no_wrk else run_wrk(host, args)
        print("highest req/s on this machine (median of the rounds, best process count):")
        for name, per_s in highest.items():
            print(f"  {name:12} {per_s:8.0f}")
        print(f"  {'wrk':12} {wrk:8.0f}" if wrk is not None else
              "  wrk          (not installed: apt-get install wrk)")


def profile(
    locustfile: Path, host: str, args: argparse.Namespace, folder: Path, extra: tuple[str, ...]
) -> None:
    output = folder / "profile.out"
    subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(output), "-m", "locust", "-f", str(locustfile),
         "--headless", "--host", host, "-u", str(args.users), "-r", str(args.users),
         "-t", f"{args.seconds:g}s", "--loglevel", "WARNING", "--only-summary", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=args.seconds + 60, check=False,
    )
    import pstats

    stats = pstats.Stats(str(output))
    stats.sort_stats("tottime").print_stats(30)
    # slogate's own share, whatever its rank: the recorder, the listener, the traceparent wrapper.
    stats.sort_stats("cumulative").print_stats(r"/(loadtest|slo)/", 25)


if __name__ == "__main__":
    main()
