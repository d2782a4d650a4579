"""evaluation.json: the evaluation's own JSON form, readable back, and strictly valid JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

from slo.evaluation import Evaluation
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
