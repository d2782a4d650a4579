"""Absent-metric alerts: an SLI with no series is no SLI, and its burn-rate alerts stay silent
whatever happens, so its missing series alert on their own."""

from __future__ import annotations

from slogate.alerts.conventions import SLI_METRICS_ABSENT, alerting_rule
from slogate.alerts.rulefmt import AlertingRule
from slogate.alerts.sli import Sli
from slogate.slo import promql


def absent_rule(
    sli: Sli, spec_labels: dict[str, str], absent_for_s: float, runbook_base: str
) -> AlertingRule:
    """The alert for ``sli`` when the series it is computed from are missing altogether.

    For a latency SLI the threshold's bucket itself is checked too, which catches a bucket boundary
    that the exporter does not have (or spells in a way the ``le`` pattern misses).
    """
    exprs = [f"absent({series})" for series in sli.presence]
    check = ("that the proxy is scraped and exports the metric contract's names and buckets."
             if sli.query is None else "that the series the SLO's own queries read are scraped.")
    return alerting_rule(
        SLI_METRICS_ABSENT,
        "\nor\n".join(exprs),
        absent_for_s,
        "warning",
        {**spec_labels, "slo": sli.name},
        f"{sli.service}: the metrics of an SLO are missing.",
        f"Prometheus has had no series for the {sli.name} SLI for "
        f"{promql.duration(absent_for_s)}, so its burn-rate alerts cannot fire. Check {check}",
        runbook_base,
    )
