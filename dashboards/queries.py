"""PromQL of the dashboard panels, from the metric contract and the SLO spec.

Every ``rate()`` reads ``[$__rate_interval]`` so panels follow the scrape interval and the zoom.
The SLO burn-rate panels read slogate's recording rules (``slogate:sli_error_ratio:rate1h`` and
``slogate:sli_slow_ratio:rate1h``, written by ``slogate alerts``): the dashboard then shows the very
number the burn-rate alerts compare, and a fixed 1h window is not a display rate.
The SLI definitions follow ``alerts.sli`` (the dashboards may not import ``alerts``; the tests
check that the recorded names agree).
"""

from __future__ import annotations

import re

from slo.contract import MetricContract
from slo.spec import LatencyObjective, Objective

RATE_INTERVAL = "$__rate_interval"
ROUTE_VARIABLE = "route"
DATASOURCE_VARIABLE = "datasource"

RATIO_RECORD_1H = "slogate:sli_error_ratio:rate1h"
LATENCY_RECORD_1H = "slogate:sli_slow_ratio:rate1h"

LATENCY_QUANTILES = (0.5, 0.95, 0.99)
STATUS_CLASS_LABEL = "status_class"
ERROR_STATUS_CLASSES = '=~"[45].."'
ERROR_STATUS_CLASS_NAMES = ("4xx", "5xx")
CACHE_HIT = "hit"
CACHE_LOOKUPS = '=~"hit|miss"'  # 'bypass' is traffic the cache may not serve: not a miss

_MATCHER = re.compile(r'^\s*(=~|!~|!=|=)\s*(".*")\s*$', re.DOTALL)
_NEGATED = {"=": "!=", "!=": "=", "=~": "!~", "!~": "=~"}


def number(value: float) -> str:
    """12 significant digits in the shortest form: ``1 - 0.999`` gives ``0.001``."""
    rounded = float(f"{value:.12g}")
    if rounded == 0.0:
        return "0"
    if rounded.is_integer() and abs(rounded) < 1e15:
        return str(int(rounded))
    return repr(rounded)


def string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def equals(name: str, value: str) -> str:
    return f"{name}={string(value)}"


def negate(matcher: str) -> str:
    """``!~"5.."`` from ``=~"5.."``."""
    match = _MATCHER.match(matcher)
    if not match:
        raise ValueError(
            f"cannot read the label matcher {matcher!r}; expected an operator (=, !=, =~, !~) "
            'and a double-quoted value, such as =~"5.."'
        )
    return f"{_NEGATED[match.group(1)]}{match.group(2)}"


def selector(metric: str, contract: MetricContract, *matchers: str) -> str:
    body = contract.matchers(*matchers)
    return f"{metric}{{{body}}}" if body else metric


def rate(metric: str, contract: MetricContract, *matchers: str) -> str:
    return f"rate({selector(metric, contract, *matchers)}[{RATE_INTERVAL}])"


def route_filter(contract: MetricContract) -> str:
    return f'{contract.route_label}=~"${ROUTE_VARIABLE}"'


def endpoint_matchers(endpoint: str | None, contract: MetricContract) -> list[str]:
    """'POST /v1/messages' -> route and method; '/v1/messages' -> route; None -> nothing."""
    if endpoint is None:
        return []
    parts = endpoint.split()
    if len(parts) == 1:
        return [equals(contract.route_label, parts[0])]
    if len(parts) == 2:
        return [equals(contract.route_label, parts[1]), equals(contract.method_label, parts[0])]
    raise ValueError(f"cannot read the endpoint {endpoint!r}; expected 'METHOD /route' or '/route'")


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
        f"histogram_quantile({number(quantile)}, "
        f"sum by ({c.route_label}, le) ({rate(bucket, c, route_filter(c))}))"
    )


def active_requests(c: MetricContract) -> str:
    return f"sum({selector(c.active_requests, c)})"


def cache_hit_ratio(c: MetricContract) -> str:
    hits = rate(c.cache_requests, c, equals(c.cache_result_label, CACHE_HIT))
    lookups = rate(c.cache_requests, c, f"{c.cache_result_label}{CACHE_LOOKUPS}")
    return f"sum({hits})\n/\nsum({lookups})"


def upstream_error_rate(c: MetricContract) -> str:
    return f"sum({rate(c.upstream_errors, c)})"


# --- SLOs ------------------------------------------------------------------------------------

def allowed_bad_ratio(objective: Objective) -> float:
    if isinstance(objective, LatencyObjective):
        return float(number(1.0 - objective.percentile / 100.0))
    return float(number(objective.allowed_bad_ratio))


def objective_latency(objective: LatencyObjective, c: MetricContract) -> str:
    """The objective's percentile of successful requests (as the run evaluator counts them)."""
    ok = f"{c.status_label}{negate(c.error_status_matcher)}"
    bucket = f"{c.request_duration}_bucket"
    where = endpoint_matchers(objective.endpoint, c)
    return (
        f"histogram_quantile({number(objective.percentile / 100.0)}, "
        f"sum by (le) ({rate(bucket, c, *where, ok)}))"
    )


def objective_error_ratio(objective: Objective, c: MetricContract) -> str:
    """Failed requests over all requests the objective selects (0 when none failed)."""
    negate(c.error_status_matcher)  # validates the matcher's form
    failed = f"{c.status_label}{c.error_status_matcher.strip()}"
    count = f"{c.request_duration}_count"
    where = endpoint_matchers(objective.endpoint, c)
    return (
        f"(\n  sum({rate(count, c, *where, failed)})\n  or vector(0)\n)\n"
        f"/\nsum({rate(count, c, *where)})"
    )


def objective_availability(objective: Objective, c: MetricContract) -> str:
    inner = objective_error_ratio(objective, c).replace("\n", "\n  ")
    return f"1 - (\n  {inner}\n)"


def constant(value: float) -> str:
    return f"vector({number(value)})"


def burn_rate_1h(objective: Objective, service: str) -> str:
    """The 1h burn rate from slogate's recording rule: bad ratio over the allowed bad ratio."""
    record = LATENCY_RECORD_1H if isinstance(objective, LatencyObjective) else RATIO_RECORD_1H
    labels = f"{equals('slo', objective.name)}, {equals('service', service)}"
    return f"{record}{{{labels}}}\n/\n{number(allowed_bad_ratio(objective))}"
