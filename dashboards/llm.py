"""The proxy overview's LLM row, from the OpenTelemetry GenAI histograms the metric contract names:
time to first token and per output token (p50 / p95 / p99), output tokens/s, and the share of
streams within the spec's TTFT and TPOT limits.

Goodput proper (a stream meeting every limit *together*) needs each stream's timings side by side,
which histograms do not keep: server-side, each limit's share is shown on its own (the goodput
share is at most the smallest of them). A limit that is not a bucket bound is read at the largest
bound under it, which the legend says.
"""

from __future__ import annotations

from collections.abc import Sequence

from slogate.dashboards import queries as q
from slogate.dashboards.panels import Grid, timeseries
from slogate.slo import promql
from slogate.slo.contract import GENAI_TPOT_BUCKETS_S, GENAI_TTFT_BUCKETS_S, MetricContract
from slogate.slo.spec import GoodputObjective, LatencyObjective, Spec

ROW_TITLE = "LLM answers (GenAI histograms)"
OUTPUT_TOKEN_TYPE = "output"
DEFAULT_TTFT_LIMIT_S = 1.0
DEFAULT_TPOT_LIMIT_S = 0.1
"""The limits shown when the spec sets none: the llm-api-proxy preset's."""


def llm_row(grid: Grid, spec: Spec, c: MetricContract) -> None:
    """Add the LLM row to ``grid``: each panel only when the contract names its histogram, no row
    at all when it names none of them."""
    panels: list[object] = []
    if c.genai_time_to_first_token:
        panels.append(timeseries(
            "Time to first token p50 / p95 / p99",
            "Streamed LLM answers: request arrival to the first content chunk the proxy passed on "
            "(gen_ai.server.time_to_first_token, successful answers), from the histogram buckets.",
            "s", [(quantile(c.genai_time_to_first_token, c, x), f"p{x * 100:g}")
                  for x in q.LATENCY_QUANTILES],
        ))
    if c.genai_time_per_output_token:
        panels.append(timeseries(
            "Time per output token p50 / p95 / p99",
            "Streamed LLM answers: time per output token after the first "
            "(gen_ai.server.time_per_output_token, one sample per answer), from the buckets.",
            "s", [(quantile(c.genai_time_per_output_token, c, x), f"p{x * 100:g}")
                  for x in q.LATENCY_QUANTILES],
        ))
    if c.genai_token_usage:
        panels.append(timeseries(
            "Output tokens per second",
            "Output tokens per second in successful LLM answers, all models "
            "(the sum of gen_ai.client.token.usage of type output).",
            "suffix: tokens/s", [(output_tokens_rate(c), "output tokens/s")],
        ))
    shares = limit_shares(spec, c)
    if shares:
        targets = [o.target for o in spec.run_judged_objectives if isinstance(o, GoodputObjective)]
        thresholds = ((None, "red"), (max(targets), "green")) if targets else ((None, "green"),)
        panels.append(timeseries(
            "Streams within the TTFT / TPOT limits",
            "Share of streamed answers within each limit of the spec (TTFT, TPOT and goodput "
            "objectives; without any, the llm-api-proxy preset's 1 s and 100 ms), each on its own: "
            "histograms cannot tell whether one stream met them together, so goodput is at most "
            "the lowest line (judged exactly from a run's per-request timings). The dashed line is "
            "the goodput objective's target.",
            "percentunit", shares, thresholds=thresholds, threshold_lines=bool(targets),
        ))
    if panels:
        grid.row(ROW_TITLE)
        for panel in panels:
            grid.add(24 // len(panels), panel)


def quantile(histogram: str, c: MetricContract, x: float) -> str:
    bucket = q.rate(f"{histogram}_bucket", c, q.instance_filter())
    return f"histogram_quantile({promql.number(x)}, sum by (le) ({bucket}))"


def output_tokens_rate(c: MetricContract) -> str:
    output = promql.equals(c.genai_token_type_label, OUTPUT_TOKEN_TYPE)
    return f"sum({q.rate(f'{c.genai_token_usage}_sum', c, output, q.instance_filter())})"


def share_within(histogram: str, c: MetricContract, bound_s: float) -> str:
    within = q.rate(f"{histogram}_bucket", c, promql.le_matcher(bound_s), q.instance_filter())
    total = q.rate(f"{histogram}_count", c, q.instance_filter())
    return f"sum({within})\n/\nsum({total})"


def limit_shares(spec: Spec, c: MetricContract) -> list[tuple[str, str]]:
    """(query, legend) of each distinct TTFT and TPOT limit of the spec, for the histograms the
    contract names."""
    ttft, tpot = spec_limits(spec)
    found = []
    for name, histogram, limits, buckets in (
        ("TTFT", c.genai_time_to_first_token, ttft or [DEFAULT_TTFT_LIMIT_S], GENAI_TTFT_BUCKETS_S),
        ("TPOT", c.genai_time_per_output_token, tpot or [DEFAULT_TPOT_LIMIT_S], GENAI_TPOT_BUCKETS_S),
    ):
        if not histogram:
            continue
        for limit in sorted(set(limits)):
            bound = bound_under(limit, buckets)
            if bound is None:
                continue  # under the smallest bucket: no bucket counts those streams
            legend = f"{name} ≤ {promql.duration(limit)}"
            if bound != limit:
                legend += f" (read at the bucket ≤ {promql.duration(bound)})"
            found.append((share_within(histogram, c, bound), legend))
    return found


def spec_limits(spec: Spec) -> tuple[list[float], list[float]]:
    """The spec's TTFT limits and TPOT limits (seconds): of its ttft, tpot and tokens_per_s
    objectives and of its goodput objectives' limits."""
    ttft: list[float] = []
    tpot: list[float] = []
    for objective in spec.run_judged_objectives:
        if isinstance(objective, LatencyObjective):
            if objective.kind == "ttft":
                ttft.append(objective.threshold_s)
            elif objective.kind in ("tpot", "tokens_per_s"):
                tpot.append(objective.threshold_s)
        elif isinstance(objective, GoodputObjective):
            limits = objective.limits
            ttft.extend([limits.ttft_s] if limits.ttft_s is not None else [])
            tpot.extend([limits.tpot_s] if limits.tpot_s is not None else [])
    return ttft, tpot


def bound_under(limit_s: float, buckets: Sequence[float]) -> float | None:
    """The largest bucket bound at or under ``limit_s`` (None: every bound is above it)."""
    under = [b for b in buckets if b <= limit_s + 1e-12]
    return max(under) if under else None
