"""junit.xml: a test case per objective, with outcomes and counts CI tools understand."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from junitparser import JUnitXml

from slogate.reports.junit import VALIDITY_CASE, render_junit
from tests.reports.conftest import HOSTILE, Judged, Rendered, judge, standard_run


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
    objective_cases = [c for c in cases if " [" not in (c.get("name") or "")]
    assert [c.get("name") for c in objective_cases] == [o.name for o in failing.evaluation.objectives]
    assert {c.get("classname") for c in cases} == {"slogate.checkout-api"}
    # Objectives over all endpoints get a case per endpoint too; single-endpoint ones do not.
    for name in ("error-ratio", "availability", "tail-p99.9"):
        for endpoint in ("GET /content/{id}", "POST /v1/messages"):
            assert f"{name} [{endpoint}]" in {c.get("name") for c in cases}
    assert not any((c.get("name") or "").startswith("messages-p95 [") for c in cases)

    by_name = {c.get("name"): c for c in cases}
    failure = by_name["messages-p95"].find("failure")
    assert failure is not None
    assert failure.get("type") == "slo"
    assert failure.get("message", "").startswith("measured 95.33ms vs threshold ≤ 80ms: p95 95.33ms > 80ms")
    assert failure.text is not None
    assert "measured 95.33ms, threshold ≤ 80ms" in failure.text
    skipped = by_name["tail-p99.9"].find("skipped")  # non-gating and undecided: informational
    assert skipped is not None and "not gating" in (skipped.get("message") or "")
    assert list(by_name["content-p99"]) == [by_name["content-p99"].find("system-out")]

    expected = {"tests": 11, "failures": 1, "errors": 0, "skipped": 3}
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
    assert counts(suite) == {"tests": 12, "failures": 1, "errors": 1, "skipped": 3}


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


ALL_P95_SPEC = """\
service: all-p95
objectives:
  - {name: all-p95, kind: latency, percentile: p95, threshold: 50ms}
"""


def test_a_real_junit_consumer_reads_it(tmp_path: Path, failing: Judged, rich: Judged,
                                        render: Callable[[Judged], Rendered]) -> None:
    """junitparser (a JUnit XML library from PyPI) reads the file, and its own statistics,
    recomputed from the cases, agree with the counts we wrote."""
    for judged in (failing, rich):
        path = tmp_path / "junit.xml"
        path.write_text(render(judged).junit, encoding="utf-8")
        xml = JUnitXml.fromfile(str(path))
        suites = list(xml)
        assert len(suites) == 1  # one suite per spec
        suite = suites[0]
        written = (suite.tests, suite.failures, suite.errors, suite.skipped)
        suite.update_statistics()  # type: ignore[no-untyped-call]  # untyped in junitparser 5
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == written
        cases = {case.name: case for case in suite}
        assert cases["messages-p95"].is_failure
        assert cases["content-p99"].is_passed
        assert "measured 95.33ms vs threshold ≤ 80ms" in cases["messages-p95"].result[0].message
    assert cases[VALIDITY_CASE].is_error  # the rich run lost a worker: never green


def test_per_endpoint_cases_show_where_it_hurts(tmp_path: Path) -> None:
    judged = judge(standard_run(), ALL_P95_SPEC)
    assert judged.evaluation.objectives[0].verdict == "fail"
    path = tmp_path / "junit.xml"
    path.write_text(render_junit(judged.run, judged.evaluation), encoding="utf-8")
    cases = {case.name: case for suite in JUnitXml.fromfile(str(path)) for case in suite}
    slow = cases["all-p95 [POST /v1/messages]"]
    assert not slow.is_passed and "measured 95.33ms vs threshold ≤ 50ms" in slow.result[0].message
    assert cases["all-p95 [GET /content/{id}]"].is_passed  # 20 ms: not where it hurts
    assert not cases["all-p95"].is_passed


def test_per_endpoint_cases_never_fail_a_passing_objective() -> None:
    # All together p95 is under 90 ms; POST /v1/messages alone (95 ms) is over it.
    judged = judge(standard_run(), ALL_P95_SPEC.replace("50ms", "90ms"))
    assert judged.evaluation.verdict == "pass"
    root = ET.fromstring(render_junit(judged.run, judged.evaluation))
    assert counts(root)["failures"] == 0 and counts(root)["tests"] == 3
    case = root.find("testsuite/testcase[@name='all-p95 [POST /v1/messages]']")
    assert case is not None
    assert "beyond the threshold on its own" in (case.findtext("system-out") or "")
