"""junit.xml: a test case per objective, with outcomes and counts CI tools understand."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from reports.junit import VALIDITY_CASE
from tests.reports.conftest import HOSTILE, Judged, Rendered


def suite_of(xml: str) -> tuple[ET.Element, ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    return root, suites[0]


def counts(element: ET.Element) -> dict[str, int]:
    return {key: int(element.get(key, "-1")) for key in ("tests", "failures", "errors", "skipped")}


def test_one_testcase_per_objective(failing: Judged, render: Callable[[Judged], Rendered]) -> None:
    root, suite = suite_of(render(failing).junit)
    assert suite.get("name") == "checkout-api"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [o.name for o in failing.evaluation.objectives]
    assert {c.get("classname") for c in cases} == {"slogate.checkout-api"}

    by_name = {c.get("name"): c for c in cases}
    failure = by_name["messages-p95"].find("failure")
    assert failure is not None
    assert failure.get("type") == "slo"
    assert failure.get("message") == "p95 95.33ms > 80ms"
    assert failure.text is not None
    assert "measured 95.33ms, threshold ≤ 80ms" in failure.text
    skipped = by_name["tail-p99.9"].find("skipped")  # non-gating and undecided: informational
    assert skipped is not None and "not gating" in (skipped.get("message") or "")
    assert list(by_name["content-p99"]) == [by_name["content-p99"].find("system-out")]

    expected = {"tests": 5, "failures": 1, "errors": 0, "skipped": 1}
    assert counts(suite) == expected
    assert counts(root) == expected
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "fail" and props["run_id"] == "run-2024-01-01-abc"


def test_inconclusive_objectives_are_errors(empty: Judged,
                                            render: Callable[[Judged], Rendered]) -> None:
    _, suite = suite_of(render(empty).junit)
    errors = suite.findall("testcase/error")
    gating = [o for o in empty.evaluation.objectives if o.gating]
    assert len(errors) == len(gating)
    assert {e.get("type") for e in errors} == {"inconclusive"}
    assert counts(suite) == {"tests": 5, "failures": 0, "errors": 4, "skipped": 1}


def test_invalid_measurement_adds_an_error_case(invalid: Judged,
                                                render: Callable[[Judged], Rendered]) -> None:
    _, suite = suite_of(render(invalid).junit)
    case = suite.find(f"testcase[@name='{VALIDITY_CASE}']")
    assert case is not None
    error = case.find("error")
    assert error is not None and error.get("type") == "invalid-measurement"
    assert "generator_saturated" in (error.get("message") or "")
    assert "incomplete" in (error.get("message") or "")
    assert counts(suite) == {"tests": 6, "failures": 1, "errors": 1, "skipped": 1}


def test_hostile_names_stay_well_formed(hostile: Judged,
                                        render: Callable[[Judged], Rendered]) -> None:
    xml = render(hostile).junit
    assert "\x00" not in xml and "\x07" not in xml
    assert "<script>" not in xml
    _, suite = suite_of(xml)
    names = [c.get("name") or "" for c in suite.findall("testcase")]
    assert names[0].startswith("lat <script>alert(1)</script> | a&b `tick` bell")
    assert "\n" not in names[0]
    assert HOSTILE.split("\n")[0].replace("\x07", "").replace("\x00", "") in names[0]
