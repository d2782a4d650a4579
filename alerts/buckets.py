"""The latency histogram's bucket boundaries as a live exporter has them, read from its /metrics
text: the rules check each latency threshold against these rather than against the defaults."""

from __future__ import annotations

import math

from prometheus_client.parser import text_string_to_metric_families

from slogate.slo.contract import MetricContract


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
