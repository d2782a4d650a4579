"""One line on a run's LLM streams for summary.md: TTFT, ITL and TPOT percentiles in the judged
window and each goodput objective's share with its rate (good requests/s). None without streams."""

from __future__ import annotations

from slogate.reports import format as fmt
from slogate.reports import series
from slogate.slo.evaluation import Evaluation
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.run import ITL_SUFFIX, TPOT_SUFFIX, TTFT_SUFFIX, RunResult
from slogate.slo.units import significant

_SERIES = (("TTFT", TTFT_SUFFIX), ("ITL", ITL_SUFFIX), ("TPOT", TPOT_SUFFIX))
_PERCENTILES = (0.5, 0.95, 0.99)


def stream_summary(run: RunResult, evaluation: Evaluation) -> str | None:
    """'LLM streams (p50 / p95 / p99): TTFT 120ms / 300ms / 450ms; ...; goodput g 97.2% (45.1 good
    requests/s)', over every streamed route together; None when the run streamed nothing."""
    windows = series.windows(run, evaluation.window_start_s)
    parts: list[str] = []
    for label, suffix in _SERIES:
        histogram = LatencyHistogram.merged([window.ok for name, window in windows.items()
                                             if name.endswith(suffix)])
        if not histogram.count:
            continue
        values = " / ".join(fmt.latency_us(histogram.quantile(q)) for q in _PERCENTILES)
        parts.append(f"{label} {values}")
    if not parts:
        return None
    seconds = evaluation.window_end_s - evaluation.window_start_s
    for o in evaluation.objectives:
        if o.kind == "goodput" and o.samples and o.bad_events is not None and seconds > 0:
            good_rate = significant((o.samples - o.bad_events) / seconds)
            parts.append(f"goodput {o.name} {fmt.ratio(o.measured)} ({good_rate} good requests/s)")
    return "LLM streams, judged window (p50 / p95 / p99): " + "; ".join(parts)
