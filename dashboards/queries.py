"""PromQL of the dashboard panels, from the metric contracts and the SLO spec.

Every ``rate()`` reads ``[$__rate_interval]`` so panels follow the scrape interval and the zoom.
The SLO burn-rate, budget and would-fire panels read slogate's recording rules (written by
``slogate alerts``, named in ``slo.promql``): the dashboard shows the very numbers the burn-rate
alerts compare. The dashboards may not import ``alerts``; what both need is in ``slo.promql``.
"""

from __future__ import annotations

from slogate.slo import promql, query_sli
from slogate.slo.contract import LoadTestContract, MetricContract, ObservabilityLabels
from slogate.slo.sli import HistogramLatency, QuantileThreshold
from slogate.slo.spec import LatencyObjective, Objective

RATE_INTERVAL = "$__rate_interval"
DATASOURCE_VARIABLE = "datasource"
ROUTE_VARIABLE = "route"
METHOD_VARIABLE = "method"
INSTANCE_VARIABLE = "instance"
ENDPOINT_VARIABLE = "endpoint"

LATENCY_QUANTILES = (0.5, 0.95, 0.99)
STATUS_CLASS_LABEL = "status_class"
ERROR_STATUS_CLASSES = '=~"[45].."'
ERROR_STATUS_CLASS_NAMES = ("4xx", "5xx")
CACHE_HIT = "hit"
CACHE_LOOKUPS = '=~"hit|miss"'  # 'bypass' is traffic the cache may not serve: not a miss
LABELS = ObservabilityLabels()


def selector(metric: str, contract: MetricContract, *matchers: str) -> str:
    """``metric{…}`` with the contract's selector and ``matchers``."""
    return promql.selector(metric, contract.matchers(*matchers))


def rate(metric: str, contract: MetricContract, *matchers: str) -> str:
    return f"rate({selector(metric, contract, *matchers)}[{RATE_INTERVAL}])"


def _filter(label: str, variable: str) -> str:
    return f'{promql.label_name(label)}=~"${variable}"'


def route_filters(c: MetricContract) -> list[str]:
    """The route variable's filter; none when the proxy has no route label."""
    return [_filter(c.route_label, ROUTE_VARIABLE)] if c.route_label else []


def instance_filter() -> str:
    return _filter(LABELS.instance_label, INSTANCE_VARIABLE)


def request_filters(c: MetricContract) -> list[str]:
    """Route, method and instance (those the proxy has): the filters of its request metrics."""
    method = [_filter(c.method_label, METHOD_VARIABLE)] if c.method_label else []
    return [*route_filters(c), *method, instance_filter()]


def by_route(c: MetricContract) -> str:
    """``sum by (route)`` or plain ``sum`` when the proxy has no route label."""
    return f"sum by ({c.route_label})" if c.route_label else "sum"


# --- Proxy overview ---------------------------------------------------------------------------

def request_rate_by_route(c: MetricContract) -> str:
    return f"{by_route(c)} ({rate(c.request_count, c, *request_filters(c))})"


def error_ratio_by_status_class(c: MetricContract) -> str:
    """4xx and 5xx shares of all requests; a class with no error at all shows as 0."""
    count = c.request_count
    failed = f"{c.status_label}{ERROR_STATUS_CLASSES}"
    classes = (
        f'label_replace({rate(count, c, *request_filters(c), failed)}, "{STATUS_CLASS_LABEL}", '
        f'"${{1}}xx", "{c.status_label}", "([0-9]).*")'
    )
    zeros = " or ".join(
        f'label_replace(vector(0), "{STATUS_CLASS_LABEL}", "{name}", "", "")'
        for name in ERROR_STATUS_CLASS_NAMES
    )
    return (
        f"(\n  sum by ({STATUS_CLASS_LABEL}) ({classes})\n  or {zeros}\n)\n"
        f"/ ignoring({STATUS_CLASS_LABEL}) group_left\n"
        f"sum({rate(count, c, *request_filters(c))})"
    )


def latency_quantile_by_route(c: MetricContract, quantile: float) -> str:
    by = ", ".join([*([c.route_label] if c.route_label else []), "le"])
    return (
        f"histogram_quantile({promql.number(quantile)}, "
        f"sum by ({by}) ({rate(c.request_bucket, c, *request_filters(c))}))"
    )


def upstream_latency_quantile(c: MetricContract, quantile: float) -> str:
    bucket = f"{c.upstream_duration}_bucket"
    return (
        f"histogram_quantile({promql.number(quantile)}, "
        f"sum by (le) ({rate(bucket, c, *route_filters(c), instance_filter())}))"
    )


def upstream_error_rate_by_reason(c: MetricContract) -> str:
    reason = promql.label_name(LABELS.upstream_error_reason_label)
    return f"sum by ({reason}) ({rate(c.upstream_errors, c, instance_filter())})"


def circuit_breaker_state(c: MetricContract) -> str:
    upstream = promql.label_name(LABELS.circuit_breaker_upstream_label)
    return f"max by ({upstream}) ({selector(c.circuit_breaker_state, c, instance_filter())})"


def active_requests(c: MetricContract) -> str:
    return f"sum({selector(c.active_requests, c, instance_filter())})"


def cache_hit_ratio(c: MetricContract) -> str:
    hits = rate(c.cache_requests, c, promql.equals(c.cache_result_label, CACHE_HIT), instance_filter())
    lookups = rate(c.cache_requests, c, f"{c.cache_result_label}{CACHE_LOOKUPS}", instance_filter())
    return f"sum({hits})\n/\nsum({lookups})"


def rate_limited_by_route(c: MetricContract) -> str:
    return f"{by_route(c)} ({rate(c.rate_limited, c, *route_filters(c), instance_filter())})"


def llm_tokens_by_type(c: MetricContract) -> str:
    return (f"sum by ({promql.label_name(c.token_type_label)}) "
            f"({rate(c.llm_tokens, c, instance_filter())})")


# --- SLOs -------------------------------------------------------------------------------------

def objective_latency(objective: LatencyObjective, c: MetricContract) -> str:
    """The objective's percentile of successful requests (as the run evaluator counts them); of
    the user's own histogram, or their quantile query as written, when the SLI is theirs."""
    if isinstance(objective.sli, QuantileThreshold):
        return objective.sli.query
    if objective.sli is not None:
        sli = query_sli.ratio_sli(objective.sli)
        if isinstance(sli, HistogramLatency):
            by = ", ".join(("le", *sli.grouping))
            return (f"histogram_quantile({promql.number(objective.percentile / 100.0)}, "
                    f"sum by ({by}) (rate({sli.good.without('le')}[{RATE_INTERVAL}])))")
    bucket = c.request_bucket
    succeeded = promql.latency_matchers(objective, c)
    return (
        f"histogram_quantile({promql.number(objective.percentile / 100.0)}, "
        f"sum by (le) ({rate(bucket, c, *succeeded)}))"
    )


def objective_error_ratio(objective: Objective, c: MetricContract) -> str:
    """Failed requests over all requests the objective selects (0 when none failed); the user's
    own SLI as written when it is theirs."""
    if objective.sli is not None:
        return query_sli.bad_ratio(objective.sli, RATE_INTERVAL)
    failed, total = promql.error_selectors(objective, c)
    return promql.error_ratio(failed, total, RATE_INTERVAL)


def objective_availability(objective: Objective, c: MetricContract) -> str:
    inner = objective_error_ratio(objective, c).replace("\n", "\n  ")
    return f"1 - (\n  {inner}\n)"


def constant(value: float) -> str:
    return f"vector({promql.number(value)})"


# --- Load test --------------------------------------------------------------------------------



def endpoint_filter(lt: LoadTestContract) -> str:
    return _filter(lt.endpoint_label, ENDPOINT_VARIABLE)


def loadtest_users(lt: LoadTestContract) -> str:
    return f"sum({lt.users})"


def loadtest_target_users(lt: LoadTestContract) -> str:
    return f"max({lt.target_users})"


def loadtest_achieved_rate(lt: LoadTestContract) -> str:
    count = promql.selector(f"{lt.request_duration}_count", endpoint_filter(lt))
    return f"sum(rate({count}[{RATE_INTERVAL}]))"


def loadtest_target_rate(lt: LoadTestContract) -> str:
    return f"max({lt.target_rate})"


def loadtest_latency_quantile(lt: LoadTestContract, quantile: float) -> str:
    bucket = promql.selector(f"{lt.request_duration}_bucket", endpoint_filter(lt))
    return (f"histogram_quantile({promql.number(quantile)}, "
            f"sum by ({lt.endpoint_label}, le) (rate({bucket}[{RATE_INTERVAL}])))")


def loadtest_failures_by_kind(lt: LoadTestContract) -> str:
    failures = promql.selector(lt.failures, endpoint_filter(lt))
    # 0 rather than no data while nothing has failed.
    return f"sum by ({lt.kind_label}) (rate({failures}[{RATE_INTERVAL}]))\nor vector(0)"


def loadtest_dispatch(lt: LoadTestContract, metric: str) -> str:
    return f"sum(rate({metric}[{RATE_INTERVAL}]))\nor vector(0)"


def loadtest_generator_cpu(lt: LoadTestContract) -> str:
    return f"max by ({lt.process_label}) ({lt.generator_cpu})"
