"""The metric contract: what a proxy exposes on /metrics, and so what dashboards, alerts and the
Prometheus source query. Every name and selector is overridable (like a monitoring mixin's
``_config``) so the same specs fit a proxy that exports other names.

Defaults follow the OpenTelemetry HTTP semantic conventions as exported to Prometheus, plus the
proxy metrics below. The reference target exposes exactly these defaults. Common proxies' names,
units and labels are packaged presets (``slo/contracts/<name>.yaml``, ``--contract caddy``).

A metric the proxy does not have is an empty name: the health alerts, dashboard panels and
absent-metric checks that need it are not generated, and an SLI that needs it says why it is
missing (a proxy without a latency histogram is judged on latency client-side only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import yaml

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)
"""Histogram buckets (seconds) of the reference target: every common SLO threshold is a boundary."""
GENAI_TTFT_BUCKETS_S: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)
GENAI_TPOT_BUCKETS_S: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
)
"""The GenAI semantic conventions' bucket boundaries for time to first token and per output token."""

DurationUnit = Literal["s", "ms"]
StatusForm = Literal["code", "class"]
_UNIT_SECONDS: dict[str, float] = {"s": 1.0, "ms": 0.001}
_STATUS_FORMS = ("code", "class")

PRESETS_DIR = Path(__file__).resolve().parent / "contracts"
"""The packaged contract presets, one ``<name>.yaml`` each."""


@dataclass(frozen=True)
class MetricContract:
    # Server-side request latency histogram (OTel http.server.request.duration), and its labels.
    # Empty: the proxy has no latency histogram (HAProxy's exporter): latency is client-side only.
    request_duration: str = "http_server_request_duration_seconds"
    duration_unit: DurationUnit = "s"
    """The unit the histogram counts in, so of its ``le`` bounds: 's' or 'ms' (Envoy, Kong)."""
    buckets: tuple[float, ...] = LATENCY_BUCKETS_S
    """The histogram's finite bucket bounds as it exports them (in ``duration_unit``): a latency
    threshold must be one of them, checked without a live target."""
    requests: str = ""
    """A counter of requests carrying the status label, where the proxy's request count is not
    the histogram's ``_count`` (HAProxy, Envoy, Kong, LiteLLM); empty: ``<request_duration>_count``."""
    route_label: str = "http_route"  # empty: the proxy has none (every request is one route)
    method_label: str = "http_request_method"  # empty: the proxy has none
    status_label: str = "http_response_status_code"
    status_form: StatusForm = "code"
    """How the status label spells a status: 'code' ('503') or 'class' ('5xx', HAProxy)."""
    latency_status: bool = True
    """Whether the histogram carries the status label too (Kong's, Envoy's and LiteLLM's do not:
    their latency SLIs count every request, failures too)."""
    # In-flight requests (OTel http.server.active_requests).
    active_requests: str = "http_server_active_requests"
    # Proxy metrics.
    cache_requests: str = "proxy_cache_requests_total"  # label result: hit | miss | bypass
    cache_result_label: str = "result"
    upstream_duration: str = "proxy_upstream_request_duration_seconds"  # histogram, http_route
    upstream_errors: str = "proxy_upstream_errors_total"  # label reason
    rate_limited: str = "proxy_rate_limited_requests_total"  # label http_route
    circuit_breaker_state: str = "proxy_circuit_breaker_state"  # 0 closed, 1 half-open, 2 open
    llm_tokens: str = "proxy_llm_tokens_total"  # label token_type: input | output
    token_type_label: str = "token_type"
    # LLM answers as the OpenTelemetry GenAI conventions export them to Prometheus: histograms (in
    # seconds, of GENAI_*_BUCKETS_S) of time to first token and per output token, and of token usage
    # by gen_ai_token_type (input | output). Empty: the proxy has none (no LLM dashboard row).
    genai_time_to_first_token: str = "gen_ai_server_time_to_first_token_seconds"
    genai_time_per_output_token: str = "gen_ai_server_time_per_output_token_seconds"
    genai_token_usage: str = "gen_ai_client_token_usage"
    genai_token_type_label: str = "gen_ai_token_type"
    # Which responses are errors for availability and error-ratio SLIs, as a label matcher.
    error_status_matcher: str = '=~"5.."'
    # Extra selector put in every query, e.g. 'job="my-proxy"'; empty for none.
    selector: str = ""
    name: str = ""
    """The preset it came from ('caddy'), for messages; empty for the default or a file."""

    def __post_init__(self) -> None:
        if self.duration_unit not in _UNIT_SECONDS:
            raise ValueError(f"duration_unit must be 's' or 'ms', got {self.duration_unit!r}")
        if self.status_form not in _STATUS_FORMS:
            raise ValueError(f"status_form must be 'code' or 'class', got {self.status_form!r}")
        if self.request_duration and not self.buckets:
            raise ValueError(f"the latency histogram {self.request_duration} needs its 'buckets'")
        if not self.request_count:
            raise ValueError("the contract needs a request count: 'requests' (a counter) or "
                             "'request_duration' (a histogram, whose _count is used)")

    @property
    def label(self) -> str:
        """How messages name the contract: 'the caddy contract' or 'the metric contract'."""
        return f"the {self.name} contract" if self.name else "the metric contract"

    @property
    def has_latency(self) -> bool:
        """Whether the proxy has a latency histogram (server-side latency SLIs need one)."""
        return bool(self.request_duration)

    @property
    def request_count(self) -> str:
        """The series that counts requests, by status: ``requests`` or the histogram's count."""
        return self.requests or (f"{self.request_duration}_count" if self.request_duration else "")

    @property
    def request_bucket(self) -> str:
        """The histogram's bucket series; a ValueError when the proxy has no histogram."""
        if not self.request_duration:
            raise ValueError(f"{self.label} has no latency histogram")
        return f"{self.request_duration}_bucket"

    @property
    def buckets_s(self) -> tuple[float, ...]:
        """The bucket bounds in seconds."""
        scale = _UNIT_SECONDS[self.duration_unit]
        return tuple(round(b * scale, 12) for b in self.buckets)

    def le(self, seconds: float) -> float:
        """A bound in seconds as the histogram's ``le`` spells it (250 for 0.25 s in ms)."""
        return round(seconds / _UNIT_SECONDS[self.duration_unit], 9)

    def seconds(self, value: float) -> float:
        """A value of the histogram's unit (a bound, a quantile) in seconds."""
        return value * _UNIT_SECONDS[self.duration_unit] if math.isfinite(value) else value

    def with_overrides(self, overrides: dict[str, Any]) -> MetricContract:
        """A copy with some names changed; unknown keys are a ValueError naming the known ones.
        A null value is an empty name (the proxy has no such metric)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(
                f"unknown metric contract field(s) {', '.join(unknown)}; "
                f"expected some of: {', '.join(sorted(known))}"
            )
        return replace(self, **{k: _field_value(k, v) for k, v in overrides.items()})

    def matchers(self, *extra: str) -> str:
        """A label-matcher body joining the contract's selector with ``extra`` ones."""
        parts = [p for p in (self.selector, *extra) if p]
        return ", ".join(parts)


def _field_value(name: str, value: Any) -> Any:
    if name == "buckets":
        if not isinstance(value, list | tuple) or not all(
                isinstance(b, int | float) and not isinstance(b, bool) for b in value):
            raise ValueError("'buckets' must be a list of numbers (the histogram's le bounds)")
        return tuple(sorted(float(b) for b in value if math.isfinite(float(b))))
    if name == "latency_status":
        if not isinstance(value, bool):
            raise ValueError("'latency_status' must be true or false")
        return value
    return "" if value is None else str(value)


DEFAULT_CONTRACT = MetricContract()


@dataclass(frozen=True)
class LoadTestContract:
    """What a running load test exposes on its own Prometheus endpoint (127.0.0.1 by default).

    Labels: ``endpoint`` ('GET /content/{id}'), ``outcome`` ('ok' | 'failed'), ``kind`` (error
    kind, 'HTTP 503'), ``process`` ('master', 'local' or a worker id). The latency histogram holds
    the same requests the gate judges (its buckets are LATENCY_BUCKETS_S; the gate's own
    histograms are finer).
    """

    users: str = "slogate_loadtest_users"  # gauge: users running now
    target_users: str = "slogate_loadtest_target_users"  # gauge: users asked for (closed model)
    target_rate: str = "slogate_loadtest_target_rate"  # gauge: arrivals/s asked for (open model)
    request_duration: str = "slogate_loadtest_request_duration_seconds"  # histogram: endpoint, outcome
    failures: str = "slogate_loadtest_failures_total"  # counter: endpoint, kind
    dispatch_late: str = "slogate_loadtest_dispatch_late_total"  # counter (open model)
    dispatch_dropped: str = "slogate_loadtest_dispatch_dropped_total"  # counter (open model)
    generator_cpu: str = "slogate_loadtest_generator_cpu_percent"  # gauge: process
    endpoint_label: str = "endpoint"
    outcome_label: str = "outcome"
    kind_label: str = "kind"
    process_label: str = "process"


DEFAULT_LOADTEST_CONTRACT = LoadTestContract()


@dataclass(frozen=True)
class ObservabilityLabels:
    """Labels the dashboards and alerts read beyond the metric contract's own names."""

    upstream_error_reason_label: str = "reason"  # on MetricContract.upstream_errors
    circuit_breaker_upstream_label: str = "upstream"  # on MetricContract.circuit_breaker_state
    instance_label: str = "instance"  # Prometheus' target label


def contract_presets() -> list[str]:
    """The names of the packaged contract presets."""
    return sorted(path.stem for path in PRESETS_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The file of the contract preset ``name``; a ValueError naming the presets when none is."""
    path = PRESETS_DIR / f"{name}.yaml"
    if name not in contract_presets():
        raise ValueError(f"no contract preset named {name!r}; presets: {', '.join(contract_presets())}")
    return path


def contracts_from_mapping(
    data: dict[str, Any],
) -> tuple[MetricContract, LoadTestContract]:
    """The metric and load-test contracts with overrides from a mapping (a ``--contract`` file):
    top-level keys override ``MetricContract`` fields (of the preset named by ``preset:``, else
    the defaults), a ``loadtest:`` mapping ``LoadTestContract`` fields. Unknown keys are a
    ValueError naming the known ones."""
    overrides = dict(data)
    loadtest = overrides.pop("loadtest", None) or {}
    if not isinstance(loadtest, dict):
        raise ValueError("'loadtest' must be a mapping of load-test metric names")
    base = DEFAULT_CONTRACT
    preset = overrides.pop("preset", None)
    if preset is not None:
        preset_data = yaml.safe_load(preset_path(str(preset)).read_text(encoding="utf-8")) or {}
        base = DEFAULT_CONTRACT.with_overrides({**preset_data, "name": str(preset)})
    contract = base.with_overrides(overrides)
    known = {f.name for f in fields(LoadTestContract)}
    unknown = sorted(set(loadtest) - known)
    if unknown:
        raise ValueError(
            f"unknown loadtest contract field(s) {', '.join(unknown)}; "
            f"expected some of: {', '.join(sorted(known))}"
        )
    return contract, replace(DEFAULT_LOADTEST_CONTRACT, **{k: str(v) for k, v in loadtest.items()})


def read_contract_file(path: Path) -> tuple[MetricContract, LoadTestContract]:
    """The contracts of a YAML file of overrides (see ``contracts_from_mapping``); a ValueError
    naming the file (and the line of a YAML error) when it cannot be read or is not a contract."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the contract file: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path}{where}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of metric names, got {type(data).__name__}")
    try:
        return contracts_from_mapping(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def resolve_contract(reference: object, base_dir: Path) -> MetricContract:
    """The metric contract a spec names (its ``contract:`` field): a preset's name ('caddy'), a
    YAML file (relative to ``base_dir``, the spec's folder; a file wins over a preset of the same
    name, as for ``--contract``) or a mapping of overrides ('preset:' to start from one). A
    ValueError says what was expected."""
    if isinstance(reference, dict):
        contract, _ = contracts_from_mapping(reference)
        return contract
    if not isinstance(reference, str) or not reference.strip():
        raise ValueError("expected a contract preset's name "
                         f"({', '.join(contract_presets())}), a contract file or a mapping of overrides")
    return read_contract_file(contract_path(reference.strip(), base_dir))[0]


def contract_path(reference: str, base_dir: Path) -> Path:
    """The file of the contract a spec's ``contract:`` or a ``--contract`` names: a YAML file
    (relative to ``base_dir``) wins over the packaged preset of that name, since a file the user has
    always wins. A ValueError naming both places when it is neither."""
    path = base_dir / reference
    if path.is_file():
        return path
    if reference in contract_presets():
        return preset_path(reference)
    raise ValueError(f"no contract file {path} and no contract preset {reference!r}; "
                     f"presets: {', '.join(contract_presets())}")
