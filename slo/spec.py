"""The SLO spec model: what a release must meet. Values only; spec files are read by ``slo.specfile``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from slogate.slo.contract import MetricContract
from slogate.slo.sli import AlertOverrides, Matcher, QuerySli

DEFAULT_PERIOD_S = 30 * 86400.0
"""The SLO period whose error budget a run's burn rate is measured against (SRE workbook: 30d)."""

SAMPLES_BEYOND_PERCENTILE = 10
"""A percentile is only trusted with at least this many samples above it (see ``min_samples``)."""

DEFAULT_CONFIDENCE = 0.95
"""Two-sided: each bound is a one-sided 97.5% bound, so 'pass' and 'fail' are each wrong < 2.5%."""

RULE_OF_THREE = 3.0
"""With n clean events the 95% upper bound on a ratio is about 3/n, so proving ratio <= r needs 3/r."""

ZERO_BUDGET_SAMPLES = 3000
"""A zero error budget (max 0%, a target of 100%) can never be proven by an interval; it is judged
on at least as many requests as a 99.9% target needs (3 / 0.001), so a handful of clean requests
is never a pass."""


Family = Literal["none", "holm"]
"""How the failures of many gating objectives are controlled together (``Spec.family``)."""

Calendar = Literal["day", "week", "month"]
"""A calendar-aligned SLO period (OpenSLO ``isRolling: false``): budgets restart at each one."""

CALENDAR_PERIOD_S: dict[Calendar, float] = {"day": 86400.0, "week": 7 * 86400.0, "month": 30 * 86400.0}
"""The length alerts and burn rates take for a calendar period (a month as 30 days)."""


DERIVED_KEY_MARK = "#"
"""Endpoint keys with this mark are derived series of a request ('POST /v1/messages#ttfb', see
``slo.run.TTFB_SUFFIX``): no selector other than their own kind's picks them, so they never double
count a request."""

PROBE_SUFFIX = DERIVED_KEY_MARK + "probe"
"""Health and metrics probes are recorded as the probed key plus this suffix ('GET /health/live#probe'):
the proxy's own requests, never judged unless an objective names them ('GET /health/live')."""

CACHE_RESULT_MARK = ":"
CACHE_RESULTS = ("hit", "miss", "bypass", "none")
"""A cached route's requests are recorded by cache result ('GET /content/{id}:hit'): a selector
naming the route picks all of them, one naming a result picks that one. Only this closed set, since
routes such as '/v1/models/{m}:generateContent' hold the mark too."""

DERIVED_LATENCY_KINDS = {"ttfb": "time to first byte", "ttft": "time to first token",
                         "itl": "inter-token latency", "tpot": "time per output token",
                         "tokens_per_s": "output tokens per second"}
"""Latency kinds judged on a derived series of streamed requests ('#ttfb', '#ttft', '#itl', '#tpot';
tokens_per_s reads '#tpot'), which a proxy's request-duration histogram does not measure."""

LatencyKind = Literal["latency", "ttfb", "ttft", "itl", "tpot", "tokens_per_s"]


@dataclass(frozen=True, kw_only=True)
class _Objective:
    """What every objective has beside its own limit: which requests it selects and how a run is
    judged for it. Keyword-only, so each kind's own fields stay its positional ones."""

    endpoint: str | None = None
    min_samples: int | None = None
    gating: bool = True
    window_s: float | None = None
    """Windowed: the limit must hold in every window of this length (None: over the whole run)."""
    window_target: float = 1.0
    """Windowed objectives: the share of windows that must meet it (1.0: every window)."""
    min_duration_s: float | None = None
    """A run judged over fewer seconds is inconclusive for it; None: the spec's ``min_duration_s``."""
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class _ServerSideObjective(_Objective):
    """An objective a proxy's metrics can measure too (alerts, dashboards, ``gate --prometheus``)."""

    contract: MetricContract | None = None
    """The metric contract its server-side SLI is read with (the spec's ``contract:``); None: the
    spec's, else the command's ``--contract`` (see ``objective_contract``)."""
    matchers: tuple[Matcher, ...] = ()
    """Label matchers its server-side series must also meet (``handler="api"``), beside the
    contract's selector; one on the route or method label replaces what the endpoint gives."""


@dataclass(frozen=True, kw_only=True)
class _ImportableObjective(_ServerSideObjective):
    """An objective imported specs state in their own terms: their PromQL and their alerts."""

    sli: QuerySli | None = None
    """The server-side SLI in the user's own PromQL (imported specs); None: from the metric contract."""
    client_side: bool = True
    """Whether a load test can measure it (``endpoint``, statuses); False: judged server-side only."""
    alerting: AlertOverrides | None = None
    """The user's alert names, labels, annotations and tiers (Sloth, Pyrra); None: slogate's own."""


@dataclass(frozen=True)
class LatencyObjective(_ImportableObjective):
    """The ``percentile`` (e.g. 99.0) of request latency must be at most ``threshold_s``.

    ``form`` says how it was stated: 'percentile' (p99 <= 250ms) or 'budget' (99% of requests under
    250ms); the two are the same criterion, judged and explained in their own terms.
    ``kind`` 'ttfb' judges the time to first byte of streamed responses instead of their total time;
    'ttft', 'itl' and 'tpot' the time to the first token, the gaps between content chunks and the time
    per output token of streamed LLM answers. 'tokens_per_s' is a floor on a stream's output tokens/s
    (1 / TPOT), kept as its TPOT ceiling: ``threshold_s`` = 1 / the floor, always in the budget form
    (the share of streams at or above the floor must be at least ``percentile``%).
    ``window_s`` makes it windowed: the percentile of every window of that length must hold.
    """

    name: str
    percentile: float
    threshold_s: float
    kind: LatencyKind = "latency"
    form: Literal["percentile", "budget"] = "percentile"

    @property
    def tokens_per_s_floor(self) -> float:
        """The tokens/s floor of a 'tokens_per_s' objective (1 / its TPOT ceiling)."""
        return 1.0 / self.threshold_s

    @property
    def allowed_bad_ratio(self) -> float:
        """The share of requests allowed over the threshold."""
        return 1.0 - self.percentile / 100.0

    @property
    def required_samples(self) -> int:
        if self.min_samples is not None:
            return self.min_samples
        beyond = 1.0 - self.percentile / 100.0
        if beyond <= 0.0:
            # 100% under the threshold (an OpenSLO target of 1): no tail to see, one slow request
            # fails it, as one failure fails an error ratio of max 0%.
            return _ratio_samples(None, 0.0)
        return max(SAMPLES_BEYOND_PERCENTILE, _ceil(SAMPLES_BEYOND_PERCENTILE / beyond))


class _BadShareLimit:
    """A limit on the share of bad requests, proven on enough requests (see ``_ratio_samples``)."""

    min_samples: int | None

    @property
    def allowed_bad_ratio(self) -> float:
        raise NotImplementedError

    @property
    def required_samples(self) -> int:
        return _ratio_samples(self.min_samples, self.allowed_bad_ratio)


@dataclass(frozen=True, kw_only=True)
class _ErrorBudgetObjective(_ImportableObjective, _BadShareLimit):
    """An objective on failed requests, with an error budget over a period."""

    period_s: float = DEFAULT_PERIOD_S
    error_statuses: tuple[str, ...] = ()
    """Status classes counted as errors ('5xx', '429'); empty: the recorder's failed requests."""
    calendar: Calendar | None = None
    """A calendar-aligned period (``period_s`` its length); None: a rolling one."""


@dataclass(frozen=True)
class ErrorRatioObjective(_ErrorBudgetObjective):
    """The ratio of failed requests must be at most ``max_ratio``."""

    name: str
    max_ratio: float
    kind: Literal["error_ratio"] = "error_ratio"

    @property
    def allowed_bad_ratio(self) -> float:
        return self.max_ratio


@dataclass(frozen=True)
class AvailabilityObjective(_ErrorBudgetObjective):
    """At least ``target`` of requests must succeed; the rest is the error budget over the period."""

    name: str
    target: float
    kind: Literal["availability"] = "availability"

    @property
    def allowed_bad_ratio(self) -> float:
        return 1.0 - self.target


@dataclass(frozen=True)
class ThroughputObjective(_ServerSideObjective):
    """At least ``min_rps`` requests per second (successful or not) over the judged window.

    A floor, not an error budget: it has no burn rate, so it lives apart from the budget
    objectives (``Spec.throughput_objectives``) that rules and dashboards are built from.
    """

    name: str
    min_rps: float
    period_s: float = DEFAULT_PERIOD_S
    kind: Literal["throughput"] = "throughput"

    @property
    def required_samples(self) -> int:
        return self.min_samples if self.min_samples is not None else 1


@dataclass(frozen=True)
class GoodputLimits:
    """What a streamed request must meet together to count as good (None: no limit on that)."""

    ttft_s: float | None = None
    tpot_s: float | None = None
    total_s: float | None = None

    def met(self, ttft_s: float | None, tpot_s: float | None, total_s: float) -> bool:
        """Whether one request met every limit; a limit on a figure the request lacks is missed."""
        return (_within(ttft_s, self.ttft_s) and _within(tpot_s, self.tpot_s)
                and _within(total_s, self.total_s))


def _within(value: float | None, limit: float | None) -> bool:
    return limit is None or (value is not None and value <= limit)


@dataclass(frozen=True, kw_only=True)
class _RunShareObjective(_Objective, _BadShareLimit):
    """A share of requests at least ``target`` that a load test measures and no metric contract
    does: judged from a run only, over the whole run (``window_s`` always None)."""

    period_s: float = DEFAULT_PERIOD_S


@dataclass(frozen=True)
class GoodputObjective(_RunShareObjective):
    """At least ``target`` of the requests must meet all their ``limits`` together (failed requests
    are not good). Judged from a run's per-request timings only: no server-side SLI."""

    name: str
    target: float
    limits: GoodputLimits
    kind: Literal["goodput"] = "goodput"

    @property
    def allowed_bad_ratio(self) -> float:
        return 1.0 - self.target


@dataclass(frozen=True)
class HitRatioObjective(_RunShareObjective):
    """Cache hits / (hits + misses) of the endpoint's cached requests must be at least ``target``
    (bypassed and unknown results count in neither). Judged from a run's cache-result keys only."""

    name: str
    target: float
    kind: Literal["hit_ratio"] = "hit_ratio"

    @property
    def allowed_bad_ratio(self) -> float:
        return 1.0 - self.target


RunOnlyObjective = GoodputObjective | HitRatioObjective
"""A share a load test measures that no metric contract does: judged from a run only."""


@dataclass(frozen=True)
class BurnRateCondition:
    """Alert when the error budget burns at least ``factor`` times as fast as the period allows,
    over ``lookback_s`` (imported from an OpenSLO ``AlertCondition`` of kind ``burnrate``).

    ``tier`` is 'page' or 'ticket' (the alert's ``tier`` label, and which alert an Alertmanager
    inhibit rule silences); ``severity`` is its ``severity`` label; ``alert_after_s`` how long the
    condition must hold before the alert fires (the rule's ``for``).
    """

    name: str
    factor: float
    lookback_s: float
    tier: Literal["page", "ticket"] = "page"
    severity: str = "critical"
    alert_after_s: float = 0.0


@dataclass(frozen=True)
class AlertPolicy:
    """When to alert on some objectives' burn rate, instead of the SRE workbook's default tiers
    (an OpenSLO ``AlertPolicy``); ``objectives`` names the objectives it applies to."""

    name: str
    conditions: tuple[BurnRateCondition, ...]
    objectives: tuple[str, ...] = ()
    description: str = ""


Objective = LatencyObjective | ErrorRatioObjective | AvailabilityObjective
"""An objective with an error budget (and so a burn rate, recording rules and alerts)."""
AnyObjective = Objective | ThroughputObjective
"""What the metric contract can judge too (``gate --prometheus``, rules for the budget ones)."""
JudgedObjective = AnyObjective | RunOnlyObjective
"""Every kind a run is judged on."""


@dataclass(frozen=True)
class Spec:
    """A service's objectives, as loaded from one file."""

    service: str
    objectives: tuple[Objective, ...]
    source: str = "<memory>"
    description: str = ""
    warmup_s: float = 0.0
    period_s: float = DEFAULT_PERIOD_S
    calendar: Calendar | None = None
    """A calendar-aligned period (``period_s`` its length); None: a rolling one."""
    labels: dict[str, str] = field(default_factory=dict)
    contract: MetricContract | None = None
    """The proxy's metric contract the spec names (``contract:``): its objectives' default and the
    health alerts' and proxy dashboard's; None: the command's ``--contract`` (or the default)."""
    confidence: float = DEFAULT_CONFIDENCE
    """Two-sided confidence of every interval a verdict rests on."""
    throughput_objectives: tuple[ThroughputObjective, ...] = ()
    """Throughput floors: judged like the others, but with no error budget to alert on."""
    run_objectives: tuple[RunOnlyObjective, ...] = ()
    """Goodput and cache hit ratio: judged from a run's own data; rules and dashboards skip them."""
    alert_policies: tuple[AlertPolicy, ...] = ()
    """Burn-rate alert policies of some objectives; the others get the default tiers."""
    min_duration_s: float = 0.0
    """The judged seconds (after the warm-up) a run needs before any verdict of it means something."""
    family: Family = "none"
    """'holm': Holm's step-down over the gating objectives' failures (family-wise error <= 2.5%);
    'none': each objective at its own level (false-fail chance about 1 - (1 - 0.025)^k for k)."""
    source_text: str | None = field(default=None, compare=False, repr=False)
    """The text the spec was read from (for the report); None for a spec built in code."""

    @property
    def names_contract(self) -> bool:
        """Whether the spec, or one of its objectives, names the contract it is read with."""
        return self.contract is not None or any(o.contract is not None for o in self.all_objectives)

    def alert_policies_of(self, objective_name: str) -> tuple[AlertPolicy, ...]:
        """The alert policies that apply to an objective (none: the default tiers apply)."""
        return tuple(p for p in self.alert_policies if objective_name in p.objectives)

    @property
    def all_objectives(self) -> tuple[AnyObjective, ...]:
        """The objectives a metric contract can judge too: the budget ones, then the throughput floors."""
        return (*self.objectives, *self.throughput_objectives)

    @property
    def run_judged_objectives(self) -> tuple[JudgedObjective, ...]:
        """Every objective a run is judged on: ``all_objectives``, then those judged from a run only."""
        return (*self.all_objectives, *self.run_objectives)


def spec_contract(spec: Spec, given: MetricContract) -> MetricContract:
    """The proxy's contract for ``spec``: the one it names, else ``given`` (``--contract``)."""
    return spec.contract or given


def objective_contract(spec: Spec, objective: AnyObjective, given: MetricContract) -> MetricContract:
    """The contract an objective's server-side series are read with, its matchers included.

    Precedence: the objective's own ``contract``, then the spec's, then ``given`` (the command's
    ``--contract``, else the default). The objective's ``matchers`` join the contract's selector,
    so every query built from the contract (rules, dashboards, ``gate --prometheus``) carries them;
    a matcher on the route (method) label replaces the endpoint's route (method): the spec's route
    is the client's, the matcher says which series the proxy files it under.
    """
    contract = objective.contract or spec_contract(spec, given)
    if not objective.matchers:
        return contract
    named = {m.label for m in objective.matchers}
    return replace(
        contract,
        selector=contract.matchers(*(str(m) for m in objective.matchers)),
        route_label="" if contract.route_label in named else contract.route_label,
        method_label="" if contract.method_label in named else contract.method_label,
    )


def contract_notes(spec: Spec, given: MetricContract) -> list[str]:
    """What a command's ``--contract`` (``given``) does not decide: the spec, or some objectives,
    name another contract, which wins (said, never silently)."""
    notes = []
    if spec.contract is not None and spec.contract != given:
        notes.append(f"{spec.source}: the spec names {spec.contract.label}; it is used instead of "
                     f"--contract ({given.label}) for its objectives and health alerts")
    for objective in spec.all_objectives:
        if objective.contract is not None and objective.contract != spec_contract(spec, given):
            notes.append(f"{spec.source}: objective {objective.name!r} names {objective.contract.label}; "
                         f"it is used instead of {spec_contract(spec, given).label}")
    return notes


def endpoint_matches(selector: str | None, endpoint: str) -> bool:
    """Whether an endpoint key ('POST /v1/messages') is chosen by a selector.

    No selector chooses every request (not derived keys such as '#ttfb', nor probes); 'POST
    /v1/messages' chooses that method and route; '/v1/messages' chooses the route under every
    method. A route chooses its cache-result keys too ('GET /content/{id}:hit', ':miss'...) and its
    probes ('GET /health/live#probe'); 'GET /content/{id}:hit' chooses the hits only.
    """
    if selector is None:
        return DERIVED_KEY_MARK not in endpoint
    wanted = selector.strip()
    key = endpoint if " " in wanted else endpoint.split(" ", 1)[-1]
    return key == wanted or route_of(key) == wanted


def route_of(endpoint: str) -> str:
    """The key without its cache result or probe suffix ('GET /content/{id}:hit' -> 'GET
    /content/{id}'); other keys unchanged."""
    if endpoint.endswith(PROBE_SUFFIX):
        return endpoint[: -len(PROBE_SUFFIX)]
    head, mark, result = endpoint.rpartition(CACHE_RESULT_MARK)
    return head if mark and result in CACHE_RESULTS else endpoint


def cache_result(endpoint: str) -> str | None:
    """'hit', 'miss', 'bypass' or 'none' for a cache-result key; None for any other key."""
    head, mark, result = endpoint.rpartition(CACHE_RESULT_MARK)
    return result if mark and head and result in CACHE_RESULTS else None


def _ratio_samples(explicit: int | None, allowed: float) -> int:
    if explicit is not None:
        return explicit
    if allowed <= 0.0:
        return ZERO_BUDGET_SAMPLES
    return max(1, _ceil(RULE_OF_THREE / allowed))


def _ceil(value: float) -> int:
    # Guards against 10 / 0.01 == 1000.0000000000001 becoming 1001.
    return int(-(-round(value, 6) // 1))
