"""The latency histogram's bucket boundaries: which one a threshold is, the nearest ones when it is
none, and the boundaries a live exporter has, read from its /metrics text (the rules check each
latency threshold against these rather than against the defaults)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families

from slogate.slo import promql
from slogate.slo.contract import MetricContract
from slogate.slo.units import format_duration


def bucket_of(value_s: float, buckets: Sequence[float]) -> float | None:
    """The bucket boundary equal to ``value_s`` (as the histogram spells it), if there is one."""
    return next(
        (b for b in buckets if math.isclose(b, value_s, rel_tol=1e-9, abs_tol=1e-12)), None
    )


def nearest_buckets(value_s: float, buckets: Sequence[float]) -> str:
    """'250ms (le=0.25) and 500ms (le=0.5)': the buckets either side of ``value_s``."""
    below = [b for b in sorted(buckets) if b < value_s]
    above = [b for b in sorted(buckets) if b > value_s]
    return " and ".join(
        f"{format_duration(b)} (le={promql.number(b)})" for b in (*below[-1:], *above[:1])
    ) or "none (the histogram has no buckets)"


def buckets_from_exposition(text: str, contract: MetricContract) -> list[float]:
    """The finite ``le`` bounds of the contract's request-duration histogram in ``text``.

    A ValueError when the text cannot be parsed or holds no bucket of that histogram (the
    message names the metric looked for).
    """
    bucket = f"{contract.request_duration}_bucket"
    bounds: set[float] = set()
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == bucket and "le" in sample.labels:
                    bound = float(sample.labels["le"])
                    if math.isfinite(bound):
                        bounds.add(bound)
    except ValueError as exc:
        raise ValueError(f"cannot parse the metrics text: {exc}") from None
    if not bounds:
        raise ValueError(
            f"no {bucket} series with an 'le' label: either the exporter has not served a "
            f"request yet (a labelled histogram shows its buckets after its first observation: "
            f"send one and check again) or it does not expose the metric contract's latency "
            f"histogram (override request_duration with --contract)"
        )
    return sorted(bounds)
