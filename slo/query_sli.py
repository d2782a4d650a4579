"""A server-side SLI given in the user's own PromQL (``slo.sli``) as PromQL over a window: the
bad-event ratio the recording rules, the dashboards and the burn rates read, written from the
user's queries and selectors verbatim (only Sloth's ``{{.window}}`` is replaced by the window).

- ``EventQueries``: ``(bad) / (total)``, or ``1 - (good) / (total)``, each query as written;
- ``ErrorRatioQuery``: the query as written;
- ``CounterRatio``: ``sum [by (grouping)] (rate(selector[w]))`` of bad (or good) over total, or
  ``sum_over_time`` for gauges of events per sample (``counter: false``);
- ``HistogramLatency``: ``1 - good / total`` (the bucket ``le`` as written over the observations).

When the numerator has no series (no error yet) the ratio falls back to 0 for counter ratios and
histograms (``or vector(0)``, or ``0 * total`` per group when grouped), as for the contract's SLIs.

A ``QuantileThreshold`` (``histogram_quantile(q, sum by (le) (rate(h_bucket{…}[r]))) <= T``) is
read as the budget it states (``ratio_sli``): the q-quantile is at most T exactly when at least q
of the observations are in the bucket ``le=T``, so its bad events are the observations of the same
series over T (T must be a bucket bound: the absent alert watches that bucket). A quantile query of
another shape is ``UnsupportedSli``. Imports ``slo`` only.
"""

from __future__ import annotations

import re

from slogate.slo.promql import le_pattern
from slogate.slo.sli import (
    WINDOW,
    CounterRatio,
    ErrorRatioQuery,
    EventQueries,
    HistogramLatency,
    Matcher,
    QuantileThreshold,
    QuerySli,
    Selector,
    parse_selector,
)

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
_QUANTILE_OF_BUCKETS = re.compile(
    rf"^\s*histogram_quantile\s*\(\s*[0-9.eE+-]+\s*,\s*sum\s*(?:by\s*\(([^)]*)\))?\s*\(\s*"
    rf"(?:rate|irate|increase)\s*\(\s*({_NAME}_bucket\s*(?:\{{(?:{_STRING}|[^{{}}\"'`])*\}})?)\s*"
    rf"\[[^\]]+\]\s*\)\s*\)\s*(?:by\s*\(([^)]*)\))?\s*\)\s*$", re.S)
_MILLISECONDS = re.compile(r"(_milliseconds|_ms)_bucket$")


class UnsupportedSli(ValueError):
    """An SLI a command cannot turn into the PromQL it needs (a quantile threshold as a ratio)."""


def with_window(query: str, window: str) -> str:
    """The query with Sloth's ``{{.window}}`` replaced by ``window`` ('5m', '$__rate_interval')."""
    return query.replace(WINDOW, window)


def grouping(sli: QuerySli) -> tuple[str, ...]:
    """The labels the SLI keeps (one ratio per group); none for event and ratio queries."""
    return sli.grouping if isinstance(sli, CounterRatio | HistogramLatency) else ()


def _by(labels: tuple[str, ...]) -> str:
    return f" by ({', '.join(labels)})" if labels else ""


def _sum(selector: Selector, window: str, counter: bool, labels: tuple[str, ...]) -> str:
    function = "rate" if counter else "sum_over_time"
    return f"sum{_by(labels)} ({function}({selector}[{window}]))"


def _share(numerator: str, total: str, labels: tuple[str, ...]) -> str:
    """numerator / total, 0 (per group) where the numerator has no series."""
    zero = f"0 * {total}" if labels else "vector(0)"
    return f"(\n  {numerator}\n  or {zero}\n)\n/\n{total}"


def ratio_sli(sli: QuerySli) -> QuerySli:
    """``sli`` as a ratio of events: a quantile threshold over a histogram's buckets as the share
    of its observations over the threshold's bucket; UnsupportedSli for another quantile query."""
    if not isinstance(sli, QuantileThreshold):
        return sli
    found = _QUANTILE_OF_BUCKETS.match(sli.query)
    if found is None:
        raise UnsupportedSli(quantile_refusal(sli))
    by = found.group(1) if found.group(1) is not None else found.group(3) or ""
    grouping = tuple(g.strip() for g in by.split(",") if g.strip() and g.strip() != "le")
    bucket = parse_selector(found.group(2)).without("le")
    milliseconds = _MILLISECONDS.search(bucket.metric) is not None
    bound = sli.value_s * 1000.0 if milliseconds else sli.value_s
    le = le_pattern(bound)
    good = Selector(bucket.metric, (*bucket.matchers, Matcher("le", "=~", le)))
    total = Selector(bucket.metric.removesuffix("_bucket") + "_count", bucket.matchers)
    return HistogramLatency(good=good, total=total, le=le, threshold_s=sli.value_s,
                            unit="ms" if milliseconds else "s", grouping=grouping)


def bad_ratio(sli: QuerySli, window: str) -> str:
    """The bad-event ratio of ``sli`` over ``window`` (a duration or ``$__rate_interval``)."""
    sli = ratio_sli(sli)
    if isinstance(sli, EventQueries):
        total = with_window(sli.total, window)
        if sli.bad is not None:
            return f"(\n  {with_window(sli.bad, window)}\n)\n/\n(\n  {total}\n)"
        return f"1 - (\n  (\n    {with_window(sli.good or '', window)}\n  )\n  /\n  (\n    {total}\n  )\n)"
    if isinstance(sli, ErrorRatioQuery):
        return with_window(sli.ratio, window)
    if isinstance(sli, CounterRatio):
        total = _sum(sli.total, window, sli.counter, sli.grouping)
        if sli.bad is not None:
            return _share(_sum(sli.bad, window, sli.counter, sli.grouping), total, sli.grouping)
        good = _share(_sum(sli.good or sli.total, window, sli.counter, sli.grouping), total, sli.grouping)
        return "1 - (\n  " + good.replace("\n", "\n  ") + "\n)"
    if isinstance(sli, HistogramLatency):
        total = _sum(sli.total, window, True, sli.grouping)
        good = _share(_sum(sli.good, window, True, sli.grouping), total, sli.grouping)
        return "1 - (\n  " + good.replace("\n", "\n  ") + "\n)"
    raise UnsupportedSli(quantile_refusal(sli))


def quantile_refusal(sli: QuantileThreshold) -> str:
    return (f"the quantile query {sli.query!r} is not histogram_quantile(q, sum by (le) "
            "(rate(<histogram>_bucket{…}[range]))), so it cannot be read as the share of "
            "observations under the threshold that a burn rate needs")


def total_expr(sli: QuerySli, window: str) -> str:
    """The query of all events over ``window``: absent when the SLI has no data."""
    sli = ratio_sli(sli)
    if isinstance(sli, EventQueries):
        return with_window(sli.total, window)
    if isinstance(sli, ErrorRatioQuery):
        return with_window(sli.ratio, window)
    if isinstance(sli, CounterRatio | HistogramLatency):
        return str(sli.total)
    raise UnsupportedSli(quantile_refusal(sli))


def selectors(sli: QuerySli) -> tuple[Selector, ...]:
    """The series selectors the SLI names outright (for absent checks): the bucket of a histogram
    latency too, which catches a bound the exporter does not have."""
    sli = ratio_sli(sli)
    if isinstance(sli, CounterRatio):
        return (sli.total,)
    if isinstance(sli, HistogramLatency):
        return (sli.total, sli.good)
    return ()
