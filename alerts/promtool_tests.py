"""``promtool test rules`` unit tests, generated beside the rules from the same spec.

Synthetic series at a steady rate for every endpoint the spec names, in four scenarios:

- ``half-failing``: 50% of requests fail, all fast. Every error-ratio/availability burn alert
  whose threshold is under 50% fires, no latency alert does, the proxy 5xx alert fires.
- ``healthy``: no failures, all fast: no SLO alert and no 5xx alert.
- ``all-slow``: no failures, every request slower than every threshold: every latency burn
  alert whose threshold is under 100% fires, no error-budget alert does.
- ``proxy-trouble``: upstream errors at 10% of upstream requests and an open circuit breaker.

An objective read with a contract of its own, or with label matchers (``slo.spec.objective_contract``),
gets series of that contract's metrics with labels its selector picks (regex and negative matchers
too, ``alerts.synthetic``), beside the proxy's: every scenario's share of failed (slow) requests is
the same on all of them, so every SLI's expected value holds whichever series it reads.

The recorded SLIs are checked too (``promql_expr_test``), so a wrong recording rule shows as
such rather than as a missing alert. Bucket series are written the way Python's
prometheus_client writes them (``le="0.25"``, ``le="1.0"``), which the rules must match.

Objectives whose SLI is the user's own PromQL (``objective.sli``) get scenarios of their own
(``own-sli half-bad``, ``own-sli healthy``, ``own-sli all-slow``) fed with series of the user's own
metrics and labels their matchers pick (``alerts.query_series``): the alert fires when the user's
SLI burns. Those series never meet the contract's in one scenario, so neither side's expectations
depend on the other's metric names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from prometheus_client.utils import floatToGoString

from slogate.alerts import yamltext
from slogate.alerts.burn_alerts import BurnAlert
from slogate.alerts.conventions import (
    ERROR_BUDGET_BURN,
    LATENCY_BUDGET_BURN,
    PROXY_CIRCUIT_BREAKER_OPEN,
    PROXY_LATENCY_HIGH,
    PROXY_RATE_LIMITING_SPIKE,
    PROXY_SERVER_ERRORS,
    PROXY_TARGET_DOWN,
    PROXY_UPSTREAM_ERRORS,
    SLI_METRICS_ABSENT,
    VALUE,
    VALUE_PERCENT,
)
from slogate.alerts.plan import AlertPlan, SliPlan
from slogate.alerts.query_series import Group, Recipe, bad_ratios, recipe, series_for
from slogate.alerts.rulefmt import AlertingRule
from slogate.alerts.synthetic import labels_for
from slogate.slo import promql, query_sli
from slogate.slo.contract import MetricContract
from slogate.slo.sli import EventQueries, parse_selector
from slogate.slo.spec import Objective

TestData = dict[str, Any]
"""A piece of the promtool test document (``tests``, ``input_series``, ``exp_alerts``...)."""

INTERVAL = "1m"  # one synthetic sample a minute
STEPS = 80  # 80 minutes of samples
EVALUATION_INTERVAL = "5m"  # rules are evaluated less often than samples come: a faster test
EVAL_TIME = "1h10m"  # every window up to 1h is full; the longer ones hold 70 minutes: enough
HELD_AT_EVAL_TIME_S = 65 * 60.0
"""How long a steady condition has held at EVAL_TIME: true from the first evaluation whose
windows hold two samples (5m), so an alert with a longer ``for`` is still pending."""
PER_MINUTE = 30  # requests per minute of each synthetic series

_LABEL_TEMPLATE = re.compile(r"\{\{ \$labels\.([a-zA-Z_][a-zA-Z0-9_]*) \}\}")
_EQUALITY_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_MATCHER = re.compile(r'^\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_float_to_go: Callable[[float], str] = floatToGoString  # untyped in prometheus_client
_STATUS_CANDIDATES = ("500", "503", "502", "504", "429", "404", "400", "301", "200", "204")
_STATUS_CLASS_CANDIDATES = ("5xx", "4xx", "3xx", "2xx", "1xx", "other")


def humanize_percentage(value: float) -> str:
    """What Prometheus' ``humanizePercentage`` template function prints."""
    return f"{value * 100:.4g}%"


def render_template(text: str, value: float, labels: dict[str, str] | None = None) -> str:
    """Expand the templates the generated annotations use (``$value``, ``$labels.x``), as
    Prometheus would."""
    text = text.replace(VALUE_PERCENT, humanize_percentage(value)).replace(
        VALUE, promql.number(value)
    )
    return _LABEL_TEMPLATE.sub(lambda m: (labels or {}).get(m.group(1), ""), text)


def equality_labels(selector: str) -> dict[str, str]:
    """The labels ``absent(selector)`` returns: those of its equality matchers."""
    inner = selector.partition("{")[2].rpartition("}")[0]
    return {name: value for name, value in _EQUALITY_MATCHER.findall(inner)}


def selector_labels(contract: MetricContract) -> dict[str, str]:
    """Labels a synthetic series must carry for the contract's selector to pick it (any matcher:
    regex and negative too); a ValueError when its matchers cannot be read or met."""
    try:
        matchers = parse_selector(f"series{{{contract.selector}}}").matchers
        return labels_for(matchers)
    except ValueError as exc:
        raise ValueError(f"cannot synthesise test series for the contract selector "
                         f"{contract.selector!r}: {exc}") from None


def status_codes(contract: MetricContract) -> tuple[str, str]:
    """A successful and a failed status code, as the contract's error matcher sees them."""
    match = _MATCHER.match(contract.error_status_matcher)
    if not match:
        promql.negate(contract.error_status_matcher)  # raises the descriptive error
        raise AssertionError("unreachable")
    operator, value = match.groups()
    candidates = _STATUS_CLASS_CANDIDATES if contract.status_form == "class" else _STATUS_CANDIDATES
    if operator in ("=", "!="):
        hits = [code for code in candidates if code == value]
    else:
        pattern = re.compile(value)
        hits = [code for code in candidates if pattern.fullmatch(code)]
    if operator.startswith("!"):
        hits = [code for code in candidates if code not in hits]
    misses = [code for code in candidates if code not in hits]
    if not hits or not misses:
        raise ValueError(
            f"cannot find an error and a success status for the matcher "
            f"{contract.error_status_matcher!r} among {', '.join(candidates)}"
        )
    success = next((ok for ok in ("200", "2xx") if ok in misses), misses[0])
    return success, hits[0]


def synthetic_endpoints(objectives: Sequence[Objective]) -> list[tuple[str, str]]:
    """(method, route) for every endpoint the objectives name; GET / when they name none."""
    endpoints: list[tuple[str, str]] = []
    for objective in objectives:
        if objective.endpoint is None:
            continue
        parts = objective.endpoint.split()
        pair = (parts[0], parts[1]) if len(parts) == 2 else ("GET", parts[0])
        if pair not in endpoints:
            endpoints.append(pair)
    return endpoints or [("GET", "/")]


def prometheus_client_le(bound: float) -> str:
    """How Python's prometheus_client writes a bucket bound (``floatToGoString``)."""
    return _float_to_go(bound)


def _series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    return {"series": f"{metric}{{{promql.matchers_of(labels)}}}", "values": values}


def _events(metric: str, labels: dict[str, str], per_minute: float, counter: bool) -> dict[str, str]:
    """A counter rising by ``per_minute`` a minute, or a gauge holding it (events per sample)."""
    return _series(metric, labels, _counter(per_minute) if counter else _gauge(per_minute))


def _counter(per_step: float) -> str:
    return f"0+{promql.number(per_step)}x{STEPS}"


def _gauge(value: float) -> str:
    return f"{promql.number(value)}+0x{STEPS}"


def traffic_groups(plan: AlertPlan) -> dict[MetricContract, list[Objective]]:
    """The objectives whose requests each contract's series stand for: the proxy's contract
    (the health alerts read it) those of every objective read with it, the user's own SLIs'
    included (their endpoints as before); each other contract (an objective's own, or one with
    its matchers) those read with it."""
    others: dict[MetricContract, list[Objective]] = {}
    for planned in _contract_slis(plan):
        contract = planned.sli.contract
        if contract is not None and contract != plan.contract:
            others.setdefault(contract, []).append(planned.sli.objective)
    elsewhere = {o.name for objectives in others.values() for o in objectives}
    return {plan.contract: [o for o in plan.spec.objectives if o.name not in elsewhere], **others}


def _bounds(plan: AlertPlan, contract: MetricContract) -> list[float]:
    """The bucket bounds (seconds) to write for ``contract``'s histogram: every bound any rule
    reads of that histogram, so no SLI sees a series with its count and without its bucket."""
    if not contract.has_latency:
        return []
    bounds = {p.sli.bucket_s for p in _contract_slis(plan) if p.sli.bucket_s is not None
              and p.sli.contract is not None and p.sli.contract.request_bucket == contract.request_bucket}
    if plan.slow_request_bound is not None and plan.contract.request_bucket == contract.request_bucket:
        bounds.add(plan.slow_request_bound)
    return sorted(bounds)


def _traffic(plan: AlertPlan, *, failed_share: float, slow: bool) -> list[dict[str, str]]:
    """Requests of every contract's endpoints: ``failed_share`` of them failed, the successful
    ones fast or (``slow``) over every bucket bound."""
    return [one for contract, objectives in traffic_groups(plan).items()
            for one in _contract_traffic(contract, synthetic_endpoints(objectives),
                                         _bounds(plan, contract), failed_share=failed_share, slow=slow)]


def _contract_traffic(
    contract: MetricContract,
    endpoints: Sequence[tuple[str, str]],
    bounds: Sequence[float],
    *,
    failed_share: float,
    slow: bool,
) -> list[dict[str, str]]:
    base = selector_labels(contract)
    ok, error = status_codes(contract)
    failed = PER_MINUTE * failed_share
    succeeded = PER_MINUTE - failed
    series: list[dict[str, str]] = []
    histogram_count = f"{contract.request_duration}_count"
    for method, route in endpoints:
        labels = {**base, contract.route_label: route} if contract.route_label else dict(base)
        if contract.method_label:
            labels[contract.method_label] = method
        good = {**labels, contract.status_label: ok}
        series.append(_series(contract.request_count, good, _counter(succeeded)))
        if contract.has_latency:
            # The successful requests' latencies (a histogram without the status label has them too).
            observed = good if contract.latency_status else labels
            if histogram_count != contract.request_count:
                series.append(_series(histogram_count, observed, _counter(succeeded)))
            for bound in bounds:
                with_le = {**observed, "le": prometheus_client_le(contract.le(bound))}
                series.append(_series(
                    contract.request_bucket, with_le, _counter(0 if slow else succeeded)
                ))
        if failed:
            bad = {**labels, contract.status_label: error}
            series.append(_series(contract.request_count, bad, _counter(failed)))
    return series


def _fired(burn: BurnAlert, value: float, labels: dict[str, str] | None = None) -> TestData | None:
    """The alert ``burn`` raises when its SLI's bad ratio is ``value`` (None if it stays quiet)."""
    if value <= burn.active.threshold or burn.for_s > HELD_AT_EVAL_TIME_S:
        return None
    labels = {**(labels or {}), **burn.rule.labels}
    annotations = {k: render_template(v, value, labels) for k, v in burn.rule.annotations.items()}
    return {"exp_labels": labels, "exp_annotations": annotations}


def _expected_burns(burns: Sequence[BurnAlert], latency: bool, value: float) -> list[TestData]:
    fired = (_fired(burn, value) for burn in burns if burn.sli.latency == latency)
    return [alert for alert in fired if alert is not None]


def _burn_tests(plan: AlertPlan, values: dict[bool, float]) -> list[TestData]:
    """One alert test per burn-rate alert name of the contract's SLIs (slogate's two always), when
    the value of every ratio SLI is ``values[False]`` and of every latency SLI ``values[True]``.
    A name the user's own SLIs use too is left to their own scenarios."""
    theirs = {b.rule.alert for b in plan.burns if b.sli.query is not None}
    ours = {b.rule.alert for b in plan.burns if b.sli.query is None}
    tests = []
    for name in plan.burn_names:
        if name in ours | {ERROR_BUDGET_BURN, LATENCY_BUDGET_BURN} and name not in theirs:
            burns = [b for b in plan.burns if b.rule.alert == name]
            tests.append(_alert_test(name, [alert for latency in (False, True) for alert in
                                            _expected_burns(burns, latency, values[latency])]))
    return tests


def _expected_health(
    rule: AlertingRule | None, value: float, series_labels: dict[str, str]
) -> list[TestData]:
    if rule is None:  # the contract's proxy has no metric for it: nothing can fire
        return []
    annotations = {
        k: render_template(v, value, series_labels) for k, v in rule.annotations.items()
    }
    return [{"exp_labels": {**series_labels, **rule.labels}, "exp_annotations": annotations}]


def _sli_checks(slis: Sequence[SliPlan], values: dict[bool, float]) -> list[TestData]:
    checks = []
    for planned in slis:
        # The shortest window recorded for this SLI (an alert policy may not record 5m).
        recorded = planned.sli.recorded(min(planned.burn.record_windows_s))
        checks.append({
            "expr": recorded,
            "eval_time": EVAL_TIME,
            "exp_samples": [{
                "labels": recorded,
                "value": values[planned.sli.latency],
            }],
        })
    return checks


def _contract_slis(plan: AlertPlan) -> list[SliPlan]:
    return [planned for planned in plan.slis if planned.sli.query is None]


def _absent_test(plan: AlertPlan) -> list[TestData]:
    """No SLI's metrics are absent while the contract's traffic flows: checked only for a spec
    of contract SLIs (the user's own SLIs read other metrics, absent in these scenarios)."""
    if len(_contract_slis(plan)) < len(plan.slis):
        return []
    return [_alert_test(SLI_METRICS_ABSENT, [])]


def _absent_labels(planned: SliPlan) -> list[dict[str, str]]:
    """The label sets ``absent(a) or absent(b)`` returns when nothing is there: those of each
    selector's equality matchers, once each (none for an aggregation such as ``sum(…)``)."""
    sli = planned.sli
    if sli.query is None:
        return [equality_labels(sli.total_selector)]
    if not query_sli.selectors(sli.query):
        return [{}]
    found: list[dict[str, str]] = []
    for selector in sli.presence:
        labels = equality_labels(selector)
        if labels not in found:
            found.append(labels)
    return found


def _alert_test(name: str, expected: list[TestData]) -> TestData:
    return {"eval_time": EVAL_TIME, "alertname": name, "exp_alerts": expected}


def _health_rule(plan: AlertPlan, name: str) -> AlertingRule | None:
    """The health alert ``name``; None when the contract's metrics give none."""
    return next((rule for rule in plan.health if rule.alert == name), None)


def _half_failing(plan: AlertPlan) -> TestData:
    contract, health = plan.contract, plan.options.health
    half = 0.5
    # Every series of the proxy's request counter counts (an objective's matchers pick some of them).
    requests_per_minute = PER_MINUTE * sum(
        len(synthetic_endpoints(objectives)) for c, objectives in traffic_groups(plan).items()
        if c.request_count == contract.request_count)
    rate_limited = [_series(contract.rate_limited, selector_labels(contract),
                            _counter(requests_per_minute * half))] if contract.rate_limited else []
    server = _health_rule(plan, PROXY_SERVER_ERRORS)
    limiter = _health_rule(plan, PROXY_RATE_LIMITING_SPIKE)
    return {
        "name": "half-failing: 50% of requests fail, all fast; as many are rate-limited",
        "interval": INTERVAL,
        "input_series": [
            *_traffic(plan, failed_share=half, slow=False),
            *rate_limited,
        ],
        "promql_expr_test": _sli_checks(_contract_slis(plan), {False: half, True: 0.0}),
        "alert_rule_test": [
            *_burn_tests(plan, {False: half, True: 0.0}),
            _alert_test(
                PROXY_SERVER_ERRORS,
                _expected_health(server, half, {}) if half > health.server_error_ratio else [],
            ),
            _alert_test(
                PROXY_RATE_LIMITING_SPIKE,
                _expected_health(limiter, half, {}) if half > health.rate_limited_ratio else [],
            ),
        ],
    }


def _healthy(plan: AlertPlan) -> TestData:
    return {
        "name": "healthy: no failures, all fast",
        "interval": INTERVAL,
        "input_series": _traffic(plan, failed_share=0.0, slow=False),
        "promql_expr_test": _sli_checks(_contract_slis(plan), {False: 0.0, True: 0.0}),
        "alert_rule_test": [
            *_burn_tests(plan, {False: 0.0, True: 0.0}),
            _alert_test(PROXY_SERVER_ERRORS, []),
            _alert_test(PROXY_LATENCY_HIGH, []),
            _alert_test(PROXY_RATE_LIMITING_SPIKE, []),
            *_absent_test(plan),
        ],
    }


def _all_slow(plan: AlertPlan) -> TestData:
    slow = _health_rule(plan, PROXY_LATENCY_HIGH)
    return {
        "name": "all-slow: no failures, every request over its threshold",
        "interval": INTERVAL,
        "input_series": _traffic(plan, failed_share=0.0, slow=True),
        "promql_expr_test": _sli_checks(_contract_slis(plan), {False: 0.0, True: 1.0}),
        "alert_rule_test": [
            *_burn_tests(plan, {False: 0.0, True: 1.0}),
            _alert_test(PROXY_LATENCY_HIGH, _expected_health(slow, 1.0, {})
                        if plan.options.health.slow_request_ratio < 1.0 else []),
            *_absent_test(plan),
        ],
    }


def _proxy_trouble(plan: AlertPlan) -> TestData:
    contract, health = plan.contract, plan.options.health
    base = selector_labels(contract)
    upstream_share = 0.1
    open_state = health.breaker_open_state
    up_labels = {"job": "proxy", "instance": "127.0.0.1:8080", **base}
    absent = [
        {"exp_labels": {**labels, **planned.absent.labels},
         "exp_annotations": dict(planned.absent.annotations)}
        for planned in plan.slis for labels in _absent_labels(planned)
    ]
    return {
        "name": "proxy-trouble: 10% upstream errors, an open circuit breaker, the target "
                "down, no request metrics",
        "interval": INTERVAL,
        "input_series": [
            *([_series(contract.upstream_errors, base, _counter(PER_MINUTE * upstream_share)),
               _series(f"{contract.upstream_duration}_count", base, _counter(PER_MINUTE))]
              if contract.upstream_errors and contract.upstream_duration else []),
            *([_series(contract.circuit_breaker_state, base, _gauge(open_state))]
              if contract.circuit_breaker_state else []),
            _series("up", up_labels, _gauge(0)),
        ],
        "alert_rule_test": [
            _alert_test(
                PROXY_UPSTREAM_ERRORS,
                _expected_health(_health_rule(plan, PROXY_UPSTREAM_ERRORS), upstream_share, {})
                if upstream_share > health.upstream_error_ratio else [],
            ),
            _alert_test(PROXY_CIRCUIT_BREAKER_OPEN, _expected_health(
                _health_rule(plan, PROXY_CIRCUIT_BREAKER_OPEN), open_state, base)),
            _alert_test(PROXY_TARGET_DOWN, _expected_health(
                _health_rule(plan, PROXY_TARGET_DOWN), 0, up_labels)),
            _alert_test(SLI_METRICS_ABSENT, absent),
        ],
    }


OWN_SCENARIOS = (
    ("own-sli half-bad: half of the events of each SLO's own ratio SLI are bad, its latency SLIs fast",
     {False: 0.5, True: 0.0}),
    ("own-sli healthy: no bad event", {False: 0.0, True: 0.0}),
    ("own-sli all-slow: every observation of each SLO's own latency SLI over its bucket",
     {False: 0.0, True: 1.0}),
)


def own_recipes(plan: AlertPlan) -> tuple[dict[str, Recipe], dict[str, str]]:
    """The synthesis recipe of each objective with its own SLI, and why the others have none."""
    recipes: dict[str, Recipe] = {}
    missing: dict[str, str] = {}
    for planned in plan.slis:
        if planned.sli.query is not None:
            try:
                recipes[planned.sli.name] = recipe(planned.sli.query)
            except ValueError as exc:
                missing[planned.sli.name] = str(exc)
    return recipes, missing


def _own_scenarios(plan: AlertPlan) -> list[TestData]:
    """Scenarios over the series of the user's own SLIs (those that can be synthesised). What
    each SLI records and which alerts fire is worked out over all the scenario's series (one SLI's
    series may be another's too when they read one metric); an alert name that SLIs without
    series here use too is not checked."""
    recipes, _ = own_recipes(plan)
    covered = [p for p in plan.slis if p.sli.name in recipes]
    others = {b.rule.alert for b in plan.burns if b.sli.name not in recipes}
    names = [n for n in plan.burn_names if n not in others
             and any(b.rule.alert == n for b in plan.burns)]
    scenarios = []
    for title, values in OWN_SCENARIOS if covered else ():
        series = [one for p in covered for one in series_for(
            recipes[p.sli.name], values[p.sli.latency], PER_MINUTE)]
        ratios = {p.sli.name: bad_ratios(recipes[p.sli.name], series,
                                         fallback=not isinstance(p.sli.query, EventQueries))
                  for p in covered}
        alerts = [_alert_test(name, [fired for burn in plan.burns if burn.rule.alert == name
                                     for group, ratio in ratios[burn.sli.name].items()
                                     if (fired := _fired(burn, ratio, dict(group))) is not None])
                  for name in names]
        scenarios.append({
            "name": title,
            "interval": INTERVAL,
            "input_series": [_events(one.metric, one.labels, one.per_minute, one.counter)
                             for one in series],
            "promql_expr_test": [_own_sli_check(p, ratios[p.sli.name]) for p in covered],
            "alert_rule_test": alerts,
        })
    return scenarios


def _own_sli_check(planned: SliPlan, ratios: dict[Group, float]) -> TestData:
    window = min(planned.burn.record_windows_s)
    name = planned.sli.record(window)
    return {
        "expr": planned.sli.recorded(window),
        "eval_time": EVAL_TIME,
        "exp_samples": [{"labels": f"{name}{{{promql.matchers_of({**dict(group), **planned.sli.labels})}}}",
                         "value": ratio} for group, ratio in ratios.items()],
    }


def build_rule_tests(plan: AlertPlan, rule_file: str) -> TestData:
    """The ``promtool test rules`` document for the rules of ``plan`` stored at ``rule_file``.

    A ValueError when the series of a user's SLI cannot be synthesised for its matchers (a regex
    no value of which could be found)."""
    return {
        "rule_files": [rule_file],
        "evaluation_interval": EVALUATION_INTERVAL,
        "tests": [_half_failing(plan), _healthy(plan), _all_slow(plan), _proxy_trouble(plan),
                  *_own_scenarios(plan)],
    }


def render_rule_tests(plan: AlertPlan, rules_path: Path, test_dir: Path) -> str:
    """The test file as YAML; ``rule_files`` names ``rules_path`` relative to ``test_dir``."""
    try:
        rule_file = os.path.relpath(rules_path.resolve(), test_dir.resolve())
    except ValueError:  # another drive on Windows
        rule_file = str(rules_path.resolve())
    header = (f"promtool unit tests for the rules of {plan.spec.service}, generated by slogate "
              f"from {plan.spec.source}.\nRun: promtool test rules <this file>")
    _, missing = own_recipes(plan)
    for name, why in missing.items():
        header += f"\nNo synthetic series for SLO {name!r} (its rules are checked by promtool only): {why}"
    return yamltext.dump(build_rule_tests(plan, rule_file), header)
