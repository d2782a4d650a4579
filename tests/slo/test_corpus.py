"""The corpus of real public SLO files (``data/corpus``, origins in its README): every file imports
or is refused with a located message, never a traceback, and each file's outcome is the one in
``EXPECTED``, so a change of meaning (a file that starts or stops importing, another message) shows
here. ``python -m tests.slo.test_corpus`` prints the table: files, imported, refused by reason.

Set level: within each folder of origin (``GROUPS``), the files whose objects name each other's (an
SLO and the file of its SLI, policy or conditions) are loaded together, as ``slogate validate``
groups its arguments, and each set's outcome is the one in ``EXPECTED_SETS``."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from slogate.slo.specfile.load import SpecError, group_by_references, load_spec, load_specs

CORPUS = Path(__file__).parent / "data" / "corpus"
FILES = sorted(CORPUS.rglob("*.y*ml"))

REASONS: tuple[tuple[str, str], ...] = (
    (r"apiVersion: unsupported 'openslo/v1alpha'", "OpenSLO v1alpha (superseded by v1)"),
    (r"apiVersion: unsupported 'openslo.com/v2alpha'", "OpenSLO v2alpha (a draft)"),
    (r"apiVersion: unsupported", "unknown apiVersion"),
    (r"no SLO document|no SLO:", "no SLO in the file (only services, SLIs, policies...)"),
    (r"data source type|metric source", "data source other than Prometheus"),
    (r"no SLI named|no AlertPolicy named", "reference to an object in another file"),
    (r"RatioTimeslices", "RatioTimeslices budgeting"),
    (r"timeSliceTarget: a thresholdMetric", "thresholdMetric Timeslices with timeSliceTarget < 1"),
    (r"duration|calendar window", "time window (rolling months, 1m, quarters)"),
    (r"plugin", "Sloth plugins (Go code run by Sloth)"),
    (r"one file judges one service", "several services in one file"),
    (r"native histograms", "Pyrra native histograms"),
    (r"unsupported Sloth version", "unknown Sloth version"),
    (r"objective, not objective|expected a non-empty list", "no objectives (the example's typo 'objective')"),
    (r"expected a mapping with 'service'", "empty file"),
    (r"alerting.pageAlert: unknown field", "camelCase pageAlert in a prometheus/v1 file (Sloth ignores it)"),
    (r".", "invalid spec (the origin's own negative test)"),
)
"""A refusal's reason for the table, by its first message (first match wins)."""


def outcome(path: Path) -> str:
    """'imported: N' (objectives) or 'refused: field: message' (the first problem, shortened)."""
    try:
        spec = load_spec(path)
    except SpecError as exc:
        problem = exc.problems[0]
        return f"refused: {problem.field}: {problem.message}"[:96]
    return f"imported: {len(spec.all_objectives)}"


GROUPS = (
    "openslo-go-sdk/openslo_v1_examples_", "openslo-go-sdk/openslo_v1alpha_examples_",
    "openslo-go-sdk/openslo_v2alpha_examples_", "openslo-go-sdk/openslosdk_test_data_decode_",
    "openslo-go-sdk/openslosdk_test_data_encode_", "openslo-go-sdk/openslosdk_test_data_export_inputs_",
    "openslo-go-sdk/openslosdk_test_data_export_outputs_",
    "openslo-go-sdk/openslosdk_test_data_inline_inputs_",
    "openslo-go-sdk/openslosdk_test_data_inline_outputs_", "openslo-spec/examples_",
    "openslo-spec/schema-test_spec-files_v1_", "oslo/internal_files_testdata_", "oslo/test_inputs_",
    "pyrra/", "sloth/examples_", "sloth/test_integration_",
)
"""The folders the corpus files came from (their names keep the folder as a prefix): files of one
folder may be one spec; files of different folders (independent fixtures) are never."""


def corpus_sets() -> list[list[Path]]:
    """The corpus's sets of more than one file: per folder of origin, files that name each other's
    objects."""
    sets: list[list[Path]] = []
    for prefix in GROUPS:
        folder = [path for path in FILES if path.relative_to(CORPUS).as_posix().startswith(prefix)]
        sets += [files for files in group_by_references(folder) if len(files) > 1]
    return sets


def set_name(files: list[Path]) -> tuple[str, ...]:
    return tuple(path.relative_to(CORPUS).as_posix() for path in files)


def set_outcome(files: list[Path]) -> str:
    """'imported: N' or 'refused: file:line: field: message' (the first problem, shortened)."""
    try:
        spec = load_specs(files)
    except SpecError as exc:
        problem = exc.problems[0]
        where = f"{Path(problem.source).relative_to(CORPUS).as_posix()}:{problem.line}" if problem.line \
            else "(set)"
        return f"refused: {where}: " + f"{problem.field}: {problem.message}".replace(f"{CORPUS}/", "")[:96]
    return f"imported: {len(spec.all_objectives)}"


def reason(refusal: str) -> str:
    return next(name for pattern, name in REASONS if re.search(pattern, refusal))


def table() -> str:
    """The corpus in figures: per origin, files and imports, then the refusals by reason."""
    outcomes = {path.relative_to(CORPUS).as_posix(): outcome(path) for path in FILES}
    origins = sorted({name.split("/")[0] for name in outcomes})
    lines = ["| Origin | Files | Imported | Refused |", "|---|---:|---:|---:|"]
    for origin in [*origins, None]:
        chosen = [o for n, o in outcomes.items() if origin is None or n.startswith(f"{origin}/")]
        imported = sum(o.startswith("imported") for o in chosen)
        lines.append(f"| {origin or '**all**'} | {len(chosen)} | {imported} | {len(chosen) - imported} |")
    reasons = Counter(reason(o) for o in outcomes.values() if o.startswith("refused"))
    lines += ["", "| Refused because | Files |", "|---|---:|"]
    lines += [f"| {name} | {count} |" for name, count in reasons.most_common()]
    sets = {set_name(files): set_outcome(files) for files in corpus_sets()}
    imported_sets = [files for files, result in sets.items() if result.startswith("imported")]
    newly = sum(not outcomes[file].startswith("imported") for files in imported_sets for file in files)
    lines += ["", "| Loaded together (files naming each other's objects) | Count |", "|---|---:|",
              f"| sets | {len(sets)} |", f"| files in sets | {sum(map(len, sets))} |",
              f"| sets imported | {len(imported_sets)} |",
              f"| files refused alone that import in a set | {newly} |"]
    return "\n".join(lines)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_every_file_imports_or_is_refused_as_expected(path: Path) -> None:
    name = path.relative_to(CORPUS).as_posix()
    assert outcome(path) == EXPECTED[name]  # any exception but SpecError fails here


def test_the_table_covers_the_corpus_and_every_refusal_has_a_reason() -> None:
    assert sorted(EXPECTED) == [p.relative_to(CORPUS).as_posix() for p in FILES]
    assert "| **all** | 164 |" in table()


def test_files_that_name_each_others_objects_load_together_as_expected() -> None:
    assert {set_name(files): set_outcome(files) for files in corpus_sets()} == EXPECTED_SETS


def test_imported_files_keep_the_users_queries() -> None:
    """No import rewrites a query: the Sloth and Pyrra SLIs carry the matchers as written."""
    sloth = load_spec(CORPUS / "sloth" / "examples_getting-started.yml").objectives[0]
    assert sloth.sli is not None and sloth.sli.kind == "events"
    assert 'code=~"(5..|429)"' in sloth.sli.bad  # type: ignore[union-attr]
    pyrra = load_spec(CORPUS / "pyrra" / "prometheus-http.yaml").objectives[0]
    assert str(pyrra.sli.bad) == 'prometheus_http_requests_total{handler=~"/api.*", code=~"5.."}'  # type: ignore[union-attr]


EXPECTED: dict[str, str] = {
    'openslo-go-sdk/openslo_v1_examples_alert_conditions.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslo_v1_examples_alert_notification_targets.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslo_v1_examples_alert_policies.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslo_v1_examples_data_sources.yaml':
        "refused: document[1].spec.type: unsupported data source type 'Datadog'; only Prometheus",
    'openslo-go-sdk/openslo_v1_examples_services.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslo_v1_examples_slis.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslo_v1_examples_slos.yaml':
        'imported: 1',
    'openslo-go-sdk/openslo_v1alpha_examples_services.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'openslo-go-sdk/openslo_v1alpha_examples_slos.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'openslo-go-sdk/openslo_v2alpha_examples_alert_conditions.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslo_v2alpha_examples_alert_notification_targets.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslo_v2alpha_examples_alert_policies.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslo_v2alpha_examples_data_sources.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslo_v2alpha_examples_services.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslo_v2alpha_examples_slis.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslo_v2alpha_examples_slos.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslosdk_test_data_decode_sequence_of_objects.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_decode_single_object.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_decode_two_documents.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_decode_v1_slos.yaml':
        'imported: 1',
    'openslo-go-sdk/openslosdk_test_data_decode_v2alpha_data_source.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslosdk_test_data_decode_v2alpha_slos.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'openslo-go-sdk/openslosdk_test_data_encode_v1_slo.yaml':
        'imported: 1',
    'openslo-go-sdk/openslosdk_test_data_export_inputs_custom_config.yaml':
        'refused: document[0].spec.objectives[0].timeSliceTarget: a thresholdMetric slice is judged on it',
    'openslo-go-sdk/openslosdk_test_data_export_inputs_v1_alert_policies.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_export_inputs_v1_slo.yaml':
        'refused: document[0].spec.objectives[0].timeSliceTarget: a thresholdMetric slice is judged on it',
    'openslo-go-sdk/openslosdk_test_data_export_outputs_custom_config.yaml':
        'refused: document[0].spec.objectives[0].timeSliceTarget: a thresholdMetric slice is judged on it',
    'openslo-go-sdk/openslosdk_test_data_export_outputs_v1_alert_policies.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_export_outputs_v1_slo.yaml':
        'refused: document[0].spec.objectives[0].timeSliceTarget: a thresholdMetric slice is judged on it',
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_custom_config.yaml':
        "refused: document[1].spec.indicatorRef: no SLI named 'my-sli' in this file (one in another file:",
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_alert_policies_invalid_condition.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_alert_policies_invalid_target.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_alert_policies_keep_refs.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_alert_policies_remove_refs.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_slo.yaml':
        'refused: document[0].spec.objectives[0].timeSliceTarget: a thresholdMetric slice is judged on it',
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_slo_invalid_policy.yaml':
        'refused: document[0].spec.objectives[0].timeSliceTarget: a thresholdMetric slice is judged on it',
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_slo_invalid_sli.yaml':
        "refused: document[0].spec.indicatorRef: no SLI named 'no-sli' in this file (one in another file:",
    'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_slo_invalid_target.yaml':
        'refused: document[0].spec.objectives[0].timeSliceTarget: a thresholdMetric slice is judged on it',
    'openslo-go-sdk/openslosdk_test_data_inline_outputs_custom_config.yaml':
        "refused: document[1].spec.indicatorRef: no SLI named 'my-sli' in this file (one in another file:",
    'openslo-go-sdk/openslosdk_test_data_inline_outputs_v1_alert_policies_keep_refs.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_inline_outputs_v1_alert_policies_remove_refs.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-go-sdk/openslosdk_test_data_inline_outputs_v1_slo.yaml':
        'refused: document[0].spec.objectives[0].timeSliceTarget: a thresholdMetric slice is judged on it',
    'openslo-spec/examples_budgeting-method_occurences-slo.yaml':
        'refused: document[0].spec.objectives: expected a non-empty list (the field is objectives, not ob',
    'openslo-spec/examples_budgeting-method_ratio-timeslices.yaml':
        "refused: document[0].spec.budgetingMethod: unsupported 'RatioTimeslices'; supported: Occurrences",
    'openslo-spec/examples_budgeting-method_timeslices-slo.yaml':
        "refused: document[0].spec.timeWindow[0].duration: unsupported calendar window '1m': supported ar",
    'openslo-spec/examples_treat-low-traffic-as-equally-important_timeslices-slo.yaml':
        'refused: document[0].spec.objectives: expected a non-empty list (the field is objectives, not ob',
    'openslo-spec/schema-test_spec-files_v1_alert-condition_alert-condition-no-condition.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-condition_alert-condition-no-description.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-condition_alert-condition-no-sev.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-condition_alert-condition.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-notification-target_alert-notification-target-no-description.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-notification-target_alert-notification-target-no-target.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-notification-target_alert-notification-target.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-policy_alert-policy-inline-cond.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-policy_alert-policy-malformed-cond.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-policy_alert-policy-malformed-targetref.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-policy_alert-policy-many-cond.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-policy_alert-policy-many-notificationref.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-policy_alert-policy-no-cond.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-policy_alert-policy-no-notification.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_alert-policy_alert-policy.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_data-source_data-source.yaml':
        "refused: document[0].spec.type: unsupported data source type 'CloudWatch'; only Prometheus",
    'openslo-spec/schema-test_spec-files_v1_invalid-apiversion.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'openslo-spec/schema-test_spec-files_v1_service_service-long-description.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_service_service-no-displayname.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_service_service.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-description-ratio-bad-inline-metricsource.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-description-ratio-bad-metricsourceref.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-description-ratio-good-inline-metricsource.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-description-ratio-good-metricsourceref.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-description-ratio-inline-metricsource.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-description-threshold-inline-metricsource.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-description-threshold-metricsourceref.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-no-description-ratio-bad-inline-metricsource.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-no-description-ratio-bad-metricsourceref.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-no-description-ratio-good-inline-metricsource.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-no-description-ratio-good-metricsourceref.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-no-description-threshold-inline-metricsource.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-no-description-threshold-metricsourceref.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_sli_sli-ratio-good-and-bad.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'openslo-spec/schema-test_spec-files_v1_slo_slo-indicatorref-calendar-alerts.yaml':
        "refused: document[0].spec.indicatorRef: no SLI named 'indicator-ref-string' in this file (one in",
    'openslo-spec/schema-test_spec-files_v1_slo_slo-indicatorref-calendar-no-alerts.yaml':
        "refused: document[0].spec.indicatorRef: no SLI named 'indicator-ref-string' in this file (one in",
    'openslo-spec/schema-test_spec-files_v1_slo_slo-indicatorref-rolling-alerts.yaml':
        "refused: document[0].spec.indicatorRef: no SLI named 'indicator-ref-string' in this file (one in",
    'openslo-spec/schema-test_spec-files_v1_slo_slo-indicatorref-rolling-no-alerts.yaml':
        "refused: document[0].spec.indicatorRef: no SLI named 'indicator-ref-string' in this file (one in",
    'openslo-spec/schema-test_spec-files_v1_slo_slo-no-indicatorref-calendar-alerts.yaml':
        "refused: indicator.ratioMetric.good.metricSource.type: unsupported metric source 'Datadog'; only",
    'openslo-spec/schema-test_spec-files_v1_slo_slo-no-indicatorref-calendar-no-alerts.yaml':
        "refused: indicator.ratioMetric.good.metricSource.type: unsupported metric source 'Datadog'; only",
    'openslo-spec/schema-test_spec-files_v1_slo_slo-no-indicatorref-rolling-alerts.yaml':
        "refused: document[0].spec.timeWindow[0].duration: unsupported duration '1M' for a rolling window",
    'openslo-spec/schema-test_spec-files_v1_slo_slo-no-indicatorref-rolling-no-alerts.yaml':
        "refused: document[0].spec.timeWindow[0].duration: unsupported duration '1M' for a rolling window",
    'oslo/internal_files_testdata_discover_a_a1.yml':
        "refused: : expected a mapping with 'service' and 'objectives'",
    'oslo/internal_files_testdata_format_invalid-service.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'oslo/internal_files_testdata_format_list-of-services.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'oslo/internal_files_testdata_format_two-documents.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'oslo/internal_files_testdata_format_valid-service.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'oslo/test_inputs_fmt_service.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'oslo/test_inputs_validate_invalid-apiversion.yaml':
        "refused: document[0].apiVersion: unsupported 'foo'; expected openslo/v1",
    'oslo/test_inputs_validate_mix_1.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'oslo/test_inputs_validate_mix_2.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'oslo/test_inputs_validate_mix_3.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'oslo/test_inputs_validate_unknown-field.yaml':
        'refused: : no SLO document: an OpenSLO spec needs at least one kind: SLO',
    'oslo/test_inputs_validate_v1.yaml':
        'imported: 1',
    'oslo/test_inputs_validate_v1alpha.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'oslo/test_inputs_validate_v2alpha.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo.com/v2alpha'; expected openslo/v1",
    'pyrra/caddy-response-latency.yaml':
        'imported: 1',
    'pyrra/docker-compose_pyrra_prometheus-http.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-apiserver-read-cluster-latency.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-apiserver-read-namespace-latency.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-apiserver-read-resource-latency.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-apiserver-read-response-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-apiserver-write-response-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-coredns-response-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-kubelet-request-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-kubelet-runtime-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-prometheus-notification-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-prometheus-operator-http-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-prometheus-operator-reconcile-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-prometheus-query-errors.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-prometheus-rule-evaluation-failures.yaml':
        'imported: 1',
    'pyrra/kubernetes_manifests-webhook_slos_slo-prometheus-sd-kubernetes-errors.yaml':
        'imported: 1',
    'pyrra/mimir_example-slo.yaml':
        'imported: 1',
    'pyrra/nginx.yaml':
        'imported: 2',
    'pyrra/parca-grpc-queryrange-errors.yaml':
        'imported: 1',
    'pyrra/prometheus-http.yaml':
        'imported: 1',
    'pyrra/prometheus-operator.yaml':
        'imported: 1',
    'pyrra/prometheus-probe-success.yaml':
        'imported: 1',
    'pyrra/pyrra-connect-errors.yaml':
        'imported: 1',
    'pyrra/pyrra-connect-latency.yaml':
        'refused: document[0].spec.indicator.latencyNative: native histograms are not supported: use late',
    'pyrra/pyrra-filesystem-errors.yaml':
        'imported: 1',
    'pyrra/pyrra-kubernetes-errors.yaml':
        'imported: 1',
    'pyrra/thanos-grpc.yaml':
        'imported: 1',
    'pyrra/thanos-http.yaml':
        'imported: 1',
    'sloth/examples_contrib-denominator-corrected.yaml':
        'refused: document[0].spec.sloPlugins: Sloth SLO plugins change how Sloth writes its rules (Go co',
    'sloth/examples_contrib-slo-plugins.yml':
        'refused: slos[0].plugins: Sloth SLO plugins change how Sloth writes its rules (Go code run by Sl',
    'sloth/examples_getting-started.yml':
        'imported: 1',
    'sloth/examples_home-wifi.yml':
        'imported: 2',
    'sloth/examples_k8s-getting-started.yml':
        'imported: 1',
    'sloth/examples_k8s-home-wifi.yml':
        'imported: 2',
    'sloth/examples_k8s-multifile.yml':
        "refused: service: one file judges one service; found ['myservice', 'myservice2']: give each its ",
    'sloth/examples_kubernetes-apiserver.yml':
        'imported: 2',
    'sloth/examples_multifile.yml':
        "refused: service: one file judges one service; found ['myservice', 'myservice2']: give each its ",
    'sloth/examples_no-alerts.yml':
        'imported: 1',
    'sloth/examples_openslo-getting-started.yml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'sloth/examples_openslo-kubernetes-apiserver.yml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'sloth/examples_plugin-getting-started.yml':
        "refused: slos[0].sli.plugin: SLI plugin 'getting_started_availability' is Go code that Sloth run",
    'sloth/examples_plugin-k8s-getting-started.yml':
        "refused: document[0].spec.slos[0].sli.plugin: SLI plugin 'getting_started_availability' is Go co",
    'sloth/examples_raw-home-wifi.yml':
        'imported: 1',
    'sloth/examples_slo-plugin-getting-started.yml':
        'refused: slo_plugins: Sloth SLO plugins change how Sloth writes its rules (Go code run by Sloth)',
    'sloth/examples_slo-plugin-k8s-getting-started.yml':
        'refused: document[0].spec.sloPlugins: Sloth SLO plugins change how Sloth writes its rules (Go co',
    'sloth/examples_victoria-metrics.yml':
        'refused: slo_plugins: Sloth SLO plugins change how Sloth writes its rules (Go code run by Sloth)',
    'sloth/test_integration_prometheus_testdata_in-base-k8s.yaml':
        'imported: 2',
    'sloth/test_integration_prometheus_testdata_in-base.yaml':
        'imported: 2',
    'sloth/test_integration_prometheus_testdata_in-invalid-version.yaml':
        "refused: document[0].version: unsupported Sloth version 'prometheus/v999'; supported: prometheus",
    'sloth/test_integration_prometheus_testdata_in-multifile-k8s.yaml':
        "refused: service: one file judges one service; found ['svc01', 'svc02']: give each its own file",
    'sloth/test_integration_prometheus_testdata_in-multifile.yaml':
        "refused: service: one file judges one service; found ['svc01', 'svc02']: give each its own file",
    'sloth/test_integration_prometheus_testdata_in-openslo.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'sloth/test_integration_prometheus_testdata_in-sli-plugin.yaml':
        "refused: slos[0].sli.plugin: SLI plugin 'integration_test' is Go code that Sloth runs to write t",
    'sloth/test_integration_prometheus_testdata_in-slo-plugin-k8s.yaml':
        'refused: document[0].spec.sloPlugins: Sloth SLO plugins change how Sloth writes its rules (Go co',
    'sloth/test_integration_prometheus_testdata_in-slo-plugin.yaml':
        'refused: slo_plugins: Sloth SLO plugins change how Sloth writes its rules (Go code run by Sloth)',
    'sloth/test_integration_prometheus_testdata_validate_bad_bad-aa.yaml':
        'refused: slos[0].alerting.pageAlert: unknown field; expected one of: annotations, labels, name, ',
    'sloth/test_integration_prometheus_testdata_validate_bad_bad-k8s.yaml':
        'refused: document[0].spec.service: expected a non-empty service name',
    'sloth/test_integration_prometheus_testdata_validate_bad_bad-multi-k8s.yaml':
        'refused: document[0].spec.slos[0].alerting.name: expected an alert name',
    'sloth/test_integration_prometheus_testdata_validate_bad_bad-multi.yaml':
        'refused: slos[1].sli: expected exactly one of events, raw and plugin; got []',
    'sloth/test_integration_prometheus_testdata_validate_bad_bad-openslo.yaml':
        "refused: document[0].apiVersion: unsupported 'openslo/v1alpha'; expected openslo/v1",
    'sloth/test_integration_prometheus_testdata_validate_good_good-aa.yaml':
        'refused: slos[0].alerting.pageAlert: unknown field; expected one of: annotations, labels, name, ',
    'sloth/test_integration_prometheus_testdata_validate_with_duplicates_bad-prom-multi-duplicates.yaml':
        'refused: slos[0].alerting.pageAlert: unknown field; expected one of: annotations, labels, name, ',
}




EXPECTED_SETS: dict[tuple[str, ...], str] = {
    (
        'openslo-go-sdk/openslo_v1_examples_alert_conditions.yaml',
        'openslo-go-sdk/openslo_v1_examples_alert_policies.yaml',
    ):
        'refused: (set): '
        ': no SLO document: an OpenSLO spec needs at least one kind: SLO',
    (
        'openslo-go-sdk/openslo_v1_examples_data_sources.yaml',
        'openslo-go-sdk/openslo_v1_examples_slis.yaml',
    ):
        'refused: openslo-go-sdk/openslo_v1_examples_data_sources.yaml:28: '
        "document[1].spec.type: unsupported data source type 'Datadog'; only Prometheus",
    (
        'openslo-go-sdk/openslosdk_test_data_export_inputs_custom_config.yaml',
        'openslo-go-sdk/openslosdk_test_data_export_inputs_v1_alert_policies.yaml',
        'openslo-go-sdk/openslosdk_test_data_export_inputs_v1_slo.yaml',
    ):
        'refused: openslo-go-sdk/openslosdk_test_data_export_inputs_v1_alert_policies.yaml:13: '
        "document[1].metadata.name: a second AlertPolicy named 'mix-of-referenced-and-inlined-objects' (t",
    (
        'openslo-go-sdk/openslosdk_test_data_export_outputs_custom_config.yaml',
        'openslo-go-sdk/openslosdk_test_data_export_outputs_v1_alert_policies.yaml',
        'openslo-go-sdk/openslosdk_test_data_export_outputs_v1_slo.yaml',
    ):
        'refused: openslo-go-sdk/openslosdk_test_data_export_outputs_v1_alert_policies.yaml:13: '
        "document[1].metadata.name: a second AlertPolicy named 'mix-of-referenced-and-inlined-objects' (t",
    (
        'openslo-go-sdk/openslosdk_test_data_inline_inputs_custom_config.yaml',
        'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_alert_policies_remove_refs.yaml',
        'openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_slo_invalid_sli.yaml',
    ):
        'refused: openslo-go-sdk/openslosdk_test_data_inline_inputs_v1_alert_policies_remove_refs.yaml:13: '
        "document[1].metadata.name: a second AlertPolicy named 'multiple-referenced-objects' (the first i",
    (
        'openslo-go-sdk/openslosdk_test_data_inline_outputs_custom_config.yaml',
        'openslo-go-sdk/openslosdk_test_data_inline_outputs_v1_alert_policies_keep_refs.yaml',
        'openslo-go-sdk/openslosdk_test_data_inline_outputs_v1_alert_policies_remove_refs.yaml',
    ):
        'refused: openslo-go-sdk/openslosdk_test_data_inline_outputs_v1_alert_policies_remove_refs.yaml:3: '
        "document[0].metadata.name: a second AlertPolicy named 'single-referenced-object' (the first is a",
}


if __name__ == "__main__":
    print(table())
