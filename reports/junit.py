"""``junit.xml``: one test case per objective, so CI test views show the SLOs.

Layout: ``<testsuites>`` holding one ``<testsuite name=service>`` (and, after ``gate --prometheus``,
a second one for the server side); per objective a
``<testcase classname="slogate.<service>" name="<objective>">`` that is plain when it passed,
holds ``<failure type="slo">`` when it failed, ``<error type="inconclusive">`` when it could
not be decided, and ``<skipped>`` when a non-gating (informational) objective did not pass.
A run with validity problems (or cut short) gets one more case, ``measurement validity``, with
an ``<error type="invalid-measurement">``: the gate says inconclusive, so CI must not show green.

An objective that covers several endpoints (no endpoint, or a pattern matching more than one)
also gets one case per endpoint, ``<objective> [<endpoint>]``, showing where it hurts: it fails
when the objective failed and that endpoint alone is beyond the threshold, is skipped when the
objective was not decided, and passes otherwise, so JUnit never says red when the gate said
green. Failure messages state the measured value against the threshold.

Built with ElementTree, so every value is escaped; characters XML 1.0 forbids are removed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from slogate.reports import format as fmt
from slogate.reports import series
from slogate.slo.evaluation import Evaluation, ObjectiveResult
from slogate.slo.run import EndpointWindow, RunResult

VALIDITY_CASE = "measurement validity"
MAX_ERRORS = 20


def render_junit(run: RunResult, evaluation: Evaluation, *, server: Evaluation | None = None) -> str:
    """With ``server`` (the spec judged from Prometheus), a second suite holds its objectives, so a
    CI view is red when either side failed, as the gate is."""
    classname = f"slogate.{fmt.one_line(evaluation.service)}"
    suite = ET.Element("testsuite", {
        "name": fmt.one_line(evaluation.service),
        "timestamp": fmt.timestamp(run.started_at).removesuffix("Z"),
        "time": _seconds(run.duration_s),
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(run, evaluation):
        # The name too: a load model's keys come from the run file, like any other run text.
        ET.SubElement(properties, "property", {"name": _text(name), "value": _text(value)})

    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    per_endpoint = series.windows(run, evaluation.window_start_s)
    for objective in evaluation.objectives:
        outcome = _objective_case(suite, classname, objective)
        counts["tests"] += 1
        if outcome:
            counts[outcome] += 1
        for name in _covered_endpoints(objective, per_endpoint):
            outcome = _endpoint_case(suite, classname, objective, name, per_endpoint[name])
            counts["tests"] += 1
            if outcome:
                counts[outcome] += 1
    problems = _validity_problems(run)
    if problems:
        case = ET.SubElement(suite, "testcase",
                             {"classname": classname, "name": VALIDITY_CASE, "time": "0"})
        error = ET.SubElement(case, "error", {
            "type": "invalid-measurement",
            "message": _text(fmt.truncate("; ".join(problems), 1000)),
        })
        error.text = _text("\n".join(problems))
        counts["tests"] += 1
        counts["errors"] += 1

    out = ET.SubElement(suite, "system-out")
    out.text = _text(_summary(run, evaluation))
    for key, number in counts.items():
        suite.set(key, str(number))

    suites = [suite]
    if server is not None:
        server_suite, server_counts = _server_suite(server)
        suites.append(server_suite)
        counts = {key: number + server_counts[key] for key, number in counts.items()}
    root = ET.Element("testsuites", {
        "name": "slogate",
        **{key: str(number) for key, number in counts.items()},
        "time": _seconds(run.duration_s),
    })
    root.extend(suites)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _server_suite(server: Evaluation) -> tuple[ET.Element, dict[str, int]]:
    """The objectives as judged from Prometheus: one case each, classed apart from the client's."""
    name = f"{fmt.one_line(server.service)} (server side, Prometheus)"
    suite = ET.Element("testsuite", {"name": name, "timestamp": fmt.timestamp(server.window_end_s)
                                     .removesuffix("Z"), "time": "0"})
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for objective in server.objectives:
        outcome = _objective_case(suite, f"slogate.{fmt.one_line(server.service)}.server", objective)
        counts["tests"] += 1
        if outcome:
            counts[outcome] += 1
    for key, number in counts.items():
        suite.set(key, str(number))
    return suite, counts


def _objective_case(suite: ET.Element, classname: str, objective: ObjectiveResult) -> str | None:
    """Adds the test case of one objective; returns the count it adds to, if any."""
    case = ET.SubElement(suite, "testcase",
                         {"classname": classname, "name": fmt.one_line(objective.name), "time": "0"})
    details = "\n".join(f"{label}: {value}" for label, value in fmt.objective_details(objective))
    reason = _text(fmt.one_line(objective.reason, 1000))
    outcome: str | None = None
    if objective.verdict != "pass" and not objective.gating:
        skipped = ET.SubElement(case, "skipped", {
            "message": f"not gating ({objective.verdict}): {reason}",
        })
        skipped.text = _text(details)
        outcome = "skipped"
    elif objective.verdict == "fail":
        failure = ET.SubElement(case, "failure", {"type": "slo", "message": _text(
            f"measured {fmt.measured(objective)} vs threshold {fmt.threshold(objective)}: {reason}"
        )})
        failure.text = _text(
            f"measured {fmt.measured(objective)}, threshold {fmt.threshold(objective)}, "
            f"margin {fmt.margin(objective)}\n\n{details}"
        )
        outcome = "failures"
    elif objective.verdict == "inconclusive":
        error = ET.SubElement(case, "error", {"type": "inconclusive", "message": reason})
        error.text = _text(details)
        outcome = "errors"
    else:
        out = ET.SubElement(case, "system-out")
        out.text = _text(details)
    return outcome


def _covered_endpoints(
    objective: ObjectiveResult, per_endpoint: dict[str, EndpointWindow]
) -> list[str]:
    """The endpoints an objective covers, when more than one and it has per-endpoint figures."""
    if objective.kind not in ("latency", "error_ratio", "availability"):
        return []
    names = list(objective.matched_endpoints) if objective.endpoint is not None \
        else sorted(per_endpoint)
    names = [name for name in names if name in per_endpoint]
    return names if len(names) > 1 else []


def _endpoint_case(
    suite: ET.Element, classname: str, objective: ObjectiveResult, name: str,
    window: EndpointWindow,
) -> str | None:
    case = ET.SubElement(suite, "testcase", {
        "classname": classname,
        "name": f"{fmt.one_line(objective.name)} [{fmt.one_line(fmt.endpoint_name(name))}]",
        "time": "0",
    })
    value = series.endpoint_measurement(window, objective.kind, objective.percentile)
    # The endpoint's figure in the objective's own terms, formatted as the objective's are.
    measured = fmt.shown(value, objective.unit)
    lower_bound = objective.kind == "availability"
    beyond = value is not None and (value < objective.threshold if lower_bound
                                    else value > objective.threshold)
    text = (f"endpoint {fmt.one_line(fmt.endpoint_name(name))}: measured {measured} "
            f"vs threshold {fmt.threshold(objective)} ({fmt.count(window.requests)} requests); "
            f"the objective over all its endpoints: {fmt.verdict_label(objective.verdict)}")
    if objective.verdict == "inconclusive" or (objective.verdict == "fail" and not objective.gating):
        skipped = ET.SubElement(case, "skipped", {"message": _text(fmt.truncate(text, 1000))})
        skipped.text = _text(text)
        return "skipped"
    if objective.verdict == "fail" and beyond:
        failure = ET.SubElement(case, "failure", {"type": "slo", "message": _text(
            f"measured {measured} vs threshold {fmt.threshold(objective)} "
            f"on {fmt.one_line(fmt.endpoint_name(name), 200)}"
        )})
        failure.text = _text(text)
        return "failures"
    out = ET.SubElement(case, "system-out")
    out.text = _text(text + ("; beyond the threshold on its own" if beyond else ""))
    return None


def _validity_problems(run: RunResult) -> list[str]:
    problems = [f"{flag.code}: {fmt.one_line(flag.message)}" for flag in run.validity]
    if not run.complete:
        problems.append("incomplete: the run ended before its planned end")
    return problems


def _properties(run: RunResult, evaluation: Evaluation) -> list[tuple[str, str]]:
    props = [
        ("verdict", evaluation.verdict),
        ("exit_code", str(int(evaluation.exit_code))),
        ("run_id", run.run_id),
        ("target", run.target),
        ("scenario", run.scenario),
        ("spec", evaluation.spec_source),
        ("complete", "true" if run.complete else "false"),
        ("slogate_version", run.slogate_version),
    ]
    if run.git_revision:
        props.append(("git_revision", run.git_revision))
    props += [(f"load_model.{key}", fmt.param(value)) for key, value in run.load_model.items()]
    return props


def _summary(run: RunResult, evaluation: Evaluation) -> str:
    lines = [f"verdict: {fmt.verdict_label(evaluation.verdict)}"]
    lines += [f"  - {fmt.one_line(reason)}" for reason in evaluation.reasons]
    if run.errors:
        lines.append("most frequent errors:")
        groups = sorted(run.errors, key=lambda e: (-e.count, e.endpoint, e.kind, e.message))
        lines += [
            f"  {e.count:>8,}  {fmt.one_line(e.endpoint, 100)}  {fmt.one_line(e.kind, 100)}: "
            f"{fmt.one_line(e.message, fmt.ERROR_MESSAGE_LIMIT)}"
            for e in groups[:MAX_ERRORS]
        ]
    return "\n".join(lines)


def _text(value: object) -> str:
    """Text safe for an XML 1.0 document: secrets masked, forbidden characters removed."""
    return fmt.safe_text(value)


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"
