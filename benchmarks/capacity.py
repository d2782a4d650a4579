"""Capacity under SLO against a server of known capacity.

The server (asyncio, 127.0.0.1, a free port) keeps at most ``c`` requests in service at once; the
others queue in arrival order. Each service time is drawn from a lognormal distribution (median,
sigma). The queue is kept in the model's own time: on arrival a request is given the server that
frees first and its departure time (that server's free time, or now, plus its service time), and
its response is sent then. A machine busy with other work then delays a response by the delay it
causes that response only; a server that slept through each service time made every late wake-up
a longer service, which piled up in the queue (the server's capacity fell below the model's).

Its true capacity under "p99 <= T" is computed independently of slogate by simulating the same
queue (discrete events: Poisson arrivals, c servers first come first served, the same
service-time distribution), bisecting on the arrival rate until the simulated p99 sojourn time
meets T. Then ``slogate capacity`` searches it through HTTP (each step decided as early as its
data allows, up to ``--step-duration``), and the benchmark prints its answer against the truth,
each step (verdict, when it was decided, achieved rate, p99), the total search time and the
number of steps.

    .venv/bin/python -m benchmarks.capacity [--servers 2] [--median 10ms] [--sigma 0.5] [--p99 100ms]
        [--step-duration 60s] [--fixed-steps]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from slogate.slo.units import parse_duration

REPO = Path(__file__).resolve().parents[1]
LOCUSTFILE = """\
import slogate.loadtest.plugin  # noqa: F401
from locust import FastHttpUser, task


class Client(FastHttpUser):
    @task
    def work(self) -> None:
        self.client.get("/work", name="/work")
"""
SPEC = """\
service: finite-capacity
objectives:
  - name: work-p{percentile:g}
    kind: latency
    endpoint: GET /work
    percentile: p{percentile:g}
    threshold: {threshold_ms:g}ms
"""
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


@dataclass(frozen=True)
class Queue:
    """c servers, lognormal service times (``median_s``, ``sigma``)."""

    servers: int
    median_s: float
    sigma: float

    def service_times(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.median_s * np.exp(self.sigma * rng.standard_normal(n))

    @property
    def max_throughput(self) -> float:
        return self.servers / (self.median_s * float(np.exp(self.sigma**2 / 2)))


# -- the server ----------------------------------------------------------------------------------


class VirtualQueue:
    """The c servers' free times (the event loop's clock): first come, first served."""

    def __init__(self, queue: Queue, rng: np.random.Generator) -> None:
        self.queue = queue
        self.rng = rng
        self.free_at = [0.0] * queue.servers

    def departure(self, arrival: float) -> float:
        """When a request arriving at ``arrival`` leaves: on the server that frees first."""
        service = float(self.queue.service_times(self.rng, 1)[0])
        done = max(arrival, heapq.heappop(self.free_at)) + service
        heapq.heappush(self.free_at, done)
        return done


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            servers: VirtualQueue) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head:
                return
            departure = servers.departure(loop.time())
            await asyncio.sleep(max(0.0, departure - loop.time()))
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@contextmanager
def finite_capacity_server(queue: Queue, seed: int = 1) -> Iterator[str]:
    """Serve ``queue`` on 127.0.0.1 in a thread; yields its base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    found: dict[str, object] = {}

    async def start() -> None:
        servers = VirtualQueue(queue, np.random.default_rng(seed))
        server = await asyncio.start_server(
            lambda r, w: _serve_connection(r, w, servers), "127.0.0.1", 0, backlog=1024)
        found["server"] = server
        found["port"] = server.sockets[0].getsockname()[1]
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name="finite-capacity-server", daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{found['port']}"
    finally:
        server = found["server"]
        assert isinstance(server, asyncio.base_events.Server)
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


# -- the truth -----------------------------------------------------------------------------------


def simulated_quantile(
    queue: Queue, rate: float, q: float, *, customers: int = 200_000, seed: int = 7,
) -> float:
    """The ``q`` quantile of the sojourn time (wait + service) of Poisson arrivals at ``rate``,
    FCFS over c servers: each arrival takes the server that frees first."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / rate, customers))
    services = queue.service_times(rng, customers)
    free_at = [0.0] * queue.servers
    sojourn = np.empty(customers)
    for i, (arrival, service) in enumerate(zip(arrivals.tolist(), services.tolist(), strict=True)):
        done = max(arrival, heapq.heappop(free_at)) + service
        heapq.heappush(free_at, done)
        sojourn[i] = done - arrival
    # The first tenth is the queue filling from empty: left out, as the steps' settle time is.
    return float(np.quantile(sojourn[customers // 10:], q))


def true_capacity(queue: Queue, q: float, threshold_s: float, *, precision: float = 0.002) -> float:
    """The highest Poisson arrival rate whose simulated ``q`` quantile is at most ``threshold_s``."""
    low, high = 0.01 * queue.max_throughput, 0.999 * queue.max_throughput
    while high / low > 1 + precision:
        middle = (low * high) ** 0.5
        if simulated_quantile(queue, middle, q) <= threshold_s:
            low = middle
        else:
            high = middle
    return low


# -- slogate's answer ----------------------------------------------------------------------------


def slogate_capacity(url: str, folder: Path, percentile: float, threshold_s: float,
                     extra: list[str]) -> tuple[dict[str, object], float, int]:
    """Run ``slogate capacity`` against ``url``; its capacity.json, wall time and exit code."""
    locustfile = folder / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.format(percentile=percentile, threshold_ms=threshold_s * 1e3))
    out = folder / "capacity"
    began = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "slogate"), "capacity", "--host", url, "--spec", str(spec),
         "--scenario", str(locustfile), "--out", str(out), *extra], cwd=REPO, check=False)
    return json.loads((out / "capacity.json").read_text()), time.monotonic() - began, done.returncode


def step_table(steps: list[dict[str, Any]], truth: float) -> str:
    """Each step: offered (and against the truth), verdict, when decided, achieved rate, p99."""
    lines = ["  offered   vs truth  verdict     decided        achieved  p99"]
    for step in steps:
        decided = (f"{step['decided_s']:.0f}s of {step['max_s']:.0f}s" if step.get("decided_s") is not None
                   else f"not by {step['max_s']:.0f}s" if step.get("max_s") is not None else "fixed")
        achieved = "-" if step["achieved_rate"] is None else f"{step['achieved_rate']:.1f}"
        p99 = "-" if step["p99_s"] is None else f"{step['p99_s'] * 1e3:.0f}ms"
        lines.append(f"  {step['load']:7.1f}  {step['load'] / truth - 1:+8.1%}  {step['verdict']:<10}  "
                     f"{decided:<13}  {achieved:>8}  {p99}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=2, help="requests in service at once (default 2)")
    parser.add_argument("--median", default="10ms", help="median service time (default 10ms)")
    parser.add_argument("--sigma", type=float, default=0.5, help="lognormal sigma (default 0.5)")
    parser.add_argument("--p99", default="100ms", help="the SLO: p99 at most this (default 100ms)")
    parser.add_argument("--from", dest="start", default="50", help="slogate capacity --from (default 50)")
    parser.add_argument("--step-duration", default="60s",
                        help="the longest a step runs (with --fixed-steps: its length) (default 60s)")
    parser.add_argument("--settle", default="3s", help="slogate capacity --settle (default 3s)")
    parser.add_argument("--fixed-steps", action="store_true", help="every step its whole length")
    args = parser.parse_args()
    queue = Queue(args.servers, parse_duration(args.median), args.sigma)
    threshold = parse_duration(args.p99)
    began = time.monotonic()
    truth = true_capacity(queue, 0.99, threshold)
    print(f"queue: {queue.servers} servers, lognormal service (median {args.median}, sigma {args.sigma}), "
          f"at most {queue.max_throughput:.0f} req/s; SLO p99 <= {args.p99}")
    print(f"true capacity (simulated, {time.monotonic() - began:.1f}s): {truth:.1f} req/s")
    extra = ["--from", args.start, "--to", f"{queue.max_throughput * 1.5:.0f}",
             "--step-duration", args.step_duration, "--settle", args.settle,
             *(["--fixed-steps"] if args.fixed_steps else [])]
    with tempfile.TemporaryDirectory() as scratch, finite_capacity_server(queue) as url:
        found, wall, code = slogate_capacity(url, Path(scratch), 99.0, threshold, extra)
    holds, breaks = found["holds_at"], found["breaks_at"]
    print(f"slogate's answer: {found['answer']}")
    print(step_table(found["steps"], truth))  # type: ignore[arg-type]
    print(f"exit code {code}; {found['search']['steps']} steps; search {wall:.0f}s")  # type: ignore[index]
    if isinstance(holds, float | int):
        print(f"holds at {holds:g} req/s: {holds / truth - 1:+.1%} from the truth"
              + (f"; breaks at {breaks:g} req/s: {breaks / truth - 1:+.1%}" if isinstance(breaks, float | int)
                 else ""))


if __name__ == "__main__":
    main()
