"""Records every request of a run into time-sliced, per-endpoint latency histograms.

Slices are keyed by absolute epoch index (``floor(start_time / slice_s)``) so that Locust workers
and the master agree on them without coordination; the run's own offsets are only computed when
the result is built. A recorder can ship what it has (``drain``) and absorb another's
(``absorb``): that is how workers' data merges losslessly on the master.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from slogate.loadtest.llm_rows import StreamRows
from slogate.slo.redact import redact
from slogate.slo.run import (
    EndpointWindow,
    ErrorGroup,
    ProcessCpu,
    RunResult,
    SlowRequest,
    TimeSlice,
    ValidityFlag,
    WorkerInfo,
)

MAX_ERROR_MESSAGE = 300
MAX_ERROR_GROUPS = 500
"""Distinct error messages kept; beyond that they count under one 'other' message per kind."""
SLOWEST_KEPT = 20
"""The slowest requests kept per process (and in the merged run), with their trace ids."""

LATER_KEPT = 1024
"""Requests kept to record their series later (``record_later``) at most, per writer: the memory
a run whose windows are not read for a while keeps."""


class SeriesWriter(Protocol):
    """Records many requests' derived series at once (``RunRecorder.record_later``)."""

    def record_all(self, recorder: RunRecorder, requests: list[tuple[float, Any]]) -> None:
        """Record each (epoch start, request) given to ``record_later`` (``record_values`` and
        ``record_series``)."""


_Slow = tuple[float, str, float, str, str]
"""(latency_us, endpoint, epoch start, status, trace id or ''): ordered by latency first for the heap."""


@dataclass
class _SliceSamples:
    users: int = 0
    target_rate: float | None = None


def _higher(known: ProcessCpu | None, sample: ProcessCpu) -> ProcessCpu:
    """Two CPU samples of a process in one slice: the higher CPU share, the longer wait."""
    if known is None:
        return sample
    waits = [w for w in (known.wait_percent, sample.wait_percent) if w is not None]
    return ProcessCpu(max(known.cpu_percent, sample.cpu_percent), max(waits) if waits else None)


@dataclass
class _SliceDispatch:
    late: int = 0
    dropped: int = 0


@dataclass
class RunRecorder:
    slice_s: float = 1.0
    secrets: tuple[str, ...] = ()
    windows: dict[int, dict[str, EndpointWindow]] = field(default_factory=dict)
    errors: dict[tuple[str, str, str], int] = field(default_factory=dict)
    samples: dict[int, _SliceSamples] = field(default_factory=dict)
    validity: dict[str, str] = field(default_factory=dict)
    slice_errors: dict[int, dict[str, int]] = field(default_factory=dict)
    dispatch: dict[int, _SliceDispatch] = field(default_factory=dict)
    slowest: list[_Slow] = field(default_factory=list)
    """A min-heap of the slowest requests, at most SLOWEST_KEPT."""
    slowest_floor_us: float = -math.inf
    """A request no slower than this does not enter ``slowest`` (it is full): a caller finds the
    trace id of the requests that do only (reading it costs more than recording the request)."""
    workers: dict[str, WorkerInfo] = field(default_factory=dict)
    cpu: dict[int, dict[str, ProcessCpu]] = field(default_factory=dict)
    """Per slice, each process's CPU (the highest of its samples there)."""
    cpu_now: dict[str, ProcessCpu] = field(default_factory=dict)
    """Each process's latest CPU sample (a worker's: from its latest report), for the live view."""
    minimums: dict[int, dict[str, float]] = field(default_factory=dict)
    """Per slice, the lowest value of each gauge the scenario reported (``minimum``)."""
    stream_rows: StreamRows = field(default_factory=StreamRows)
    """Each streamed LLM request's timings together (``loadtest.llm_rows``): goodput's data."""
    _later: dict[SeriesWriter, list[tuple[float, Any]]] = field(default_factory=dict, repr=False)
    """Requests whose series are recorded when the windows are next read (``record_later``)."""
    _packed_slices: set[int] = field(default_factory=set, repr=False)
    _open_from: float = field(default=-math.inf, repr=False)
    """Slices before this index are closed (compacted): their windows are never changed in place
    again, so results share them; a late request or report for one replaces its window."""

    def __post_init__(self) -> None:
        if not self.slice_s > 0:
            raise ValueError(f"slice_s must be positive, got {self.slice_s!r}")

    def slice_index(self, epoch_s: float) -> int:
        return math.floor(epoch_s / self.slice_s)

    def record(
        self,
        endpoint: str,
        start_time: float,
        latency_us: float,
        status: str,
        error: tuple[str, str] | None = None,
        *,
        rate_limited: bool = False,
        trace_id: str | None = None,
    ) -> None:
        """One request: its endpoint key, epoch start, latency, status, and (kind, message) if failed.

        A rate-limited request (the target said 429, the scenario backs off) is counted apart:
        neither a success nor a failure, and its latency is not the service's.
        """
        # The hot path of a run (once per request): plain lookups, no helper calls (``_window``,
        # inlined: a call more per request is measurable in benchmarks/request_path_cost.py).
        index = math.floor(start_time / self.slice_s)
        by_endpoint = self.windows.get(index)
        if by_endpoint is None:
            by_endpoint = self.windows[index] = {}
        window = by_endpoint.get(endpoint)
        if window is None:
            window = by_endpoint[endpoint] = EndpointWindow()
        elif index < self._open_from:
            window = by_endpoint[endpoint] = EndpointWindow.merged([window])  # copy on write
        if rate_limited:
            window.rate_limited += 1
            return
        if latency_us < 0.0:
            latency_us = 0.0
        # EndpointWindow.record, inlined: one call less per request.
        (window.ok if error is None else window.failed).record(latency_us)
        statuses = window.statuses
        statuses[status] = statuses.get(status, 0) + 1
        if error is not None:
            kinds = self.slice_errors.setdefault(index, {})
            kinds[error[0]] = kinds.get(error[0], 0) + 1
            self._count_error(endpoint, error[0], error[1], 1)
        if latency_us > self.slowest_floor_us:
            self._keep_slow((latency_us, endpoint, start_time, status, trace_id or ""))

    def _keep_slow(self, request: _Slow) -> None:
        slowest = self.slowest
        if len(slowest) < SLOWEST_KEPT:
            heapq.heappush(slowest, request)
        elif request[0] > slowest[0][0]:
            heapq.heapreplace(slowest, request)
        if len(slowest) >= SLOWEST_KEPT:
            self.slowest_floor_us = slowest[0][0]

    def record_series(self, start_time: float, samples: Iterable[tuple[str, float, int]],
                      status: str = "200") -> None:
        """Successful samples of one request's derived series (a stream's TTFT, TPOT and inter-token
        gaps), each ``(endpoint, latency µs, how many)``, in the slice of ``start_time``, in one
        call. Unlike ``record``, they do not enter the slowest requests: each is part of a request
        whose own total is recorded there."""
        index = math.floor(start_time / self.slice_s)
        for endpoint, latency_us, count in samples:
            window = self._window(index, endpoint)
            window.ok.record(latency_us if latency_us > 0.0 else 0.0, count)
            statuses = window.statuses
            statuses[status] = statuses.get(status, 0) + count

    def record_later(self, start_time: float, writer: SeriesWriter, request: Any) -> None:
        """A request's derived series, recorded by ``writer`` (``record_all``) with the others it
        was given, when the windows are next read (``flush``: by ``drain``, ``compact`` and
        ``result``) or once ``LATER_KEPT`` wait: a scenario's hot path only keeps what it measured
        (a stream's timings), and recording many at once in bulk costs a fraction of recording
        each (``benchmarks/llm_parse_cost.py``)."""
        requests = self._later.get(writer)
        if requests is None:
            requests = self._later[writer] = []
        requests.append((start_time, request))
        if len(requests) >= LATER_KEPT:
            self.flush()

    def flush(self) -> None:
        """Record the requests' series ``record_later`` kept."""
        if self._later:
            later, self._later = self._later, {}
            for writer, requests in later.items():
                writer.record_all(self, requests)

    def record_values(self, endpoint: str, start_times: npt.NDArray[np.float64],
                      values_us: npt.NDArray[np.float64]) -> None:
        """Successful samples of derived series in bulk: one value each, in the slice of its
        request's start (a batch's, from ``flush``)."""
        if not values_us.size:
            return
        values_us = np.maximum(values_us, 0.0)
        indices = np.floor(start_times / self.slice_s).astype(np.int64)
        first, last = int(indices.min()), int(indices.max())
        for index in range(first, last + 1) if last - first < 8 else np.unique(indices).tolist():
            in_slice = values_us if first == last else values_us[indices == index]
            if in_slice.size:
                window = self._window(index, endpoint)
                window.ok.record_values(in_slice)
                window.statuses["200"] = window.statuses.get("200", 0) + int(in_slice.size)

    def _window(self, index: int, endpoint: str) -> EndpointWindow:
        """An endpoint's window in a slice, to add to (a closed slice's copied first)."""
        by_endpoint = self.windows.get(index)
        if by_endpoint is None:
            by_endpoint = self.windows[index] = {}
        window = by_endpoint.get(endpoint)
        if window is None:
            window = by_endpoint[endpoint] = EndpointWindow()
        elif index < self._open_from:
            window = by_endpoint[endpoint] = EndpointWindow.merged([window])  # copy on write
        return window

    def minimum(self, name: str, epoch_s: float, value: float) -> None:
        """A gauge's value at a moment (a rate limit's headroom): each slice keeps its lowest."""
        self._keep_minimum(self.slice_index(epoch_s), name, value)

    def _keep_minimum(self, index: int, name: str, value: float) -> None:
        by_name = self.minimums.setdefault(index, {})
        known = by_name.get(name)
        if known is None or value < known:
            by_name[name] = value

    def process_cpu(self, process: str, from_s: float, to_s: float, cpu_percent: float,
                    wait_percent: float | None = None) -> None:
        """A process's CPU share (and wait for a CPU) over ``[from_s, to_s]`` epoch seconds, kept
        in each slice holding half of the sample or half of the slice. Samples are taken in steps
        that divide a slice (one slice each); a saturated process wakes late, and its longer sample
        then counts in every slice it mostly covers, so no slice goes unmeasured."""
        cpu = ProcessCpu(round(cpu_percent, 1), None if wait_percent is None else round(wait_percent, 1))
        enough = min(self.slice_s, to_s - from_s) / 2
        for index in range(self.slice_index(from_s), self.slice_index(to_s) + 1):
            start = index * self.slice_s
            if min(to_s, start + self.slice_s) - max(from_s, start) >= enough:
                self._keep_cpu(index, process, cpu)
        self.cpu_now[process] = cpu

    def _keep_cpu(self, index: int, process: str, cpu: ProcessCpu) -> None:
        by_process = self.cpu.setdefault(index, {})
        by_process[process] = _higher(by_process.get(process), cpu)
        self.worker(process, cpu.cpu_percent)

    def dispatched(self, intended_s: float, *, late: bool = False, dropped: bool = False) -> None:
        """Open model: an arrival due at ``intended_s`` was sent late, or could not be sent at all."""
        if late or dropped:
            slot = self.dispatch.setdefault(self.slice_index(intended_s), _SliceDispatch())
            slot.late += late
            slot.dropped += dropped

    def worker(self, worker_id: str, cpu_percent: float | None, *, lost: bool = False) -> None:
        """A load-generating process seen now: its CPU (peak kept) and whether it is lost."""
        known = self.workers.get(worker_id)
        peak = known.max_cpu_percent if known else None
        if cpu_percent is not None:
            peak = max(peak or 0.0, cpu_percent)
        self.workers[worker_id] = WorkerInfo(worker_id, peak, lost or bool(known and known.lost))

    def _count_error(self, endpoint: str, kind: str, message: str, count: int) -> None:
        message = redact(message, self.secrets)
        if len(message) > MAX_ERROR_MESSAGE:
            message = message[: MAX_ERROR_MESSAGE - 1] + "…"
        key = (endpoint, kind, message)
        if key not in self.errors and len(self.errors) >= MAX_ERROR_GROUPS:
            key = (endpoint, kind, "(other messages)")
        self.errors[key] = self.errors.get(key, 0) + count

    def sample(self, epoch_s: float, users: int, target_rate: float | None = None) -> None:
        """The generator's state at a moment: users running, the arrival rate asked for."""
        slot = self.samples.setdefault(self.slice_index(epoch_s), _SliceSamples())
        slot.users = max(slot.users, users)
        if target_rate is not None:
            slot.target_rate = max(slot.target_rate or 0.0, target_rate)

    def compact(self, before_epoch_s: float) -> None:
        """Pack the histograms of slices that ended before ``before_epoch_s``.

        A long run keeps one set of histograms per slice for run.json; packed, a closed slice
        takes a fraction of the memory of its dicts, so memory stays close to flat in a soak.
        A late request for a packed slice still records (it unpacks that histogram).
        """
        self.flush()
        limit = self.slice_index(before_epoch_s)
        for index in [i for i in self.windows if i < limit and i not in self._packed_slices]:
            for window in self.windows[index].values():
                window.pack()
            self._packed_slices.add(index)
        self._open_from = max(self._open_from, limit)

    def flag(self, code: str, message: str) -> None:
        """Mark the measurement invalid; the first message of a code is kept."""
        self.validity.setdefault(code, message)

    def peak_users(self) -> int:
        """The most users sampled running at once (0 before any sample)."""
        return max((slot.users for slot in self.samples.values()), default=0)

    def dispatch_totals(self) -> tuple[int, int]:
        """Open model: arrivals (late, dropped) so far."""
        return (sum(slot.late for slot in self.dispatch.values()),
                sum(slot.dropped for slot in self.dispatch.values()))

    # -- shipping between processes ----------------------------------------------------------

    def drain(self) -> dict[str, Any]:
        """Everything recorded since the last drain, as JSON-safe data; the recorder is emptied."""
        self.flush()
        data = {
            "slice_s": self.slice_s,
            "windows": {
                str(index): {name: w.to_dict() for name, w in by_endpoint.items()}
                for index, by_endpoint in self.windows.items()
            },
            "errors": [[*key, count] for key, count in self.errors.items()],
            "slice_errors": {str(index): kinds for index, kinds in self.slice_errors.items()},
            "dispatch": {str(index): [d.late, d.dropped] for index, d in self.dispatch.items()},
            "slowest": [list(request) for request in self.slowest],
            "validity": dict(self.validity),
            "cpu": {str(index): {process: cpu.to_dict() for process, cpu in by_process.items()}
                    for index, by_process in self.cpu.items()},
            "minimums": {str(index): by_name for index, by_name in self.minimums.items()},
            "stream_rows": self.stream_rows.drain(),
        }
        self.windows = {}
        self.cpu = {}
        self.minimums = {}
        self.errors = {}
        self.slice_errors = {}
        self.dispatch = {}
        self.slowest = []
        self.slowest_floor_us = -math.inf
        return data

    def absorb(self, data: Mapping[str, Any]) -> None:
        """Add what another recorder drained (same slice width) to this one."""
        if float(data["slice_s"]) != self.slice_s:
            raise ValueError(f"slice width {data['slice_s']} differs from {self.slice_s}")
        for index_text, by_endpoint in data["windows"].items():
            index = int(index_text)
            mine = self.windows.setdefault(index, {})
            for name, window_data in by_endpoint.items():
                incoming = EndpointWindow.from_dict(window_data)
                if name not in mine:
                    mine[name] = incoming
                elif index < self._open_from:
                    mine[name] = EndpointWindow.merged([mine[name], incoming])  # copy on write
                else:
                    mine[name].merge(incoming)
        for endpoint, kind, message, count in data["errors"]:
            self._count_error(endpoint, kind, message, int(count))
        for index_text, kinds in data.get("slice_errors", {}).items():
            mine_kinds = self.slice_errors.setdefault(int(index_text), {})
            for kind, count in kinds.items():
                mine_kinds[kind] = mine_kinds.get(kind, 0) + int(count)
        for index_text, (late, dropped) in data.get("dispatch", {}).items():
            slot = self.dispatch.setdefault(int(index_text), _SliceDispatch())
            slot.late += int(late)
            slot.dropped += int(dropped)
        for latency_us, endpoint, start, status, trace_id in data.get("slowest", []):
            self._keep_slow((float(latency_us), str(endpoint), float(start), str(status), str(trace_id)))
        for code, message in data.get("validity", {}).items():
            self.flag(code, message)
        for index_text, by_process in sorted(data.get("cpu", {}).items(), key=lambda item: int(item[0])):
            for process, cpu_data in by_process.items():
                cpu = ProcessCpu.from_dict(cpu_data)
                self._keep_cpu(int(index_text), str(process), cpu)
                self.cpu_now[str(process)] = cpu
        for index_text, by_name in data.get("minimums", {}).items():
            for name, value in by_name.items():
                self._keep_minimum(int(index_text), str(name), float(value))
        self.stream_rows.absorb(data.get("stream_rows"))

    # -- the result --------------------------------------------------------------------------

    def _snapshot(self, index: int) -> dict[str, EndpointWindow]:
        """A slice's windows for a result, which must never change with the recorder: those of a
        closed slice as they are (never changed in place again), the others copied."""
        windows = self.windows.get(index, {})
        if index < self._open_from:
            return dict(windows)
        return {name: EndpointWindow.merged([window]) for name, window in windows.items()}

    def result(
        self,
        *,
        run_id: str,
        target: str,
        scenario: str,
        load_model: dict[str, Any],
        started_at: float,
        ended_at: float,
        complete: bool,
        git_revision: str | None,
        slogate_version: str,
        counters: Mapping[str, int] | None = None,
    ) -> RunResult:
        """The run so far, with slices from ``started_at`` on (earlier requests count in slice 0)."""
        self.flush()
        first = self.slice_index(started_at)
        last = max(
            [self.slice_index(max(started_at, ended_at - self.slice_s * 1e-3)), *self.windows, *self.samples,
             *self.dispatch]
        )
        # Requests stamped before the start (clock skew between processes) join the first slice.
        early: dict[str, list[EndpointWindow]] = {}
        for index in sorted(i for i in self.windows if i <= first):
            for name, window in self.windows[index].items():
                early.setdefault(name, []).append(window)
        first_windows = {name: EndpointWindow.merged(windows) for name, windows in early.items()}
        first_errors: dict[str, int] = {}
        for index in (i for i in self.slice_errors if i <= first):
            for kind, count in self.slice_errors[index].items():
                first_errors[kind] = first_errors.get(kind, 0) + count
        first_dispatch = _SliceDispatch()
        for index in (i for i in self.dispatch if i <= first):
            first_dispatch.late += self.dispatch[index].late
            first_dispatch.dropped += self.dispatch[index].dropped
        first_cpu: dict[str, ProcessCpu] = {}
        for index in (i for i in self.cpu if i <= first):
            for process, cpu in self.cpu[index].items():
                first_cpu[process] = _higher(first_cpu.get(process), cpu)
        first_minimums: dict[str, float] = {}
        for index in (i for i in self.minimums if i <= first):
            for name, value in self.minimums[index].items():
                first_minimums[name] = min(value, first_minimums.get(name, value))
        slices: list[TimeSlice] = []
        for index in range(first, last + 1):
            sampled = self.samples.get(index, _SliceSamples())
            processes = first_cpu if index == first else dict(self.cpu.get(index, {}))
            minimums = first_minimums if index == first else dict(self.minimums.get(index, {}))
            start = index * self.slice_s
            duration = min(start + self.slice_s, ended_at) - max(start, started_at)
            dispatch = first_dispatch if index == first else self.dispatch.get(index, _SliceDispatch())
            slices.append(
                TimeSlice(
                    start_s=round(max(0.0, start - started_at), 6),
                    duration_s=round(max(0.0, duration), 6),
                    endpoints=first_windows if index == first else self._snapshot(index),
                    users=sampled.users,
                    generator_cpu_percent=max((c.cpu_percent for c in processes.values()), default=None),
                    errors=dict(first_errors if index == first else self.slice_errors.get(index, {})),
                    target_rate=sampled.target_rate,
                    dispatch_late=dispatch.late,
                    dispatch_dropped=dispatch.dropped,
                    generator_processes=processes,
                    minimums=minimums,
                )
            )
        errors = tuple(
            ErrorGroup(endpoint, kind, message, count)
            for (endpoint, kind, message), count in sorted(
                self.errors.items(), key=lambda item: (-item[1], item[0])
            )
        )
        return RunResult(
            run_id=run_id,
            target=target,
            scenario=scenario,
            load_model=load_model,
            started_at=started_at,
            ended_at=ended_at,
            slice_s=self.slice_s,
            slices=tuple(slices),
            errors=errors,
            validity=tuple(ValidityFlag(c, m) for c, m in sorted(self.validity.items())),
            slowest=tuple(
                SlowRequest(endpoint, round(latency_us, 1), round(max(0.0, start - started_at), 6),
                            status, trace_id or None)
                for latency_us, endpoint, start, status, trace_id in sorted(self.slowest, reverse=True,
                                                                           key=lambda r: r[0])
            ),
            workers=tuple(self.workers[w] for w in sorted(self.workers)),
            complete=complete,
            git_revision=git_revision,
            slogate_version=slogate_version,
            counters={name: int(count) for name, count in sorted((counters or {}).items())},
            request_rows=self.stream_rows.result(),
        )
