"""Spec loading: good specs load; every fault names its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.slo.spec import AvailabilityObjective, ErrorRatioObjective, LatencyObjective
from slogate.slo.specfile.load import SpecError, load_spec, parse_spec

GOOD = """\
service: checkout-api
period: 7d
warmup: 5s
objectives:
  - name: p99
    kind: latency
    percentile: p99.9
    threshold: 1.5s
    endpoint: POST /v1/messages
  - name: errors
    kind: error_ratio
    max: 0.1%
  - name: availability
    kind: availability
    target: 99.9%
    gating: false
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "spec.yaml")
    return [str(p) for p in caught.value.problems]


def test_good_spec_loads() -> None:
    spec = parse_spec(GOOD, "spec.yaml")
    latency, errors, availability = spec.objectives
    assert isinstance(latency, LatencyObjective)
    assert latency.percentile == 99.9 and latency.threshold_s == 1.5
    assert latency.required_samples == 10_000
    assert isinstance(errors, ErrorRatioObjective) and errors.max_ratio == pytest.approx(0.001)
    assert errors.required_samples == 3000
    assert isinstance(availability, AvailabilityObjective) and not availability.gating
    assert availability.period_s == 7 * 86400 and spec.warmup_s == 5.0


def test_shipped_specs_load() -> None:
    for path in Path("slogate/specs").glob("*.yaml"):
        assert load_spec(path).objectives


def test_bad_yaml_names_line() -> None:
    [message] = problems("service: x\nobjectives:\n  - name: [unclosed\n")
    assert message.startswith("spec.yaml:") and "invalid YAML" in message


def test_unknown_field_names_line_and_field() -> None:
    text = GOOD.replace("    threshold: 1.5s\n", "    threshold: 1.5s\n    treshold: 2s\n")
    assert problems(text) == [
        "spec.yaml:9: objectives[0].treshold: unknown field; expected one of: contract, description, "
        "endpoint, gating, kind, matchers, min_duration, min_samples, name, percentile, target, "
        "threshold, window, window_target"
    ]


def test_threshold_without_unit() -> None:
    [message] = problems(GOOD.replace("threshold: 1.5s", "threshold: 1500"))
    assert message.startswith("spec.yaml:8: objectives[0].threshold: expected a duration with a unit")


def test_percentile_out_of_range() -> None:
    [message] = problems(GOOD.replace("percentile: p99.9", "percentile: 100"))
    assert message.startswith("spec.yaml:7: objectives[0].percentile: expected a percentile between 0")


def test_every_problem_is_reported() -> None:
    text = GOOD.replace("percentile: p99.9", "percentile: -1").replace("max: 0.1%", "max: 12")
    found = problems(text)
    assert len(found) == 2
    assert any("objectives[1].max" in p and "12%" in p for p in found)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("- just a list\n", "expected a mapping"),
        ("- service: x\n  objectives: []\n", "spec.yaml:1: expected a mapping with 'service'"),
        ("service: x\n", "objectives: expected a non-empty list"),
        ("service: x\nobjectives:\n  - kind: nope\n", "objectives[0].kind: expected one of"),
        ("service: x\nobjectives:\n  - name: a\n    kind: latency\n", "objectives[0].percentile: missing"),
        ("service: x\nservice: y\nobjectives: []\n", "duplicate key"),
        ("service: x\nobjectives:\n  - {name: a, kind: availability, target: 100%}\n", "strictly between"),
    ],
)
def test_structural_errors(text: str, fragment: str) -> None:
    assert any(fragment in p for p in problems(text)), problems(text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "absent.yaml")


def test_a_spec_keeps_the_text_it_was_read_from(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(GOOD.replace("\n", "\r\n").encode("utf-8"))
    spec = load_spec(path)
    assert spec.source_text == GOOD.replace("\n", "\r\n")  # as written: the report shows the file
    assert spec == parse_spec(GOOD, str(path)) and parse_spec(GOOD).source_text == GOOD


def test_stream_cache_and_goodput_kinds_load() -> None:
    spec = parse_spec("service: s\nobjectives:\n"
                      "  - {name: t, kind: ttft, percentile: p95, threshold: 1s}\n"
                      "  - {name: r, kind: tokens_per_s, min: 20/s, target: 95%}\n"
                      "  - {name: h, kind: hit_ratio, target: 80%}\n"
                      "  - {name: g, kind: goodput, target: 99%, limits: {ttft: 500ms, total: 20s}}\n")
    ttft, rate = spec.objectives
    assert ttft.kind == "ttft" and rate.kind == "tokens_per_s" and rate.threshold_s == 0.05
    assert rate.tokens_per_s_floor == 20.0 and rate.form == "budget"
    hits, goodput = spec.run_objectives
    assert hits.kind == "hit_ratio" and goodput.kind == "goodput"
    assert goodput.limits.ttft_s == 0.5 and goodput.limits.tpot_s is None and goodput.limits.total_s == 20.0
    assert len(spec.run_judged_objectives) == 4 and len(spec.all_objectives) == 2


def test_goodput_and_hit_ratio_faults_are_named() -> None:
    found = problems("service: s\nobjectives:\n"
                     "  - {name: g, kind: goodput, target: 99%, limits: {ttft: 5, ttfb: 1s}}\n"
                     "  - {name: h, kind: hit_ratio, target: 80%, window: 10s}\n"
                     "  - {name: r, kind: tokens_per_s, min: fast, target: 95%}\n")
    assert any("objectives[0].limits.ttft" in p for p in found)
    assert any("objectives[0].limits.ttfb" in p and "unknown field" in p for p in found)
    assert any("objectives[1].window" in p and "unknown field" in p for p in found)
    assert any("objectives[2].min" in p and "tokens per second" in p for p in found)


_ERROR_RATIO = ("service: s\nobjectives:\n  - name: e\n    kind: error_ratio\n"
                "    endpoint: {endpoint}\n    max: 1%\n")


@pytest.mark.parametrize(("endpoint", "message"), [
    ("get /content/{id}", "the method must be an upper-case HTTP method: 'get /content/{id}' "
                          "(e.g. 'GET /content/{id}')"),
    ("GET content/{id}", "the route must start with '/': 'GET content/{id}'"),
])
def test_endpoints_that_can_never_match_are_refused(endpoint: str, message: str) -> None:
    text = _ERROR_RATIO.format(endpoint=endpoint)
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "slo.yaml")
    assert any(message in str(problem) for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("endpoint", ["GET /content/{id}:hit", "/v1/messages", "POST /v1/messages#ttft"])
def test_endpoints_as_scenarios_record_them_load(endpoint: str) -> None:
    text = _ERROR_RATIO.format(endpoint=endpoint)
    assert parse_spec(text, "slo.yaml").objectives[0].endpoint == endpoint
