"""Machines for a test, without a cluster: Linux network namespaces joined by veth pairs.

:func:`network` makes a *hub* namespace holding a bridge, and one namespace per other machine
with a veth pair from its ``eth0`` to that bridge, all in one /24 of 198.18.0.0/15 (the range
reserved for benchmark networks, RFC 2544). No namespace has a route beyond that subnet and none
is linked to the host's own network, so nothing the processes inside send can leave them. The
namespaces (and with them the veth pairs) are removed when the block ends.

A process starts on a machine with :meth:`Machine.command`, which also gives it a hostname of its
own (a UTS namespace): Locust names a worker after its host, so the test can tell workers apart.
``python -m tests.integration.netns serve ADDR PORT`` is the target the tests load: it counts the
requests it receives by client address, says when a client sends its first one, and prints the
counts when terminated.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

SUBNET = "198.18.0"
"""The machines' /24: the hub is .1, the others .2, .3, ..."""
BRIDGE = "bridge0"
MACHINE_LINK = "eth0"
READY = "READY"
FIRST_FROM = "FIRST_FROM"


class NamespacesForbidden(Exception):
    """The kernel (or the lack of privileges) forbids network namespaces here."""


@dataclass(frozen=True)
class Machine:
    namespace: str
    hostname: str
    address: str
    link: str
    """Its interface towards the hub (``eth0``; the hub's own is the bridge)."""

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside this machine's namespace, under its own hostname."""
        return ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "sh", "-c",
                'hostname "$0" && exec "$@"', self.hostname, *argv]

    def take_link_down(self) -> None:
        """A network partition: this machine's only link goes down (the hub's side stays up)."""
        _ip("-n", self.namespace, "link", "set", self.link, "down")


@dataclass(frozen=True)
class Network:
    hub: Machine
    machines: tuple[Machine, ...]


def _ip(*args: str) -> None:
    completed = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        message = completed.stderr.strip()
        if "Operation not permitted" in message or "Permission denied" in message:
            raise NamespacesForbidden(f"ip {' '.join(args)}: {message}")
        raise RuntimeError(f"ip {' '.join(args)}: {message}")


def _add_namespace(name: str) -> None:
    _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")


@contextmanager
def network(hostnames: Sequence[str], hub_hostname: str = "hub") -> Iterator[Network]:
    """The hub and one machine per hostname, linked through the hub's bridge; removed afterwards.

    Raises NamespacesForbidden where namespaces cannot be made (not root, a kernel without them).
    """
    if os.geteuid() != 0:
        raise NamespacesForbidden("network namespaces need root")
    prefix = f"slogate{os.getpid()}"
    created: list[str] = []
    try:
        hub = Machine(f"{prefix}-hub", hub_hostname, f"{SUBNET}.1", BRIDGE)
        _add_namespace(hub.namespace)
        created.append(hub.namespace)
        _ip("-n", hub.namespace, "link", "add", BRIDGE, "type", "bridge")
        _ip("-n", hub.namespace, "addr", "add", f"{hub.address}/24", "dev", BRIDGE)
        _ip("-n", hub.namespace, "link", "set", BRIDGE, "up")
        machines = []
        for number, hostname in enumerate(hostnames, start=1):
            machine = Machine(f"{prefix}-m{number}", hostname, f"{SUBNET}.{number + 1}", MACHINE_LINK)
            _add_namespace(machine.namespace)
            created.append(machine.namespace)
            hub_side = f"to{number}"
            _ip("-n", hub.namespace, "link", "add", hub_side, "type", "veth",
                "peer", "name", MACHINE_LINK, "netns", machine.namespace)
            _ip("-n", hub.namespace, "link", "set", hub_side, "master", BRIDGE, "up")
            _ip("-n", machine.namespace, "addr", "add", f"{machine.address}/24", "dev", MACHINE_LINK)
            _ip("-n", machine.namespace, "link", "set", MACHINE_LINK, "up")
            machines.append(machine)
        yield Network(hub, tuple(machines))
    finally:
        # Removing a namespace removes its ends of the veth pairs, and with them the peers.
        for name in reversed(created):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def namespaces_left() -> list[str]:
    """This process's namespaces still present (none once :func:`network` has ended)."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(f"slogate{os.getpid()}-")]


# -- the counting target ------------------------------------------------------------------------


def serve(address: str, port: int) -> None:
    """Answer every GET with 200 and a short body, count requests by client address (printing
    ``FIRST_FROM ADDR`` at a client's first); on SIGTERM print the counts as JSON and exit."""
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    class Counting(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Locust's clients use it

        def do_GET(self) -> None:
            client = self.client_address[0]
            with lock:
                counts[client] += 1
                if counts[client] == 1:
                    print(f"{FIRST_FROM} {client}", flush=True)
            body = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((address, port), Counting)
    server.daemon_threads = True

    def stop(_signal: int, _frame: FrameType | None) -> None:
        with lock:
            print(json.dumps(dict(counts)), flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(READY, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"] or len(sys.argv) != 4:
        raise SystemExit("usage: python -m tests.integration.netns serve ADDR PORT")
    serve(sys.argv[2], int(sys.argv[3]))
