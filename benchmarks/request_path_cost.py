"""What one request costs the generator, bare Locust against slogate: a figure that does not move
with the machine's load (the req/s of ``benchmarks.generator_efficiency`` do, ±25% on a shared one).

A FastHttpUser's ``client.get`` N times in one process, each side in its own process: Locust with
its stats listener (bare), or with slogate's request path added (the traceparent wrapper of
``loadtest.tracing``, the session's request listener, the recorder; as a run has them by default).
Two connections:

- ``stand-in`` (default): the connection answers at once with a canned 200 of 1 KiB, so the figure
  is the Python of a request (Locust's client code, the event, the listeners) with no network;
- ``--nginx``: real requests to a 1 KiB static file of Debian's nginx on 127.0.0.1 (the whole client,
  geventhttpclient and the socket calls included: the bare figure is what a request costs).

``--callgrind`` counts the CPU instructions of the N requests only (valgrind's callgrind with
instrumentation switched on and off around the loop by a client request), the median of runs
under several hash seeds (``--seeds``): one run is deterministic, but its memory layout is not
neutral (CPython's type attribute cache is indexed by the addresses of the names looked up, so
any change of code or seed moves colliding entries and one side's figure by up to ±10k
instructions per request; the seeds vary the layout). Without it, nanoseconds per request
(median of alternating rounds: moves with the machine's load). Either way the ratio bare / slogate is what
slogate leaves of bare Locust's requests per CPU second (goal >= 0.95).

    .venv/bin/python -m benchmarks.request_path_cost [--callgrind [--seeds S]] [--nginx] [--requests N]
        [--rounds R]

Needs valgrind for --callgrind (``apt-get install valgrind``), nginx for --nginx.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import mmap
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[1]
BARE, SLOGATE = "bare Locust", "slogate"
SIDES = {"bare": BARE, "slogate": SLOGATE}
WARMUP = 300
"""Requests before measuring: the first ones create the stats entries, windows and caches."""
STAND_IN_HOST = "http://stand-in.invalid"

# x86-64 machine code of `unsigned long request(unsigned long *args)`: valgrind's client request
# (the special instruction preamble, then xchg rbx,rbx with the arguments' address in rax); outside
# valgrind it does nothing and returns 0. From valgrind.h, VALGRIND_DO_CLIENT_REQUEST_EXPR (amd64).
_CLIENT_REQUEST_CODE = bytes.fromhex(
    "53"  # push rbx
    "4889f8"  # mov rax, rdi
    "31d2"  # xor edx, edx (the result when not under valgrind)
    "48c1c703" "48c1c70d" "48c1c73d" "48c1c733"  # rol rdi 3, 13, 61, 51 (a no-op natively)
    "4887db"  # xchg rbx, rbx
    "4889d0"  # mov rax, rdx
    "5b"  # pop rbx
    "c3"  # ret
)
_CALLGRIND_BASE = (ord("C") << 24) | (ord("T") << 16)
START_INSTRUMENTATION, STOP_INSTRUMENTATION = _CALLGRIND_BASE + 4, _CALLGRIND_BASE + 5


def client_request() -> Callable[[int], None]:
    """A function that sends a callgrind request (callgrind.h's numbering); a no-op elsewhere."""
    code = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    code.write(_CLIENT_REQUEST_CODE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(code))
    function = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong))(address)

    def send(request: int) -> None:
        args = (ctypes.c_ulong * 6)(request, 0, 0, 0, 0, 0)
        function(args)
        send.keep = code  # type: ignore[attr-defined]  # the page lives as long as the function

    return send


class CannedResponse:
    """What the stand-in connection answers: a 200 with a 1 KiB body."""

    status_code = 200
    headers: ClassVar[dict[str, str]] = {"content-length": "1024"}
    content = b"x" * 1024

    def raise_for_status(self) -> None:
        return None


class StandInConnection:
    """In place of geventhttpclient's client: answers every request at once."""

    def __init__(self) -> None:
        self.response = CannedResponse()

    def urlopen(self, url: str, method: str = "GET", **_: Any) -> CannedResponse:
        return self.response


def run_side(side: str, requests: int, host: str | None) -> None:
    """One side's N requests in this process; prints MEASURED with the nanoseconds they took."""
    from locust import FastHttpUser
    from locust.env import Environment

    class Reader(FastHttpUser):
        pass

    Reader.host = host or STAND_IN_HOST
    environment = Environment(user_classes=[Reader])
    environment.create_local_runner()  # Locust's stats listener, as in every run
    if side == "slogate":
        from slogate.loadtest.plugin import SlogateSession

        session = SlogateSession(environment)  # traceparent on, as by default
        environment.events.request.add_listener(session.on_request)  # what attach() adds per request
    user = Reader(environment)
    client = user.client
    if host is None:
        client.client = StandInConnection()  # type: ignore[assignment]
    get = client.get
    for _ in range(WARMUP):
        get("/index.html", name="/static")
    instrument = client_request()
    instrument(START_INSTRUMENTATION)
    started = time.perf_counter_ns()
    for _ in range(requests):
        get("/index.html", name="/static")
    elapsed = time.perf_counter_ns() - started
    instrument(STOP_INSTRUMENTATION)
    sent = environment.stats.total.num_requests - WARMUP
    if sent != requests or environment.stats.total.num_failures:
        raise SystemExit(f"request_path_cost: {sent} requests counted of {requests}, "
                         f"{environment.stats.total.num_failures} failed")
    print("MEASURED " + json.dumps({"ns": elapsed, "requests": requests}), flush=True)


def side_command(side: str, requests: int, host: str | None) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.request_path_cost", "--side", side,
               "--requests", str(requests)]
    return command + (["--host", host] if host else [])


def measured(completed: subprocess.CompletedProcess[str], benchmark: str) -> dict[str, Any]:
    """The MEASURED line a side printed; the side's error output when there is none."""
    for line in completed.stdout.splitlines():
        if line.startswith("MEASURED "):
            return dict(json.loads(line.split(" ", 1)[1]))
    raise SystemExit(f"{benchmark}: the side did not finish:\n{completed.stderr[-3000:]}")


def instructions_of(command: list[str], benchmark: str, seed: int = 0) -> int:
    """The instructions a side's command counts under callgrind, which it switches on and off
    around its measured loop (``client_request``); ``seed`` is its PYTHONHASHSEED."""
    with tempfile.TemporaryDirectory() as folder:
        completed = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={folder}/callgrind.out", *command],
            cwd=REPO, capture_output=True, text=True, check=False,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        )
    measured(completed, benchmark)
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if found is None:
        raise SystemExit(f"{benchmark}: no callgrind count:\n{completed.stderr[-3000:]}")
    return int(found.group(1))


def nanoseconds_of(command: list[str], benchmark: str) -> int:
    """The nanoseconds a side's command reports for its measured loop."""
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    return int(measured(completed, benchmark)["ns"])


def instructions_per_request(side: str, requests: int, host: str | None, seed: int = 0) -> float:
    """The side's requests under callgrind, instrumented only while they run."""
    return instructions_of(side_command(side, requests, host), "request_path_cost", seed) / requests


def nanoseconds_per_request(side: str, requests: int, host: str | None) -> float:
    return nanoseconds_of(side_command(side, requests, host), "request_path_cost") / requests


@contextmanager
def connection(use_nginx: bool) -> Iterator[str | None]:
    if not use_nginx:
        yield None
        return
    from benchmarks.generator_efficiency import nginx

    with tempfile.TemporaryDirectory() as folder, nginx(Path(folder)) as host:
        yield host


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callgrind", action="store_true", help="count instructions (valgrind)")
    parser.add_argument("--nginx", action="store_true", help="real requests to nginx on loopback")
    parser.add_argument("--requests", type=int, help="requests per side (default 2000; 500 under callgrind)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds when timing")
    parser.add_argument("--seeds", type=int, default=5, help="hash seeds (memory layouts) under callgrind")
    parser.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    args = parser.parse_args()
    requests = args.requests or (500 if args.callgrind else 2000)
    if args.side:
        run_side(args.side, requests, args.host)
        return
    with connection(args.nginx) as host:
        where = "nginx on 127.0.0.1 (1 KiB file)" if host else "a stand-in connection (canned 200)"
        figures: dict[str, float] = {}
        spread: dict[str, str] = {}
        if args.callgrind:
            unit = "instructions"
            runs = [(side, seed) for seed in range(args.seeds) for side in SIDES]
            with ThreadPoolExecutor(max_workers=2) as pool:  # counts do not depend on the load
                counts = list(pool.map(lambda run: instructions_per_request(run[0], requests, host, run[1]),
                                       runs))
            for side in SIDES:
                per_seed = [count for (name, _), count in zip(runs, counts, strict=True) if name == side]
                figures[SIDES[side]] = statistics.median(per_seed)
                spread[SIDES[side]] = f" (seeds {min(per_seed):,.0f} .. {max(per_seed):,.0f})"
        else:
            unit = "ns"
            rounds: dict[str, list[float]] = {name: [] for name in SIDES.values()}
            for round_number in range(args.rounds):
                for side in list(SIDES)[:: -1 if round_number % 2 else 1]:
                    rounds[SIDES[side]].append(nanoseconds_per_request(side, requests, host))
            figures = {name: statistics.median(values) for name, values in rounds.items()}
    print(f"FastHttpUser requests against {where}, {requests} per side, {unit} per request"
          + (f" (median of {args.seeds} hash seeds)" if args.callgrind
             else f" (median of {args.rounds} alternating rounds)"))
    for name, figure in figures.items():
        print(f"  {name:12} {figure:10,.0f}{spread.get(name, '')}")
    extra = figures[SLOGATE] - figures[BARE]
    print(f"  slogate adds {extra:,.0f} {unit} per request: "
          f"bare / slogate = x{figures[BARE] / figures[SLOGATE]:.3f} (goal >= x0.95)")


if __name__ == "__main__":
    main()
