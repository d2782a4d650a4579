"""Server-side SLIs given as PromQL, kept as the user wrote them (Sloth, Pyrra and OpenSLO imports).

An objective built from the metric contract (``slo.contract``) needs none of this: its queries
are derived from the contract. An objective imported from a spec that names its own metrics
carries one of the SLIs below instead, so rules, dashboards and ``gate --prometheus`` can query
exactly the series the user meant (any metric name, any matcher: regex and negative too):

- ``EventQueries``: bad (or good) and total event queries with a ``{{.window}}`` placeholder for
  the range (Sloth's ``events``); the SLI over a window is bad / total;
- ``ErrorRatioQuery``: one query of the bad ratio over ``{{.window}}`` (Sloth's ``raw``);
- ``CounterRatio``: bad (or good) over total, each a selector of one counter with its matchers
  (Pyrra's ``ratio``, OpenSLO's ``ratioMetric``); ``counter: False`` means the series are gauges of
  events per sample, summed over the window instead of increased;
- ``HistogramLatency``: the share of a histogram's observations at most a bucket bound (Pyrra's
  ``latency``, OpenSLO's ratio of ``_bucket{le=…}`` over ``_count``), seconds or milliseconds;
- ``QuantileThreshold``: a quantile query compared with a value (OpenSLO's ``thresholdMetric``).

``AlertOverrides`` keeps what the user said about the alerts (names, labels, annotations, which
tiers), for the alert rules to honour. This module imports only the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

WINDOW = "{{.window}}"
"""The range placeholder of event and ratio queries (Sloth's): replaced by '5m', '1h', '30d'..."""

MatchOp = Literal["=", "!=", "=~", "!~"]

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
_MATCHER = re.compile(rf"\s*({_LABEL})\s*(=~|!~|!=|=)\s*({_STRING})\s*(,|$)", re.S)
_SELECTOR = re.compile(rf"^\s*({_NAME})?\s*(?:\{{(.*)\}})?\s*$", re.S)


@dataclass(frozen=True)
class Matcher:
    """One label matcher, its value unquoted (``code=~"5..|429"`` is code, =~, 5..|429)."""

    label: str
    op: MatchOp
    value: str

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{escaped}"'


@dataclass(frozen=True)
class Selector:
    """A series selector: a metric name and its matchers, in the order written."""

    metric: str
    matchers: tuple[Matcher, ...] = ()

    def __str__(self) -> str:
        return f"{self.metric}{{{', '.join(str(m) for m in self.matchers)}}}" if self.matchers \
            else self.metric

    def without(self, label: str) -> Selector:
        """The selector without the matchers on ``label`` (a histogram's ``le``)."""
        return Selector(self.metric, tuple(m for m in self.matchers if m.label != label))

    def value_of(self, label: str) -> str | None:
        """The value of the equality matcher on ``label``, if there is one."""
        return next((m.value for m in self.matchers if m.label == label and m.op == "="), None)


def parse_selector(text: str) -> Selector:
    """A selector from its PromQL text (``metric{a="b", c=~"d"}``); ValueError if it is not one."""
    match = _SELECTOR.match(text)
    if match is None or not match.group(1):
        raise ValueError(f"expected a series selector such as metric{{label=\"value\"}}, got {text!r}")
    body = match.group(2) or ""
    matchers: list[Matcher] = []
    position = 0
    while body[position:].strip():
        found = _MATCHER.match(body, position)
        if found is None:
            raise ValueError(f"cannot read the label matchers of {text!r} from {body[position:]!r}")
        label, op, quoted = found.group(1), found.group(2), found.group(3)
        matchers.append(Matcher(label, op, _unquote(quoted)))  # type: ignore[arg-type]
        position = found.end()
    if any(m.label == "__name__" for m in matchers):
        raise ValueError(f"a selector naming its metric in __name__ is not supported: {text!r}")
    return Selector(match.group(1), tuple(matchers))


def _unquote(quoted: str) -> str:
    if quoted.startswith("`"):
        return quoted[1:-1]
    inner = quoted[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), inner)


@dataclass(frozen=True)
class EventQueries:
    """Bad (or good) and total event counts over ``{{.window}}``, each a PromQL query as written."""

    total: str
    bad: str | None = None
    good: str | None = None
    kind: Literal["events"] = "events"

    def __post_init__(self) -> None:
        if (self.bad is None) == (self.good is None):
            raise ValueError("event queries need exactly one of bad and good")


@dataclass(frozen=True)
class ErrorRatioQuery:
    """The bad-event ratio over ``{{.window}}`` as one PromQL query, as written."""

    ratio: str
    kind: Literal["error_ratio_query"] = "error_ratio_query"


@dataclass(frozen=True)
class CounterRatio:
    """Bad (or good) events over total events, each one metric's series with their matchers.

    ``counter`` False: the series are gauges holding event counts per sample (OpenSLO's
    ``counter: false``), summed over a window instead of increased. ``grouping`` labels are kept
    on the recorded SLI (Pyrra's ``grouping``): one ratio per group.
    """

    total: Selector
    bad: Selector | None = None
    good: Selector | None = None
    counter: bool = True
    grouping: tuple[str, ...] = ()
    kind: Literal["counter_ratio"] = "counter_ratio"

    def __post_init__(self) -> None:
        if (self.bad is None) == (self.good is None):
            raise ValueError("a counter ratio needs exactly one of bad and good")


@dataclass(frozen=True)
class HistogramLatency:
    """The share of a histogram's observations at most ``le`` (its bucket bound as written, in
    the histogram's ``unit``) among the observations ``total`` selects.

    ``good`` selects the bucket series (``…_bucket`` with its matchers, ``le`` included) and
    ``total`` the observations (``…_count``, or the ``+Inf`` bucket); both as written.
    """

    good: Selector
    total: Selector
    le: str
    threshold_s: float
    unit: Literal["s", "ms"] = "s"
    grouping: tuple[str, ...] = ()
    kind: Literal["histogram_latency"] = "histogram_latency"


@dataclass(frozen=True)
class QuantileThreshold:
    """A quantile query (``histogram_quantile(0.99, …)``) compared with ``op`` and ``value_s``."""

    query: str
    quantile: float
    op: Literal["lt", "lte"]
    value_s: float
    kind: Literal["quantile_threshold"] = "quantile_threshold"


QuerySli = EventQueries | ErrorRatioQuery | CounterRatio | HistogramLatency | QuantileThreshold
"""A server-side SLI in the user's own PromQL."""


@dataclass(frozen=True)
class TierOverrides:
    """What the user said about one alert tier (page or ticket)."""

    disabled: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    severity: str | None = None
    """The ``severity`` label asked for this tier (Pyrra's severities; Sloth's is in ``labels``)."""


@dataclass(frozen=True)
class AlertOverrides:
    """The user's wishes for an objective's burn-rate alerts (Sloth ``alerting``, Pyrra
    ``alerting``): the alert name, labels and annotations on every tier, and per tier."""

    name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    page: TierOverrides = field(default_factory=TierOverrides)
    ticket: TierOverrides = field(default_factory=TierOverrides)
    disabled: bool = False
