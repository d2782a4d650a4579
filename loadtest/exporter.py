"""A Prometheus endpoint of the running load test, with the names of slo.contract.LoadTestContract.

The numbers are computed at scrape time from the recorder the gate judges (on the master, the
merge of every worker's data), so the live view and the verdict cannot disagree; recording a
request costs nothing extra. Served on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from slogate.loadtest.recorder import RunRecorder
from slogate.slo.contract import DEFAULT_LOADTEST_CONTRACT, LATENCY_BUCKETS_S, LoadTestContract
from slogate.slo.histogram import LatencyHistogram


@dataclass
class LiveState:
    """What the recorder does not hold: the generator's state now (read at each scrape)."""

    users: Callable[[], int]
    target_users: Callable[[], int | None]
    target_rate: Callable[[], float | None]
    cpu_by_process: Callable[[], dict[str, float]]


class LoadTestCollector(Collector):
    def __init__(
        self, recorder: RunRecorder, live: LiveState, contract: LoadTestContract = DEFAULT_LOADTEST_CONTRACT
    ) -> None:
        self.recorder = recorder
        self.live = live
        self.contract = contract

    def collect(self) -> Iterator[Any]:
        c = self.contract
        yield GaugeMetricFamily(c.users, "Users running now", value=self.live.users())
        target_users = self.live.target_users()
        if target_users is not None:
            yield GaugeMetricFamily(c.target_users, "Users asked for (closed model)", value=target_users)
        target_rate = self.live.target_rate()
        if target_rate is not None:
            yield GaugeMetricFamily(c.target_rate, "Arrivals per second asked for (open model)",
                                    value=target_rate)
            late = sum(d.late for d in self.recorder.dispatch.values())
            dropped = sum(d.dropped for d in self.recorder.dispatch.values())
            yield CounterMetricFamily(c.dispatch_late, "Arrivals sent after their intended time",
                                      value=late)
            yield CounterMetricFamily(c.dispatch_dropped, "Arrivals that could not be sent",
                                      value=dropped)
        cpu = GaugeMetricFamily(c.generator_cpu, "Load generator CPU use per process",
                                labels=[c.process_label])
        for process, percent in sorted(self.live.cpu_by_process().items()):
            cpu.add_metric([process], percent)
        yield cpu
        yield self._durations()
        yield self._failures()

    def _durations(self) -> HistogramMetricFamily:
        c = self.contract
        family = HistogramMetricFamily(
            c.request_duration, "Request latency as the gate records it",
            labels=[c.endpoint_label, c.outcome_label],
        )
        merged: dict[tuple[str, str], LatencyHistogram] = {}
        self.recorder.flush()  # the series kept to record later
        for by_endpoint in list(self.recorder.windows.values()):
            for endpoint, window in list(by_endpoint.items()):
                for outcome, histogram in (("ok", window.ok), ("failed", window.failed)):
                    if histogram.count:
                        merged.setdefault((endpoint, outcome), LatencyHistogram()).merge(histogram)
        for (endpoint, outcome), histogram in sorted(merged.items()):
            buckets = [
                (f"{bound:g}", float(histogram.count_at_or_below(bound * 1e6))) for bound in LATENCY_BUCKETS_S
            ]
            buckets.append(("+Inf", float(histogram.count)))
            total_s = histogram.sum / 1e6
            family.add_metric([endpoint, outcome], buckets, total_s)
        return family

    def _failures(self) -> CounterMetricFamily:
        c = self.contract
        family = CounterMetricFamily(c.failures, "Failed requests by error kind",
                                     labels=[c.endpoint_label, c.kind_label])
        by_kind: dict[tuple[str, str], int] = {}
        for (endpoint, kind, _message), count in list(self.recorder.errors.items()):
            by_kind[(endpoint, kind)] = by_kind.get((endpoint, kind), 0) + count
        for (endpoint, kind), count in sorted(by_kind.items()):
            family.add_metric([endpoint, kind], count)
        return family


def serve(collector: LoadTestCollector, port: int, host: str = "127.0.0.1") -> Any:
    """Serve the collector on ``host:port`` (0: a free port); returns the server (``.server_port``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
