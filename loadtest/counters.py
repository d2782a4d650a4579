"""Named totals of a run (``input_tokens``, ``cache_hits``...), summed across users and Locust workers.

Scenarios add to them (``counters_of(environment).add(input_tokens=12)``); the plugin writes the
totals into the run bundle (``RunResult.counters``). Kept apart from loadtest.users so the plugin
can read them without registering the scenarios' command-line options.
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from collections.abc import Mapping
from typing import Any

from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

logger = logging.getLogger("slogate")

_COUNTERS_REPORT_KEY = "slogate_scenario_counters"


class RunCounters:
    """Named totals of a run (``input_tokens``...), summed across users and Locust workers.

    Workers send their totals to the master with each report; the master (or the single local
    process) logs them when Locust quits. ``totals`` is there for anything that wants to store them.
    """

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self._reported: Counter[str] = Counter()
        """Added here and sent to the master already, or (on the master) received from workers."""
        self._unreported: dict[str, int] = {}
        """Added here since the last report: the only dict a scenario's ``add`` writes (once per
        request, so kept to one update a name)."""
        hooks = environment.events
        if isinstance(environment.runner, WorkerRunner):
            hooks.report_to_master.add_listener(self._on_report_to_master)
        else:
            hooks.worker_report.add_listener(self._on_worker_report)
            hooks.quitting.add_listener(self._on_quitting)

    @property
    def totals(self) -> Counter[str]:
        """The run's totals so far: this process's and what its workers reported."""
        totals = Counter(self._reported)
        totals.update(self._unreported)
        return totals

    def add(self, **counts: int) -> None:
        self.add_all(counts)

    def add_all(self, counts: Mapping[str, int]) -> None:
        unreported = self._unreported
        for name, count in counts.items():
            unreported[name] = unreported.get(name, 0) + count

    def _on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        data[_COUNTERS_REPORT_KEY] = self._unreported
        self._reported.update(self._unreported)
        self._unreported = {}

    def _on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        for name, count in data.get(_COUNTERS_REPORT_KEY, {}).items():
            self._reported[str(name)] += int(count)

    def _on_quitting(self, environment: Environment, **_: Any) -> None:
        if totals := self.totals:
            where = "all workers" if isinstance(environment.runner, MasterRunner) else "this run"
            summary = " ".join(f"{name}={count}" for name, count in sorted(totals.items()))
            logger.info("slogate: scenario totals (%s): %s", where, summary)


_counters: weakref.WeakKeyDictionary[Environment, RunCounters] = weakref.WeakKeyDictionary()


def counters_of(environment: Environment) -> RunCounters:
    """The run totals of ``environment`` (created, and wired to its events, on first use)."""
    counters = _counters.get(environment)
    if counters is None:
        counters = _counters[environment] = RunCounters(environment)
    return counters
