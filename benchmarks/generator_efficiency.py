"""Overhead: the most requests/s a scenario reaches with slogate on, against bare Locust.

Two locustfiles that differ only in ``import loadtest.plugin`` (slogate's recorder, Prometheus
exporter and W3C traceparent on every request), each with FastHttpUser users that never wait,
run against the same static file served by Debian's nginx on 127.0.0.1 (a fixed target far
faster than one Locust process), with the same users and process count. Runs alternate
(bare, slogate, slogate, bare, ...) so drift of a shared machine cancels; the figure is the ratio of the
medians, goal >= 0.95.

    .venv/bin/python -m benchmarks.overhead [--rounds 3] [--seconds 6] [--users 20] [--processes 1]
    .venv/bin/python -m benchmarks.overhead --profile    # cProfile of one slogate run instead

Needs nginx (``apt-get install -y nginx-light``; scripts/setup --with-system installs it).
"""

from __future__ import annotations

import argparse
import json
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.95
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
    print("OVERHEAD " + json.dumps({"requests": MEASURE["requests"], "cpu_s": cpu, "wall_s": wall}),
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
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def nginx(folder: Path) -> Iterator[str]:
    """Debian's nginx as a child process serving a 1 KiB static file on a free loopback port."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise SystemExit("overhead: nginx not found: apt-get install -y nginx-light")
    (folder / "www").mkdir()
    (folder / "www" / "index.html").write_text("x" * 1024)
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(NGINX_CONF.format(folder=folder, port=port))
    process = subprocess.Popen(
        [binary, "-c", str(config), "-p", str(folder), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 10
        while True:
            try:
                with urllib.request.urlopen(url + "/index.html", timeout=1):
                    break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    log = (folder / "error.log").read_text()
                    raise SystemExit(f"overhead: nginx did not start: {log}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_once(locustfile: Path, host: str, args: argparse.Namespace, *extra: str) -> tuple[float, float]:
    """(requests/s, requests per CPU second of the load-generating processes) of one run.

    Both come from the MEASURE block every locustfile carries, between test start and stop (no
    imports, no end-of-run work). The second figure is what the generator reaches with a core of
    its own: on a shared machine the wall-clock rate moves with the neighbours, a request's cost
    does not.
    """
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host,
               "-u", str(args.users), "-r", str(args.users), "-t", f"{args.seconds:g}s",
               "--stop-timeout", "2", "--loglevel", "WARNING", "--only-summary", *extra]
    if args.processes > 1:
        port = free_port()
        command += ["--processes", str(args.processes),
                    "--master-bind-port", str(port), "--master-port", str(port)]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                               timeout=args.seconds + 60, check=False)
    measured = [json.loads(line.split(" ", 1)[1]) for line in completed.stdout.splitlines()
                if line.startswith("OVERHEAD ")]
    requests = sum(m["requests"] for m in measured)
    if not requests:
        raise SystemExit(f"overhead: no requests measured:\n{completed.stderr[-2000:]}")
    wall = max(m["wall_s"] for m in measured if m["requests"])
    cpu = sum(m["cpu_s"] for m in measured if m["requests"])
    return requests / wall, requests / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one slogate run (single process) and print the top functions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder_name, nginx(Path(folder_name)) as host:
        folder = Path(folder_name)
        bare = folder / "bare.py"
        bare.write_text(USER_CODE)
        with_slogate = folder / "slogate.py"
        with_slogate.write_text("import loadtest.plugin  # noqa: F401\n" + USER_CODE)
        slogate_args = ("--slogate-out", str(folder / "bundle"), "--slogate-metrics-port", "0")
        if args.profile:
            profile(with_slogate, host, args, folder, slogate_args)
            return
        runs: dict[str, list[tuple[float, float]]] = {"bare Locust": [], "slogate": []}
        for round_number in range(args.rounds):
            # ABBA order: neither side is always the second run of its round.
            order = [("bare Locust", bare, ()), ("slogate", with_slogate, slogate_args)]
            for name, locustfile, extra in order[:: -1 if round_number % 2 else 1]:
                runs[name].append(run_once(locustfile, host, args, *extra))
    print(f"nginx static file on 127.0.0.1, FastHttpUser, {args.users} users, {args.processes} process(es), "
          f"{args.rounds} alternating rounds of {args.seconds:g} s")
    for column, label in ((0, "req/s (wall clock)"), (1, "req per generator CPU second")):
        print(label)
        medians = {}
        for name, values in runs.items():
            medians[name] = statistics.median(v[column] for v in values)
            shown = " ".join(f"{v[column]:.0f}" for v in values)
            print(f"  {name:12} median {medians[name]:8.0f}   runs: {shown}")
        ratio = medians["slogate"] / medians["bare Locust"]
        # Each round's slogate run against the bare run just before it: drift cancels in the pair.
        paired = statistics.median(
            s[column] / b[column] for s, b in zip(runs["slogate"], runs["bare Locust"], strict=True)
        )
        print(f"  ratio slogate / bare: {ratio:.3f} of the medians, {paired:.3f} median of the rounds' "
              f"ratios (goal >= {GOAL})")


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
