"""The judging rules on bare counts: no run, no Prometheus, just events over seconds."""

from __future__ import annotations

import pytest

from slogate.slo.counts import Counts, bad_events
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.judge import judge, overall
from slogate.slo.spec import AvailabilityObjective, ErrorRatioObjective
from slogate.slo.specfile.load import parse_spec

SPEC = parse_spec("""\
service: s
period: 1d
objectives:
  - {name: errors, kind: error_ratio, max: 1%}
  - {name: p99, kind: latency, percentile: p99, threshold: 50ms}
  - {name: rate, kind: throughput, min: 100/s}
  - {name: server, kind: availability, target: 99%, error_statuses: [5xx, "429"]}
""")
ERRORS, P99, SERVER, RATE = SPEC.all_objectives  # the throughput floors come last


def test_counts_alone_decide_a_ratio_and_its_budget() -> None:
    errors = judge(ERRORS, Counts(total=4000, bad=8, seconds=20.0), SPEC)
    assert errors.verdict == "pass" and errors.reason.startswith("error ratio 0.2% <= 1% (8 of 4000 failed;")
    assert errors.burn_rate == pytest.approx(0.2)
    assert errors.budget_consumed == pytest.approx(0.2 * 20.0 / 86400)


def test_a_percentile_needs_latencies_and_reads_them() -> None:
    with pytest.raises(ValueError, match="p99: a percentile is judged on latencies"):
        judge(P99, Counts(total=2000, bad=0, seconds=10.0), SPEC)
    latencies = LatencyHistogram()
    latencies.record(10_000.0, 2000)
    result = judge(P99, Counts(total=2000, bad=0, seconds=10.0, latency=latencies), SPEC)
    assert result.verdict == "pass" and result.measured == pytest.approx(0.01, rel=0.01)


def test_throughput_is_the_events_over_the_seconds() -> None:
    result = judge(RATE, Counts(total=1500, bad=0, seconds=10.0), SPEC)
    assert (result.verdict, result.measured) == ("pass", 150.0)
    assert judge(RATE, Counts(total=1500, bad=0, seconds=0.0), SPEC).verdict == "inconclusive"


def test_status_classes_choose_the_bad_events() -> None:
    assert isinstance(SERVER, AvailabilityObjective) and isinstance(ERRORS, ErrorRatioObjective)
    statuses = {"200": 900, "503": 5, "429": 3, "404": 2}
    assert bad_events(SERVER, statuses, failures=10) == 8
    assert bad_events(ERRORS, statuses, failures=10) == 10  # no status classes: the failed ones


def test_a_doubtful_measurement_decides_nothing_not_even_a_failure() -> None:
    failing = judge(ERRORS, Counts(total=1000, bad=100, seconds=10.0), SPEC)
    passing = judge(RATE, Counts(total=2000, bad=0, seconds=10.0), SPEC)
    assert overall([failing, passing]) == ("fail", [f"errors: {failing.reason}"])
    verdict, reasons = overall([failing, passing], ["the run was interrupted before its planned end"])
    assert verdict == "inconclusive"
    assert reasons == ["the run was interrupted before its planned end", f"errors: {failing.reason}"]
    assert overall([passing]) == ("pass", ["all 1 gating objectives met"])
    assert overall([]) == ("inconclusive", ["the spec has no gating objective"])
