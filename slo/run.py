"""The result of a load run (``run.json``): per time slice and endpoint, latency histograms and counts.

Totals are never stored: they are merges of the slices, so a verdict can exclude a warm-up or
judge any window of the run from the same data.

Schema 2 (this version) differs from schema 1 only in the slices' histograms: their buckets are
packed (``LatencyHistogram.to_dict(packed=True)``, documented in ``slo.histogram``): an hour of
one-second slices at 10,000 req/s is 54 MB instead of 451 MB, and reads in a tenth of the time.
Everything else, the slices' counts included, stays plain JSON (``jq '.slices[].endpoints[].ok.count'``
works on both). Schema 1 files are still read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slogate.slo.histogram import LatencyHistogram
from slogate.slo.request_rows import RequestRows
from slogate.slo.spec import endpoint_matches

RUN_SCHEMA_VERSION = 2
READABLE_RUN_SCHEMA_VERSIONS = (1, 2)

TTFB_SUFFIX = "#ttfb"
"""Time to first byte of a streamed response is recorded as its own endpoint, the request's key
plus this suffix ('POST /v1/messages#ttfb'), so a route selector never mixes it with total time."""
TTFT_SUFFIX = "#ttft"
"""Time to the first content token of a streamed LLM answer (not its first byte: ``message_start``
carries no token), recorded like ``TTFB_SUFFIX``."""
ITL_SUFFIX = "#itl"
"""Inter-token latency of a streamed LLM answer: one sample per gap between consecutive content chunks."""
TPOT_SUFFIX = "#tpot"
"""Time per output token of a streamed LLM answer after its first: one sample per stream."""
RATE_LIMIT_HEADROOM_PREFIX = "rate_limit_headroom_"
"""A slice's ``minimums`` under this prefix and a limit's name (``rate_limit_headroom_tokens``,
``..._input_tokens``): the lowest share of that rate limit left (0..1) a response announced."""
DERIVED_SUFFIXES = {
    TTFB_SUFFIX: "time to first byte",
    TTFT_SUFFIX: "time to first token",
    ITL_SUFFIX: "inter-token latency",
    TPOT_SUFFIX: "time per output token",
}
"""Every derived series of a request and what it is called. Like every key holding the derived mark
(``slo.spec.DERIVED_KEY_MARK``), they never count as requests of their own in "all endpoints" totals."""


@dataclass
class EndpointWindow:
    """One endpoint's requests within a window: latencies of successes and of failures, by status."""

    ok: LatencyHistogram = field(default_factory=LatencyHistogram)
    failed: LatencyHistogram = field(default_factory=LatencyHistogram)
    statuses: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    """Requests the target refused with 429: counted apart, neither successes nor errors."""

    @property
    def requests(self) -> int:
        return self.ok.count + self.failed.count

    @property
    def failures(self) -> int:
        return self.failed.count

    def record(self, latency_us: float, status: str, failed: bool) -> None:
        (self.failed if failed else self.ok).record(latency_us)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def merge(self, other: EndpointWindow) -> None:
        self.ok.merge(other.ok)
        self.failed.merge(other.failed)
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.rate_limited += other.rate_limited

    @classmethod
    def merged(cls, windows: Iterable[EndpointWindow]) -> EndpointWindow:
        """One window of all of ``windows``: as merging them in order, with histograms added at once."""
        members = list(windows)
        total = cls(
            ok=LatencyHistogram.merged([w.ok for w in members]),
            failed=LatencyHistogram.merged([w.failed for w in members]),
        )
        for window in members:
            for status, count in window.statuses.items():
                total.statuses[status] = total.statuses.get(status, 0) + count
            total.rate_limited += window.rate_limited
        return total

    def pack(self) -> None:
        """Keep the histograms compact (see LatencyHistogram.pack): for windows that are closed."""
        self.ok.pack()
        self.failed.pack()

    def all_latencies(self) -> LatencyHistogram:
        merged = self.ok.copy()
        merged.merge(self.failed)
        return merged

    def to_dict(self, *, packed: bool = False) -> dict[str, Any]:
        return {
            "ok": self.ok.to_dict(packed=packed),
            "failed": self.failed.to_dict(packed=packed),
            "statuses": dict(sorted(self.statuses.items())),
            "rate_limited": self.rate_limited,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndpointWindow:
        return cls(
            ok=LatencyHistogram.from_dict(data["ok"]),
            failed=LatencyHistogram.from_dict(data["failed"]),
            statuses={str(k): int(v) for k, v in data.get("statuses", {}).items()},
            rate_limited=int(data.get("rate_limited", 0)),
        )


@dataclass(frozen=True)
class ProcessCpu:
    """One load-generating process's CPU within a slice: the highest of its samples there."""

    cpu_percent: float
    wait_percent: float | None = None
    """The time its threads were runnable but waited for a CPU (Linux; None elsewhere): a process
    starved by its neighbours queues like a busy one, with a low CPU share."""

    @property
    def busy_percent(self) -> float:
        """The time it ran or wanted to: what says whether it kept up."""
        return self.cpu_percent + (self.wait_percent or 0.0)

    def to_dict(self) -> dict[str, float | None]:
        return {"cpu_percent": self.cpu_percent, "wait_percent": self.wait_percent}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessCpu:
        wait = data.get("wait_percent")
        return cls(float(data["cpu_percent"]), None if wait is None else float(wait))


@dataclass(frozen=True)
class TimeSlice:
    """What happened in ``[start_s, start_s + duration_s)`` seconds after the run started."""

    start_s: float
    duration_s: float
    endpoints: dict[str, EndpointWindow]
    users: int = 0
    generator_cpu_percent: float | None = None
    errors: dict[str, int] = field(default_factory=dict)
    """Failed requests by error kind ('HTTP 503', 'ConnectionRefusedError') in this slice."""
    target_rate: float | None = None
    """Open model: the arrival rate asked for (requests/s); None in the closed model."""
    dispatch_late: int = 0
    """Open model: arrivals sent later than their intended start (their latency counts from it)."""
    dispatch_dropped: int = 0
    """Open model: arrivals that could not be sent at all (no free user)."""
    generator_processes: dict[str, ProcessCpu] = field(default_factory=dict)
    """Each load-generating process's CPU in this slice, by its name ('local', 'master', a worker's
    id); ``generator_cpu_percent`` is the highest CPU share of them. Absent in older runs."""
    minimums: dict[str, float] = field(default_factory=dict)
    """Gauges the scenario reported, the lowest value of each in this slice, over every process
    (``rate_limit_headroom_tokens``: the share of a rate limit left). Absent in older runs."""

    @property
    def requests(self) -> int:
        return sum(window.requests for window in self.endpoints.values())

    @property
    def failures(self) -> int:
        return sum(window.failures for window in self.endpoints.values())

    def to_dict(self, *, packed: bool = False) -> dict[str, Any]:
        return {
            "start_s": self.start_s,
            "duration_s": self.duration_s,
            "users": self.users,
            "generator_cpu_percent": self.generator_cpu_percent,
            "errors": dict(sorted(self.errors.items())),
            "target_rate": self.target_rate,
            "dispatch_late": self.dispatch_late,
            "dispatch_dropped": self.dispatch_dropped,
            "generator_processes": {
                name: cpu.to_dict() for name, cpu in sorted(self.generator_processes.items())
            },
            "minimums": dict(sorted(self.minimums.items())),
            "endpoints": {name: w.to_dict(packed=packed) for name, w in sorted(self.endpoints.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeSlice:
        cpu = data.get("generator_cpu_percent")
        rate = data.get("target_rate")
        return cls(
            start_s=float(data["start_s"]),
            duration_s=float(data["duration_s"]),
            users=int(data.get("users", 0)),
            generator_cpu_percent=None if cpu is None else float(cpu),
            errors={str(k): int(v) for k, v in data.get("errors", {}).items()},
            target_rate=None if rate is None else float(rate),
            dispatch_late=int(data.get("dispatch_late", 0)),
            dispatch_dropped=int(data.get("dispatch_dropped", 0)),
            generator_processes={
                str(name): ProcessCpu.from_dict(cpu)
                for name, cpu in data.get("generator_processes", {}).items()
            },
            minimums={str(name): float(value) for name, value in data.get("minimums", {}).items()},
            endpoints={
                str(name): EndpointWindow.from_dict(w) for name, w in data["endpoints"].items()
            },
        )


@dataclass(frozen=True)
class ErrorGroup:
    """Failed requests of one endpoint with the same kind and message, counted."""

    endpoint: str
    kind: str
    message: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "kind": self.kind, "message": self.message,
                "count": self.count}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorGroup:
        return cls(str(data["endpoint"]), str(data["kind"]), str(data["message"]),
                   int(data["count"]))


@dataclass(frozen=True)
class SlowRequest:
    """One of the slowest requests of a run, with its trace id to find it in the proxy's traces."""

    endpoint: str
    latency_us: float
    start_s: float
    status: str
    trace_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "latency_us": self.latency_us, "start_s": self.start_s,
                "status": self.status, "trace_id": self.trace_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlowRequest:
        trace = data.get("trace_id")
        return cls(str(data["endpoint"]), float(data["latency_us"]), float(data["start_s"]),
                   str(data["status"]), None if trace is None else str(trace))


@dataclass(frozen=True)
class WorkerInfo:
    """One load-generating process: its peak CPU, and whether it was lost before the end."""

    worker_id: str
    max_cpu_percent: float | None = None
    lost: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"worker_id": self.worker_id, "max_cpu_percent": self.max_cpu_percent,
                "lost": self.lost}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerInfo:
        cpu = data.get("max_cpu_percent")
        return cls(str(data["worker_id"]), None if cpu is None else float(cpu),
                   bool(data.get("lost", False)))


@dataclass(frozen=True)
class UntilDecided:
    """An ``--until-decided`` run: the look whose verdict stands (``slo.sequential``)."""

    rule: str
    looks_s: tuple[float, ...]
    """The planned looks, seconds from the start; the last is the maximum duration."""
    look: int
    """1-based: before the last, the run stopped there, and is judged on its slices up to then."""
    alpha_share: float
    """The share of the spec's alpha that look spends (its confidence: 1 - share × alpha)."""

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "looks_s": list(self.looks_s), "look": self.look,
                "alpha_share": self.alpha_share}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UntilDecided:
        decided = cls(str(data["rule"]), tuple(float(t) for t in data["looks_s"]), int(data["look"]),
                      float(data["alpha_share"]))
        if not (1 <= decided.look <= len(decided.looks_s) and 0.0 < decided.alpha_share <= 1.0):
            raise ValueError(f"until_decided: look {decided.look} of {len(decided.looks_s)} looks, alpha "
                             f"share {decided.alpha_share}; expected a look among them, a share in (0, 1]")
        return decided


@dataclass(frozen=True)
class ValidityFlag:
    """Something that makes the measurement untrustworthy (a saturated generator, a lost worker)."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidityFlag:
        return cls(str(data["code"]), str(data["message"]))


@dataclass(frozen=True)
class RunResult:
    run_id: str
    target: str
    scenario: str
    load_model: dict[str, Any]
    started_at: float
    ended_at: float
    slice_s: float
    slices: tuple[TimeSlice, ...]
    errors: tuple[ErrorGroup, ...] = ()
    validity: tuple[ValidityFlag, ...] = ()
    complete: bool = True
    git_revision: str | None = None
    slogate_version: str = ""
    slowest: tuple[SlowRequest, ...] = ()
    workers: tuple[WorkerInfo, ...] = ()
    counters: dict[str, int] = field(default_factory=dict)
    """Named totals the scenario kept (input_tokens, output_tokens, cache_hits...), over all workers."""
    request_rows: RequestRows = field(default_factory=RequestRows)
    """Each streamed request's timings together (goodput is judged on them); not in run.json: the
    bundle keeps them in their own file (``slo.request_rows``)."""
    until_decided: UntilDecided | None = None
    """Set by ``--until-decided``: judged as of its deciding look (absent from other runs' run.json)."""
    schema_version: int = RUN_SCHEMA_VERSION

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)

    @property
    def endpoints(self) -> list[str]:
        return sorted({name for s in self.slices for name in s.endpoints})

    def merged(
        self, selector: str | None = None, *, from_s: float = 0.0
    ) -> tuple[EndpointWindow, list[str]]:
        """All requests of the endpoints a selector chooses, in slices starting at ``from_s`` or later.

        Returns the merged window and the endpoint names that matched.
        """
        chosen: list[EndpointWindow] = []
        matched: set[str] = set()
        for time_slice in self.slices_from(from_s):
            for name, window in time_slice.endpoints.items():
                if endpoint_matches(selector, name):
                    chosen.append(window)
                    matched.add(name)
        return EndpointWindow.merged(chosen), sorted(matched)

    def slices_from(self, from_s: float) -> Iterable[TimeSlice]:
        return (s for s in self.slices if s.start_s >= from_s - 1e-9)

    def to_dict(self, *, slices: bool = True) -> dict[str, Any]:
        """The JSON form; without ``slices`` only the run's facts (for a streaming writer)."""
        facts = {
            # The slices below are always written in the current schema, whatever was read.
            "schema_version": RUN_SCHEMA_VERSION,
            "run_id": self.run_id,
            "target": self.target,
            "scenario": self.scenario,
            "load_model": self.load_model,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "slice_s": self.slice_s,
            "complete": self.complete,
            "git_revision": self.git_revision,
            "slogate_version": self.slogate_version,
            "validity": [flag.to_dict() for flag in self.validity],
            "errors": [group.to_dict() for group in self.errors],
            "slowest": [request.to_dict() for request in self.slowest],
            "workers": [worker.to_dict() for worker in self.workers],
            "counters": dict(sorted(self.counters.items())),
        }
        if self.until_decided is not None:
            facts["until_decided"] = self.until_decided.to_dict()
        if slices:
            facts["slices"] = [s.to_dict(packed=True) for s in self.slices]
        return facts

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """Rebuild from ``run.json`` (schema 1 or 2); raises ValueError naming what is wrong."""
        version = data.get("schema_version")
        if version not in READABLE_RUN_SCHEMA_VERSIONS or isinstance(version, bool):
            readable = " or ".join(map(str, READABLE_RUN_SCHEMA_VERSIONS))
            raise ValueError(f"unsupported run schema_version {version!r}; expected {readable}")
        try:
            return cls(
                run_id=str(data["run_id"]),
                target=str(data["target"]),
                scenario=str(data["scenario"]),
                load_model=dict(data.get("load_model", {})),
                started_at=float(data["started_at"]),
                ended_at=float(data["ended_at"]),
                slice_s=float(data["slice_s"]),
                complete=bool(data.get("complete", False)),
                git_revision=data.get("git_revision"),
                slogate_version=str(data.get("slogate_version", "")),
                validity=tuple(ValidityFlag.from_dict(f) for f in data.get("validity", [])),
                errors=tuple(ErrorGroup.from_dict(e) for e in data.get("errors", [])),
                slowest=tuple(SlowRequest.from_dict(r) for r in data.get("slowest", [])),
                workers=tuple(WorkerInfo.from_dict(w) for w in data.get("workers", [])),
                counters={str(k): int(v) for k, v in data.get("counters", {}).items()},
                until_decided=UntilDecided.from_dict(data["until_decided"]) if data.get("until_decided")
                else None,
                slices=tuple(TimeSlice.from_dict(s) for s in data["slices"]),
            )
        except KeyError as exc:
            raise ValueError(f"missing field {exc.args[0]!r}") from None
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"malformed run: {exc}") from None
