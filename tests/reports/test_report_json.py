"""evaluation.json: the evaluation's own JSON form, readable back, strictly valid JSON, and valid
against its published JSON Schema (reports/schemas/evaluation.schema.json)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from jsonschema import Draft202012Validator

from slogate.reports import render_json
from slogate.reports.schemas import evaluation_schema
from slogate.slo.evaluation import Evaluation
from tests.reports.conftest import Judged, Rendered


def strict_loads(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_round_trips_to_the_same_evaluation(failing: Judged,
                                            render: Callable[[Judged], Rendered]) -> None:
    text = render(failing).json
    data = strict_loads(text)
    assert data == failing.evaluation.to_dict()
    assert isinstance(data, dict)
    assert Evaluation.from_dict(data) == failing.evaluation
    assert text.startswith('{\n  "schema_version": 1,')


def test_zero_budget_burn_rate_is_null(hostile: Judged,
                                       render: Callable[[Judged], Rendered]) -> None:
    zero_budget = hostile.evaluation.objectives[1]
    assert zero_budget.burn_rate is None  # a zero budget has no burn rate
    data = strict_loads(render(hostile).json)
    assert isinstance(data, dict)
    assert data["objectives"][1]["burn_rate"] is None


@pytest.mark.parametrize("scenario", ["failing", "passing", "invalid", "empty", "failures_only",
                                      "hostile", "rich"])
def test_real_output_is_valid_against_the_published_schema(
    scenario: str, request: pytest.FixtureRequest
) -> None:
    judged: Judged = request.getfixturevalue(scenario)
    data = strict_loads(render_json(judged.evaluation))
    validator = Draft202012Validator(evaluation_schema())
    assert list(validator.iter_errors(data)) == []


def test_the_schema_is_a_schema_and_rejects_what_it_should(failing: Judged) -> None:
    schema = evaluation_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    good = failing.evaluation.to_dict()
    for broken in (
        {**good, "verdict": "maybe"},
        {**good, "schema_version": 2},
        {key: value for key, value in good.items() if key != "objectives"},
        {**good, "objectives": [{**good["objectives"][0], "measured": "95ms"}]},
        {**good, "objectives": [{**good["objectives"][0], "gating": "yes"}]},
    ):
        assert not validator.is_valid(broken)


def test_every_field_written_is_described(rich: Judged) -> None:
    """Readers learn the fields from the schema: none the evaluation writes may be missing."""
    schema = evaluation_schema()
    data = rich.evaluation.to_dict()
    assert set(data) <= set(schema["properties"])
    described = set(schema["$defs"]["objective"]["properties"])
    undescribed = set(data["objectives"][0]) - described
    assert undescribed == set(), f"describe {sorted(undescribed)} in reports/schemas"
