"""The load-test dashboard: users, achieved against target rate, latency per endpoint and
failures, from the load test's own Prometheus endpoint (``slo.contract.LoadTestContract``), so
a run can be watched live next to the proxy's own view."""

from __future__ import annotations

from grafanalib.core import Dashboard

from slogate.dashboards import queries as q
from slogate.dashboards.panels import (
    Grid,
    dashboard,
    datasource_variable,
    label_variable,
    stable_uid,
    timeseries,
)
from slogate.slo.contract import DEFAULT_LOADTEST_CONTRACT, LoadTestContract
from slogate.slo.spec import Spec

DASHBOARD = "loadtest"


def loadtest_dashboard(spec: Spec, lt: LoadTestContract = DEFAULT_LOADTEST_CONTRACT) -> Dashboard:
    endpoint = f"{{{{{lt.endpoint_label}}}}}"
    grid = Grid()
    grid.row("Load")
    grid.add(8, timeseries(
        "Users", "Simulated users running now, against the number asked for (closed model).",
        "short", [(q.loadtest_users(lt), "running"), (q.loadtest_target_users(lt), "target")],
    ))
    grid.add(8, timeseries(
        "Achieved vs target rate",
        "Requests per second the load test completed (of the selected endpoints), against the "
        "arrival rate asked for (open model only; a closed model has no target rate).",
        "reqps", [(q.loadtest_achieved_rate(lt), "achieved"), (q.loadtest_target_rate(lt), "target")],
    ))
    grid.add(8, timeseries(
        "Load generator CPU",
        "CPU use of each load generator process; over 90% the generator is saturated and the "
        "gate calls the run inconclusive.",
        "percent", [(q.loadtest_generator_cpu(lt), f"{{{{{lt.process_label}}}}}")],
        thresholds=((None, "green"), (90.0, "red")), threshold_lines=True,
    ))
    grid.row("Latency and failures")
    grid.add(12, timeseries(
        "Latency p50 / p95 / p99 by endpoint",
        "Client-side latency per endpoint as the load test measured it (the histogram buckets of "
        "its endpoint; the gate's own histograms are finer).",
        "s", [(q.loadtest_latency_quantile(lt, x), f"{endpoint} p{x * 100:g}")
              for x in q.LATENCY_QUANTILES],
    ))
    grid.add(6, timeseries(
        "Failures by kind", "Failed requests per second, by error kind (HTTP status, timeout...).",
        "reqps", [(q.loadtest_failures_by_kind(lt), f"{{{{{lt.kind_label}}}}}")],
    ))
    grid.add(6, timeseries(
        "Late and dropped dispatches",
        "Open model: arrivals sent late or not at all because the generator fell behind; any "
        "makes the run doubtful.",
        "reqps", [(q.loadtest_dispatch(lt, lt.dispatch_late), "late"),
                  (q.loadtest_dispatch(lt, lt.dispatch_dropped), "dropped")],
    ))
    return dashboard(
        title=f"{spec.service}: load test",
        description="A slogate load test seen live from its own Prometheus endpoint.",
        uid=stable_uid(spec.service, DASHBOARD),
        tags=["slogate", spec.service, "loadtest"],
        variables=[
            datasource_variable(),
            label_variable(q.ENDPOINT_VARIABLE, "Endpoint", f"{lt.request_duration}_count",
                           lt.endpoint_label),
        ],
        grid=grid,
    )
