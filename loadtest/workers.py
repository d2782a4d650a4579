"""The master's account of its Locust workers: which were lost, and their last reports.

A worker is lost when it stops sending heartbeats or disconnects while the test runs, or when it
sends no final report once the master stops it: its share of the load and of the measurements is
missing, so the run is invalid (the gate fails closed).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from locust.rpc import Message
from locust.runners import STATE_MISSING, STATE_STOPPED, MasterRunner

from slogate.loadtest.recorder import RunRecorder
from slogate.slo import validity

FINAL_KEY = "slogate_final"
"""Set in a worker's report sent after its users stopped: nothing of that worker is still to come."""


def mark_final(data: dict[str, Any], runner: Any) -> None:
    """Worker side: say in the outgoing report whether it is the last one (the users have stopped)."""
    data[FINAL_KEY] = runner is not None and runner.state == STATE_STOPPED


class WorkerRoster:
    """What the master knows of its workers, written into the run's recorder as it learns it."""

    def __init__(self, recorder: RunRecorder) -> None:
        self.recorder = recorder
        self.seen: set[str] = set()
        self.awaiting_final: set[str] = set()

    def watch(self, runner: MasterRunner, *, running: bool) -> None:
        """Each worker seen; while ``running``, one that went missing or away is lost. (Their CPU
        comes with their reports, measured by each worker itself.)"""
        present = set()
        for client in list(runner.clients.values()):
            present.add(client.id)
            self.seen.add(client.id)
            lost = running and client.state == STATE_MISSING
            self.recorder.worker(client.id, None, lost=lost)
            if lost:
                self.flag_lost(client.id, "stopped sending heartbeats")
        if running:
            for worker_id in self.seen - present:
                self.recorder.worker(worker_id, None, lost=True)
                self.flag_lost(worker_id, "disconnected")

    def reported(self, client_id: str, data: dict[str, Any]) -> None:
        if data.get(FINAL_KEY):
            self.awaiting_final.discard(client_id)

    def collect_final_reports(self, runner: MasterRunner, wait_s: float) -> None:
        """Tell every connected worker to quit, wait up to ``wait_s`` for each one's final report
        (it comes through :meth:`reported`), and name the ones that sent none lost."""
        self.awaiting_final = {c.id for c in runner.clients.values() if c.state != STATE_MISSING}
        for worker_id in self.awaiting_final:
            runner.server.send_to_client(Message("quit", None, worker_id))
        deadline = time.monotonic() + wait_s
        while self.awaiting_final and time.monotonic() < deadline:
            gevent.sleep(0.05)
        for worker_id in sorted(self.awaiting_final):
            self.recorder.worker(worker_id, None, lost=True)
            self.flag_lost(worker_id, "sent no final report at the end of the run")

    def flag_lost(self, worker_id: str, how: str) -> None:
        self.recorder.flag(
            validity.worker_lost(worker_id),
            f"worker {worker_id} {how} during the run: its share of the load and of the "
            "measurements is missing",
        )
