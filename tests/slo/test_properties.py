"""Property-based tests: whatever a spec file holds, loading it gives a Spec or a located SpecError.

The inputs are random text, YAML documents built from strategies (spec-shaped and OpenSLO-shaped
mappings with random values, duplicate keys, anchors and aliases, deep nesting, unicode, huge
numbers, NaN and infinities), valid specs with random edits, and files of bytes that are not UTF-8.
Every failure must be a ``SpecError`` whose problems name the file and a line or a field; any other
exception is a traceback the user would see. Units (durations, percentages, rates, percentiles)
round-trip through their formatters and refuse garbage with a ValueError saying what was expected.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from slogate.slo.spec import AvailabilityObjective, ErrorRatioObjective, LatencyObjective, Spec
from slogate.slo.specfile.load import SpecError, load_spec, parse_spec
from slogate.slo.specfile.source import MAX_DEPTH
from slogate.slo.units import (
    DURATION_HELP,
    RATIO_HELP,
    format_duration,
    format_ratio,
    parse_duration,
    parse_ratio,
    parse_time,
)

# Reproducible in CI: the same examples on every run, no example database written to the tree.
REPRODUCIBLE = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def examples(count: int) -> settings:
    return settings(REPRODUCIBLE, max_examples=count)


SOURCE = "specs/hostile.yaml"

VALID_SPEC = """\
service: checkout-api
period: 30d
warmup: 5s
confidence: 95%
labels: {team: payments}
objectives:
  - name: messages-p99
    kind: latency
    endpoint: POST /v1/messages
    percentile: p99
    threshold: 250ms
    min_samples: 100
  - name: errors
    kind: error_ratio
    max: 0.5%
    error_statuses: [5xx, 429]
  - name: up
    kind: availability
    target: 99.9%
    window: 10s
    window_target: 90%
  - name: floor
    kind: throughput
    min: 600/m
"""

VALID_OPENSLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: content-p99}
spec:
  service: checkout
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  indicator:
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: 'histogram_quantile(0.99, sum by (le) (rate(x_bucket{http_route="/c"}[5m])))'}
  objectives:
    - {op: lte, value: 0.1, target: 0.99}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: good-share}
spec:
  ratioMetric:
    good: {metricSource: {type: Prometheus, spec: {query: 'x_bucket{le="0.05"}'}}}
    total: {metricSource: {type: Prometheus, spec: {query: 'x_count'}}}
"""


def check_outcome(text: str, source: str = SOURCE) -> Spec | SpecError:
    """Loads ``text``; a failure must be a SpecError whose every problem is located."""
    try:
        spec = parse_spec(text, source)
    except SpecError as error:
        check_error(error, source, text.count("\n") + 1)
        return error
    check_spec(spec)
    return spec


def check_error(error: SpecError, source: str, lines: int) -> None:
    assert error.problems, "a SpecError lists at least one problem"
    for problem in error.problems:
        assert problem.source == source
        assert problem.message.strip()
        assert problem.line is not None or problem.field, f"no line and no field: {problem}"
        if problem.message.startswith("invalid YAML"):
            assert problem.line is not None, f"a YAML error has a line: {problem}"
        if problem.line is not None:
            assert 1 <= problem.line <= lines, problem
        assert len(str(problem)) < 2000, "an error message stays readable"
    assert str(error).startswith(source)


def check_spec(spec: Spec) -> None:
    """Whatever loads is usable: names present, every number finite and in range."""
    assert spec.service.strip()
    assert math.isfinite(spec.period_s) and spec.period_s > 0
    assert math.isfinite(spec.warmup_s) and spec.warmup_s >= 0
    assert 0.5 <= spec.confidence < 1.0
    for objective in (*spec.objectives, *spec.throughput_objectives):
        assert objective.name.strip()
        assert objective.window_s is None or 0 < objective.window_s < math.inf
        assert 0.0 <= objective.window_target <= 1.0
        if isinstance(objective, LatencyObjective):
            assert 0.0 < objective.percentile < 100.0
            assert 0.0 < objective.threshold_s < math.inf
        elif isinstance(objective, ErrorRatioObjective):
            assert 0.0 <= objective.max_ratio <= 1.0
            assert 0.0 < objective.period_s < math.inf
        elif isinstance(objective, AvailabilityObjective):
            assert 0.0 < objective.target < 1.0
            assert 0.0 < objective.period_s < math.inf
        else:
            assert 0.0 < objective.min_rps < math.inf


def test_the_seed_specs_load() -> None:
    assert isinstance(check_outcome(VALID_SPEC), Spec)
    assert isinstance(check_outcome(VALID_OPENSLO), Spec)


# --- YAML text built from strategies -------------------------------------------------------------
# A tiny emitter instead of yaml.dump, so that documents can hold what a dumper never writes:
# duplicate keys, NaN and infinities as YAML spells them, anchors and aliases, raw control chars.

UNICODE = st.text(st.characters(codec="utf-8"), max_size=12)
NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "p99",
        "p100",
        "p0",
        "P99.9",
        "99.9",
        "250ms",
        "1.5s",
        "0s",
        "-1s",
        "1e3s",
        "30d",
        "4w",
        "1y",
        "9" * 400 + "s",
        "5xx",
        "429",
        "600",
        "999",
        "1000/s",
        "0/s",
        "-5/m",
        "inf/s",
        "nan%",
        "1e400%",
        "99.9%",
        "100%",
        "0%",
        "-1%",
        "%",
        "openslo/v1",
        "openslo/v2",
        "SLO",
        "SLI",
        "latency",
        "ttfb",
        "error_ratio",
        "availability",
        "throughput",
        "lte",
        "lt",
        "gte",
        "Occurrences",
        "Timeslices",
        "Prometheus",
        "Datadog",
        "histogram_quantile(1.2.3, x)",
        'x_bucket{le="+Inf"}',
        'x_bucket{le="0.1"}',
        "٣s",
        "１s",
        "\u202eevil",
        "a\u200bb",
        "<script>",
        "|",
        "`",
    ]
)
NUMBER_TEXT = st.sampled_from(
    [
        ".nan",
        ".NaN",
        ".inf",
        "-.inf",
        "+.inf",
        "1e400",
        "1.0e+400",
        "-0",
        "0",
        "0.0",
        "1",
        "99",
        "100",
        "0.999",
        "1" + "0" * 400,
        "9" * 5000,
        "0x1F",
        "0o17",
        "1_000",
        "2024-13-45",
        "2024-02-30",
        "2024-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "12:30:00",
        "~",
        "null",
        "yes",
        "no",
        "on",
        "off",
        "true",
        "false",
        "!!binary aGVsbG8=",
        "!!binary ***",
        "!!python/object:os.system x",
        "!!set {a}",
        "!!omap [a: 1]",
        "!!timestamp nope",
        "!!int x",
        "!!float y",
        "!custom z",
    ]
)

SPEC_KEYS = {
    "service",
    "description",
    "period",
    "warmup",
    "labels",
    "objectives",
    "confidence",
    "name",
    "kind",
    "endpoint",
    "min_samples",
    "gating",
    "window",
    "window_target",
    "percentile",
    "threshold",
    "target",
    "max",
    "error_statuses",
    "min",
    "apiVersion",
    "metadata",
    "spec",
    "budgetingMethod",
    "indicator",
    "indicatorRef",
    "ratioMetric",
    "thresholdMetric",
    "timeWindow",
    "duration",
    "alertPolicies",
    "op",
    "value",
    "targetPercent",
    "timeSliceWindow",
    "timeSliceTarget",
    "good",
    "bad",
    "total",
    "metricSource",
    "query",
    "type",
    "displayName",
    "<<",
}


def quoted(text: str, raw: bool = False) -> str:
    # JSON strings are YAML double-quoted scalars. Escaped, any character reaches the loader as a
    # value; raw, a character YAML forbids reaches its reader as it would from a file.
    return json.dumps(text, ensure_ascii=not raw)


SCALARS = st.one_of(
    NASTY_TEXT.map(quoted),
    NASTY_TEXT,  # plain, unquoted: YAML resolves it (and may fail to read it)
    NUMBER_TEXT,
    UNICODE.map(quoted),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: ".nan" if math.isnan(x) else (".inf" if x > 0 else "-.inf") if math.isinf(x) else repr(x)
    ),
)


def flow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    keys = st.one_of(NASTY_TEXT, st.sampled_from(sorted(SPEC_KEYS)), SCALARS)
    pairs = st.lists(st.tuples(keys, children), max_size=4)
    return st.one_of(
        st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        pairs.map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
        # a duplicated key, written twice
        st.tuples(keys, children, children).map(lambda t: f"{{{t[0]}: {t[1]}, {t[0]}: {t[2]}}}"),
        st.tuples(st.integers(0, 10**6), children).map(lambda t: f"&x{t[0]} {t[1]}"),
    )


VALUES = st.recursive(SCALARS, flow, max_leaves=6)

# What a field usually holds, so that most documents get past YAML and reach the field checks
# (and some load): a field takes one of these three times in four, anything (VALUES) otherwise.
PLAUSIBLE = {
    "service": ["checkout", "'  '", '"svc <b>"'],
    "description": ["text", "''"],
    "period": ["30d", "1h", "0s"],
    "warmup": ["5s", "0s", "250ms"],
    "confidence": ["95%", "0.9", "50%", "99.99%"],
    "labels": ["{team: x}", "{}", "{a: '1'}"],
    "name": ["a", "b", "'a'", "p99-messages"],
    "endpoint": ["POST /v1/messages", "/c", "''"],
    "min_samples": ["1", "100", "0"],
    "gating": ["true", "false"],
    "window": ["10s", "1m", "0s"],
    "window_target": ["90%", "1", "0.5"],
    "percentile": ["p99", "99.9", "p50", "95"],
    "threshold": ["250ms", "1s", "500us"],
    "target": ["99%", "0.999", "50%"],
    "max": ["1%", "0.001", "0"],
    "error_statuses": ["[5xx, 429]", "5xx", "[50x]"],
    "min": ["100/s", "600/m", "5"],
    "budgetingMethod": ["Occurrences", "Timeslices"],
    "timeWindow": ["[{duration: 28d, isRolling: true}]", "[{duration: 1w}]"],
    "alertPolicies": ["[]", "[p]", "[{alertPolicyRef: p}]"],
    "indicatorRef": ["good-share", "missing"],
    "op": ["lte", "lt"],
    "value": ["0.1", "1", "0.05"],
    "targetPercent": ["99", "99.9"],
    "timeSliceWindow": ["1m", "10s"],
    "timeSliceTarget": ["0.9", "95%"],
}
KIND_FIELDS = {
    "latency": ["percentile", "threshold"],
    "ttfb": ["target", "threshold"],
    "error_ratio": ["max"],
    "availability": ["target"],
    "throughput": ["min"],
}
OPTIONAL_FIELDS = [
    "endpoint",
    "min_samples",
    "gating",
    "window",
    "window_target",
    "description",
    "error_statuses",
    "period",
]


PLAUSIBLE_VALUES = {field: st.sampled_from(values) for field, values in PLAUSIBLE.items()}
ONE_IN_FOUR = st.integers(0, 3).map(lambda n: n == 0)
INDICATOR = st.one_of(
    st.just(
        "{spec: {thresholdMetric: {metricSource: {type: Prometheus, spec: {query: "
        '"histogram_quantile(0.9, x)"}}}}}'
    ),
    st.tuples(st.sampled_from(["thresholdMetric", "ratioMetric", "other"]), VALUES).map(
        lambda t: f"{{spec: {{{t[0]}: {t[1]}}}}}"
    ),
    VALUES,
)


WILDNESS = st.sampled_from([0, 3, 8, 20])
"""How often a field takes any value rather than a plausible one: never, or one in 4, 9 or 21."""


def value_of(draw: st.DrawFn, field: str, wild: int) -> str:
    # Strategies are built once, at import: built inside a draw, Hypothesis keeps ever larger
    # reprs of them.
    if field in PLAUSIBLE_VALUES and (wild == 0 or draw(st.integers(0, wild)) > 0):
        return draw(PLAUSIBLE_VALUES[field])
    return draw(VALUES)


@st.composite
def objective_text(draw: st.DrawFn, index: int, wild: int) -> str:
    kind = draw(st.sampled_from([*KIND_FIELDS, *(["bogus", "[latency]", "{a: 1}"] if wild else [])]))
    fields = [
        *KIND_FIELDS.get(kind, []),
        *draw(st.lists(st.sampled_from(OPTIONAL_FIELDS), max_size=3, unique=not wild)),
    ]
    if wild and draw(ONE_IN_FOUR):  # a stray field
        fields.append(draw(st.sampled_from(sorted(SPEC_KEYS))))
    name = f"o{index}" if not wild or draw(st.booleans()) else value_of(draw, "name", wild)
    body = "".join(f", {field}: {value_of(draw, field, wild)}" for field in fields)
    return f"{{name: {name}, kind: {kind}{body}}}"


@st.composite
def spec_document(draw: st.DrawFn) -> str:
    """A block-style spec whose keys are mostly right and whose values are often wrong."""
    wild = draw(WILDNESS)
    lines = ["service: " + value_of(draw, "service", wild)]
    anchored = draw(st.booleans())
    if anchored:
        lines.append(f"labels: &a {value_of(draw, 'labels', wild)}")
    keys = ["period", "warmup", "confidence", "description", *(["extra", "service"] if wild else [])]
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=not wild)):
        lines.append(f"{key}: {'*a' if anchored and draw(st.booleans()) else value_of(draw, key, wild)}")
    objectives = [f"  - {draw(objective_text(index, wild))}" for index in range(draw(st.integers(0, 3)))]
    if wild and draw(ONE_IN_FOUR):
        objectives.append(f"  - {draw(VALUES)}")
    if wild and draw(st.integers(0, 7)) == 0:  # what YAML forbids, raw, as a file could hold it
        lines.append(f"description: {quoted(draw(UNICODE), raw=True)}")
    ordered = draw(st.permutations(lines)) if draw(ONE_IN_FOUR) else lines
    heading = "objectives:" + ("" if objectives else f" {draw(VALUES)}")
    return "\n".join([*ordered, heading, *objectives]) + "\n"


@st.composite
def openslo_document(draw: st.DrawFn) -> str:
    wild = draw(WILDNESS)
    kind = draw(
        st.sampled_from(["SLO", "SLO", "SLO", "SLI", "DataSource", "AlertPolicy", "Service", "Nope", "[SLO]"])
    )
    if kind == "SLI":
        query, source = value_of(draw, "query", wild), value_of(draw, "type", wild)
        return (
            "apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: good-share}\nspec:\n  ratioMetric:\n"
            f"    good: {{metricSource: {{type: Prometheus, spec: {{query: {query}}}}}}}\n"
            f"    total: {{metricSource: {{type: {source}, spec: {{query: x_count}}}}}}\n"
        )
    indicator = draw(INDICATOR)
    objective_fields = draw(
        st.lists(
            st.sampled_from(
                [
                    "op",
                    "value",
                    "target",
                    "targetPercent",
                    "timeSliceWindow",
                    "timeSliceTarget",
                    "displayName",
                ]
            ),
            unique=True,
            max_size=5,
        )
    )
    objectives = [
        "{"
        + ", ".join(f"{field}: {value_of(draw, field, wild)}" for field in ["op", "value", *objective_fields])
        + "}"
        for _ in range(draw(st.integers(0, 2)))
    ]
    spec = {
        "service": value_of(draw, "service", wild),
        "budgetingMethod": value_of(draw, "budgetingMethod", wild),
        "objectives": "[" + ", ".join(objectives) + "]",
    }
    spec["indicatorRef" if draw(ONE_IN_FOUR) else "indicator"] = (
        value_of(draw, "indicatorRef", wild) if "indicatorRef" not in spec else indicator
    )
    spec["indicator"] = indicator
    for field in draw(
        st.lists(st.sampled_from(["timeWindow", "alertPolicies", "indicatorRef"]), unique=True)
    ):
        spec[field] = value_of(draw, field, wild)
    api = draw(st.sampled_from(["openslo/v1"] * 4 + ["openslo/v2", "1"]))
    name = value_of(draw, "name", wild)
    if draw(st.integers(0, 7)) == 0:
        name = quoted(draw(UNICODE), raw=True)
    body = ", ".join(f"{key}: {value}" for key, value in spec.items())
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {{{body}}}\n"


@examples(300)
@given(spec_document())
def test_spec_shaped_documents_load_or_give_located_errors(text: str) -> None:
    check_outcome(text)


@examples(250)
@given(st.lists(openslo_document(), min_size=1, max_size=4).map("---\n".join))
def test_openslo_documents_load_or_give_located_errors(text: str) -> None:
    check_outcome(text)


@examples(200)
@given(VALUES)
def test_any_yaml_value_as_a_whole_document(text: str) -> None:
    check_outcome(text)


@examples(200)
@given(st.text(max_size=300))
@example("\x00")
@example("service: x\n\tobjectives: []\n")
@example("key: 'unterminated\n")
@example("a: b: c\n")
@example("%YAML 9.9\n---\nx: 1\n")
@example("--- !<tag:yaml.org,2002:python/object/apply:os.system> [ls]\n")
def test_random_text(text: str) -> None:
    check_outcome(text)


@examples(200)
@given(st.sampled_from([VALID_SPEC, VALID_OPENSLO]), st.data())
def test_valid_specs_with_random_edits(seed: str, data: st.DataObject) -> None:
    """Insert, delete or replace a few characters: the typos a person makes."""
    text = seed
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 5))
        insert = data.draw(st.one_of(st.sampled_from(list(":-[]{}&*!|>'\"#%@`\t\n ,?")), st.text(max_size=3)))
        text = text[:at] + insert + text[at + cut :]
    check_outcome(text)


@pytest.mark.parametrize(
    "text",
    [
        "service: " + "[" * 5000 + "]" * 5000,
        "service: " + "{a: " * 3000 + "1" + "}" * 3000,
        "objectives:\n" + "".join("  " * i + "- \n" for i in range(1, 2000)),
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_deep_nesting_is_refused_with_a_line(text: str) -> None:
    error = check_outcome(text)
    assert isinstance(error, SpecError)
    assert f"nested deeper than {MAX_DEPTH} levels" in str(error)


def test_nesting_built_by_aliases_and_exponential_aliases_fail_fast() -> None:
    """'Billion laughs': each alias doubles the structure; and a chain of aliases 3,000 deep.
    Errors show a bounded repr of the value instead of walking all of it."""
    laughs = ["a0: &a0 [lol, lol]"] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 40)]
    chain = ["c0: &c0 [x]"] + [f"c{i}: &c{i} [*c{i - 1}]" for i in range(1, 3000)]
    for name, lines in (("a39", laughs), ("c2999", chain)):
        text = "\n".join(lines) + (
            f"\nservice: *{name}\nperiod: *{name}\nobjectives:\n  - kind: *{name}\n"
            f"    name: *{name}\n    error_statuses: *{name}\n"
        )
        started = time.perf_counter()
        error = check_outcome(text)
        assert isinstance(error, SpecError)
        assert time.perf_counter() - started < 5.0  # a full repr would never finish
        assert "objectives[0].kind" in str(error) and "service" in str(error)


def test_huge_numbers_and_bad_timestamps_are_located() -> None:
    for value, expected in [
        ("9" * 5000, "Exceeds the limit"),
        ("2024-13-45", "month must be in"),
        ("2024-02-30", "day is out of range"),
    ]:
        error = check_outcome(
            f"service: x\nobjectives:\n  - name: a\n    kind: error_ratio\n    max: {value}\n"
        )
        assert isinstance(error, SpecError)
        assert f"{SOURCE}:5: invalid YAML: cannot read the value" in str(error) and expected in str(error)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("percentile", "1" + "0" * 400),
        ("threshold", "9" * 400 + "ms"),
        ("max", "1" + "0" * 400),
        ("target", ".nan"),
        ("percentile", ".inf"),
        ("min", ".inf"),
        ("min", "9" * 400 + "/s"),
    ],
)
def test_non_finite_quantities_are_refused(field: str, value: str) -> None:
    kind = {"max": "error_ratio", "target": "availability", "min": "throughput"}.get(field, "latency")
    extra = "    threshold: 1s\n" if kind == "latency" and field != "threshold" else ""
    extra += "    percentile: p99\n" if field == "threshold" else ""
    text = f"service: x\nobjectives:\n  - name: a\n    kind: {kind}\n    {field}: {value}\n{extra}"
    error = check_outcome(text)
    assert isinstance(error, SpecError) and f"{SOURCE}:5: objectives[0].{field}: expected" in str(error)


OPENSLO_SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata: {{name: a}}
spec:
  budgetingMethod: Occurrences
  {field}
  indicator:
    spec:
      thresholdMetric:
        metricSource: {{type: Prometheus, spec: {{query: "histogram_quantile({quantile}, x)"}}}}
  objectives:
    - {{op: lte, value: {value}, target: 0.99}}
"""


@pytest.mark.parametrize(
    ("field", "quantile", "value", "expected"),
    [
        ("indicatorRef: [a, b]", "0.9", "0.1", ":6: document[0].spec.indicatorRef: no SLI named ['a', 'b']"),
        ("alertPolicies: 3", "0.9", "0.1", ":6: document[0].spec.alertPolicies: expected a list"),
        ("timeWindow: [{duration: " + "9" * 5000 + "d}]", "0.9", "0.1", "timeWindow[0].duration"),
        ("service: s", "1.2.3", "0.1", "expected a quantile in (0, 1), got '1.2.3'"),
        ("service: s", "0.9", "1" + "0" * 400, ":12: document[0].spec.objectives[0].op: expected op lte"),
        ("service: s", "0.9", ".inf", ":12: document[0].spec.objectives[0].op: expected op lte"),
    ],
    ids=["unhashable-ref", "policies-not-a-list", "huge-window", "bad-quantile", "huge-value", "inf-value"],
)
def test_openslo_importer_names_what_is_wrong(field: str, quantile: str, value: str, expected: str) -> None:
    error = check_outcome(OPENSLO_SLO.format(field=field, quantile=quantile, value=value))
    assert isinstance(error, SpecError)
    assert expected in str(error)


@examples(60)
@given(st.binary(max_size=200), st.integers(0, len(VALID_SPEC)))
def test_files_that_are_not_utf8(tmp_path_factory: pytest.TempPathFactory, junk: bytes, at: int) -> None:
    """A file read from disk: random bytes, or a valid spec with bytes spliced in."""
    folder = tmp_path_factory.mktemp("specs")
    for raw in (junk, VALID_SPEC.encode()[:at] + junk + VALID_SPEC.encode()[at:]):
        path = folder / "spec.yaml"
        path.write_bytes(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            with pytest.raises(SpecError) as info:
                load_spec(path)
            (problem,) = info.value.problems
            assert problem.source == str(path) and problem.line == raw.count(b"\n", 0, exc.start) + 1
            assert "not UTF-8" in problem.message
            continue
        try:
            check_spec(load_spec(path))
        except SpecError as error:
            check_error(error, str(path), text.count("\n") + 1)


def test_unreadable_paths_are_spec_errors(tmp_path: Path) -> None:
    for path, message in [
        (tmp_path, "cannot read"),
        (tmp_path / "missing.yaml", "cannot read"),
        (Path("bad\x00name.yaml"), "cannot read"),
    ]:
        with pytest.raises(SpecError, match=message):
            load_spec(path)


# --- units ------------------------------------------------------------------------------------


@examples(300)
@given(st.floats(min_value=1e-6, max_value=364 * 86400))
@example(1e-3 - 1e-9).via("the ms boundary")
def test_durations_round_trip(seconds: float) -> None:
    text = format_duration(seconds)
    # 4 significant digits (from a year on, years: tests/slo/test_units.py)
    assert parse_duration(text) == pytest.approx(seconds, rel=5e-4, abs=0.5e-9), text


@examples(200)
@given(
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
    st.sampled_from(["us", "µs", "ms", "s", "m", "h", "d"]),
    st.sampled_from(["", " ", "  "]),
)
def test_written_durations_parse_exactly(number: Any, unit: str, space: str) -> None:
    factor = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}[unit]
    assert parse_duration(f"{space}{number}{space}{unit}{space}") == pytest.approx(float(number) * factor)


@examples(300)
@given(st.floats(min_value=0.0, max_value=1.0))
@example(0.99995).via("rounds up to 100%")
def test_ratios_round_trip(fraction: float) -> None:
    text = format_ratio(fraction).lstrip("<> ")  # '< 0.0001%', '> 99.9999%' at the ends
    assert parse_ratio(text) == pytest.approx(fraction, rel=5e-4, abs=1e-6), text


@examples(100)
@given(
    st.floats(min_value=0.01, max_value=1e6),
    st.sampled_from([("s", 1.0), ("m", 60.0), ("h", 3600.0)]),
    st.floats(min_value=0.1, max_value=99.9),
)
def test_rates_and_percentiles_round_trip_through_a_spec(
    rate: float, per: tuple[str, float], percentile: float
) -> None:
    text = (
        f"service: x\nobjectives:\n  - {{name: floor, kind: throughput, min: {rate!r}/{per[0]}}}\n"
        f"  - {{name: tail, kind: latency, percentile: p{percentile!r}, threshold: 1s}}\n"
    )
    spec = parse_spec(text)
    assert spec.throughput_objectives[0].min_rps == pytest.approx(rate / per[1])
    latency = spec.objectives[0]
    assert isinstance(latency, LatencyObjective) and latency.percentile == pytest.approx(percentile)


ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.binary(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=8,
)


@examples(300)
@given(st.one_of(ANYTHING, st.text(max_size=30), st.from_regex(r"\A\s*[0-9.eE+-]{0,12}\s*[a-zµ%]{0,3}\s*\Z")))
@example(10**5000)
@example("9" * 400 + "s")
@example("1e3s")
@example("nan%")
def test_units_refuse_garbage_saying_what_was_expected(value: object) -> None:
    for parse, expected in ((parse_duration, DURATION_HELP), (parse_ratio, RATIO_HELP)):
        try:
            result = parse(value)
        except ValueError as error:
            assert f"expected {expected}, got " in str(error)
            assert len(str(error)) < 500
        else:
            assert math.isfinite(result) and result >= 0.0
            if parse is parse_ratio:
                assert result <= 1.0
            else:
                assume(isinstance(value, str))


@examples(200)
@given(
    st.one_of(st.text(max_size=30), st.from_regex(r"\Anow-.{0,8}\Z"), st.from_regex(r"\A[0-9T:.+Z-]{4,30}\Z"))
)
@example("1e400")
@example("nan")
@example("-inf")
def test_times_parse_to_finite_seconds_or_say_what_was_expected(text: str) -> None:
    try:
        moment = parse_time(text, 1_700_000_000.0)
    except ValueError as error:
        assert "expected" in str(error)
    else:
        assert math.isfinite(moment)
