"""Synthetic input series for an SLI given in the user's own PromQL (``slo.sli``), for the promtool
tests: series of the user's metrics, with labels their matchers pick (``alerts.synthetic``), at
rates that make the SLI's bad-event ratio what a test scenario wants.

An SLI is a numerator (bad or good events) over a total. When both read one metric, the
numerator's series has labels both selectors pick and the rest of the traffic a series the total
picks and the numerator does not; when they read different metrics (a histogram's bucket over its
count, errors over requests) each gets its own series. Event queries are read the same way when
each is one ``rate``/``irate``/``increase`` (or ``sum_over_time``) of one selector over
``{{.window}}``; other queries (a precomputed ratio) cannot be synthesised, and ``recipe`` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slogate.alerts.synthetic import accepts, labels_for, refusable
from slogate.slo.sli import (
    CounterRatio,
    ErrorRatioQuery,
    EventQueries,
    HistogramLatency,
    QuerySli,
    Selector,
    parse_selector,
)

GROUP_VALUE = "synthetic"
"""The value of a grouping label no matcher fixes: every synthetic series is in one group."""

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
_RANGE = re.compile(
    rf"\b(rate|irate|increase|sum_over_time)\s*\(\s*({_NAME}\s*(?:\{{(?:{_STRING}|[^{{}}\"'`])*\}})?)"
    r"\s*\[\s*\{\{\.window\}\}\s*\]\s*\)", re.S)
_BY = re.compile(r"\bby\s*\(([^)]*)\)")


@dataclass(frozen=True)
class Recipe:
    """How to feed an SLI: ``numerator`` (good when ``good``) over ``total``; counters or gauges."""

    numerator: Selector
    total: Selector
    good: bool
    counter: bool = True
    grouping: tuple[str, ...] = ()


def recipe(sli: QuerySli) -> Recipe:
    """The recipe of ``sli``; ValueError saying why when its series cannot be synthesised."""
    if isinstance(sli, CounterRatio):
        numerator = sli.bad if sli.bad is not None else sli.good
        assert numerator is not None  # CounterRatio has exactly one of them
        return Recipe(numerator, sli.total, sli.bad is None, sli.counter, sli.grouping)
    if isinstance(sli, HistogramLatency):
        return Recipe(sli.good, sli.total, True, True, sli.grouping)
    if isinstance(sli, EventQueries):
        query = sli.bad if sli.bad is not None else sli.good
        numerator, counter = _one_range(query or "")
        total, total_counter = _one_range(sli.total)
        if counter != total_counter:
            raise ValueError("the event queries mix rates and sums of samples")
        grouping = _BY.search(sli.total)
        labels = tuple(g.strip() for g in grouping.group(1).split(",") if g.strip()) if grouping else ()
        return Recipe(numerator, total, sli.bad is None, counter, labels)
    if isinstance(sli, ErrorRatioQuery):
        raise ValueError("a precomputed error-ratio query names no event counters to synthesise")
    raise ValueError("a quantile threshold is no ratio of events")


def _one_range(query: str) -> tuple[Selector, bool]:
    found = _RANGE.findall(query)
    if len(found) != 1:
        raise ValueError(f"expected one rate()/increase() of one selector over {{{{.window}}}} in "
                         f"{query!r}, found {len(found)}")
    function, text = found[0]
    return parse_selector(text), function != "sum_over_time"


@dataclass(frozen=True)
class Synthetic:
    """One synthetic series: a counter rising ``per_minute`` a minute, or a gauge holding it."""

    metric: str
    labels: dict[str, str]
    per_minute: float
    counter: bool = True


def series_for(recipe: Recipe, bad_share: float, per_minute: float) -> list[Synthetic]:
    """The series that give ``recipe``'s SLI a bad-event ratio of ``bad_share`` at ``per_minute``
    events a minute (series at rate 0 too: a query over no series is no 0)."""
    group = {label: GROUP_VALUE for label in recipe.grouping}
    numerator_rate = per_minute * ((1.0 - bad_share) if recipe.good else bad_share)
    num, total = recipe.numerator, recipe.total
    if num.metric == total.metric:
        picked = labels_for((*num.matchers, *total.matchers), extra=group)
        rest = labels_for(total.matchers, refusable(num, total), extra=group)
        return [Synthetic(num.metric, picked, numerator_rate, recipe.counter),
                Synthetic(total.metric, rest, per_minute - numerator_rate, recipe.counter)]
    total_labels = labels_for(total.matchers, extra=group)
    picked = labels_for(num.matchers, extra=total_labels)
    return [Synthetic(total.metric, total_labels, per_minute, recipe.counter),
            Synthetic(num.metric, picked, numerator_rate, recipe.counter)]


def _picks(selector: Selector, series: Synthetic) -> bool:
    return series.metric == selector.metric and all(
        accepts(m, series.labels.get(m.label, "")) for m in selector.matchers)


Group = tuple[tuple[str, str], ...]
"""The grouping labels of one recorded ratio (those the series have), in grouping order."""


def bad_ratios(recipe: Recipe, series: list[Synthetic], fallback: bool = True) -> dict[Group, float]:
    """The SLI's bad-event ratio per group over ``series``, as its recording rule computes it
    (Prometheus sums every series a selector picks, other SLIs' included). ``fallback``: a group
    with traffic and no numerator series is 0 bad (the counter ratios' ``or``); else it has none."""
    def sums(selector: Selector) -> dict[Group, float]:
        found: dict[Group, float] = {}
        for one in series:
            if _picks(selector, one):
                key = tuple((g, one.labels[g]) for g in recipe.grouping if one.labels.get(g))
                found[key] = found.get(key, 0.0) + one.per_minute
        return found

    numerator, total = sums(recipe.numerator), sums(recipe.total)
    ratios: dict[Group, float] = {}
    for key, all_events in total.items():
        if all_events <= 0.0 or (key not in numerator and not fallback):
            continue
        share = numerator.get(key, 0.0) / all_events
        ratios[key] = 1.0 - share if recipe.good else share
    return ratios
