"""PromQL of the dashboard panels, from the metric contract and the SLO spec.

Every ``rate()`` reads ``[$__rate_interval]`` so panels follow the scrape interval and the zoom.
The SLO burn-rate panels read slogate's recording rules (``slogate:sli_error_ratio:rate1h`` and
``slogate:sli_slow_ratio:rate1h``, written by ``slogate alerts``): the dashboard then shows the very
number the burn-rate alerts compare, and a fixed 1h window is not a display rate.
The SLI definitions, the recorded names and the PromQL text helpers are ``slo.promql``, which the
alert rules build on too (the dashboards may not import ``alerts``).
"""

from __future__ import annotations

from slo import promql
from slo.contract import MetricContract
from slo.spec import LatencyObjective, Objective

RATE_INTERVAL = "$__rate_interval"
ROUTE_VARIABLE = "route"
DATASOURCE_VARIABLE = "datasource"

BURN_WINDOW_S = 3600.0  # the burn-rate panels read the recorded 1h SLI

LATENCY_QUANTILES = (0.5, 0.95, 0.99)
STATUS_CLASS_LABEL = "status_class"
ERROR_STATUS_CLASSES = '=~"[45].."'
ERROR_STATUS_CLASS_NAMES = ("4xx", "5xx")
CACHE_HIT = "hit"
CACHE_LOOKUPS = '=~"hit|miss"'  # 'bypass' is traffic the cache may not serve: not a miss


def selector(metric: str, contract: MetricContract, *matchers: str) -> str:
    """``metric{…}`` with the contract's selector and ``matchers``."""
    return promql.selector(metric, contract.matchers(*matchers))


def rate(metric: str, contract: MetricContract, *matchers: str) -> str:
    return f"rate({selector(metric, contract, *matchers)}[{RATE_INTERVAL}])"


def route_filter(contract: MetricContract) -> str:
    return f'{contract.route_label}=~"${ROUTE_VARIABLE}"'


# --- Proxy RED -------------------------------------------------------------------------------

def request_rate_by_route(c: MetricContract) -> str:
    count = f"{c.request_duration}_count"
    return f"sum by ({c.route_label}) ({rate(count, c, route_filter(c))})"


def error_ratio_by_status_class(c: MetricContract) -> str:
    """4xx and 5xx shares of all requests; a class with no error at all shows as 0, not as
    no data."""
    count = f"{c.request_duration}_count"
    failed = f"{c.status_label}{ERROR_STATUS_CLASSES}"
    classes = (
        f'label_replace({rate(count, c, route_filter(c), failed)}, "{STATUS_CLASS_LABEL}", '
        f'"${{1}}xx", "{c.status_label}", "([0-9]).*")'
    )
    zeros = " or ".join(
        f'label_replace(vector(0), "{STATUS_CLASS_LABEL}", "{name}", "", "")'
        for name in ERROR_STATUS_CLASS_NAMES
    )
    return (
        f"(\n  sum by ({STATUS_CLASS_LABEL}) ({classes})\n  or {zeros}\n)\n"
        f"/ ignoring({STATUS_CLASS_LABEL}) group_left\n"
        f"sum({rate(count, c, route_filter(c))})"
    )


def latency_quantile_by_route(c: MetricContract, quantile: float) -> str:
    bucket = f"{c.request_duration}_bucket"
    return (
        f"histogram_quantile({promql.number(quantile)}, "
        f"sum by ({c.route_label}, le) ({rate(bucket, c, route_filter(c))}))"
    )


def active_requests(c: MetricContract) -> str:
    return f"sum({selector(c.active_requests, c)})"


def cache_hit_ratio(c: MetricContract) -> str:
    hits = rate(c.cache_requests, c, promql.equals(c.cache_result_label, CACHE_HIT))
    lookups = rate(c.cache_requests, c, f"{c.cache_result_label}{CACHE_LOOKUPS}")
    return f"sum({hits})\n/\nsum({lookups})"


def upstream_error_rate(c: MetricContract) -> str:
    return f"sum({rate(c.upstream_errors, c)})"


# --- SLOs ------------------------------------------------------------------------------------

def objective_latency(objective: LatencyObjective, c: MetricContract) -> str:
    """The objective's percentile of successful requests (as the run evaluator counts them)."""
    bucket = f"{c.request_duration}_bucket"
    succeeded = promql.latency_matchers(objective, c)
    return (
        f"histogram_quantile({promql.number(objective.percentile / 100.0)}, "
        f"sum by (le) ({rate(bucket, c, *succeeded)}))"
    )


def objective_error_ratio(objective: Objective, c: MetricContract) -> str:
    """Failed requests over all requests the objective selects (0 when none failed)."""
    failed, total = promql.error_selectors(objective, c)
    return promql.error_ratio(failed, total, RATE_INTERVAL)


def objective_availability(objective: Objective, c: MetricContract) -> str:
    inner = objective_error_ratio(objective, c).replace("\n", "\n  ")
    return f"1 - (\n  {inner}\n)"


def constant(value: float) -> str:
    return f"vector({promql.number(value)})"


def burn_rate_1h(objective: Objective, service: str) -> str:
    """The 1h burn rate from slogate's recording rule: bad ratio over the allowed bad ratio."""
    recorded = promql.recorded_sli(objective, service, BURN_WINDOW_S)
    return f"{recorded}\n/\n{promql.number(promql.allowed_bad_ratio(objective))}"
