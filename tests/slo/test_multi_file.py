"""Spec files loaded together: OpenSLO objects in one file find those they name in another, every
problem still names its own file and line, and a set is refused rather than guessed at when its
files are of different formats or name one object twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.cli import main
from slogate.slo.specfile.load import SpecError, group_by_references, load_spec, load_specs

ONE_FILE = Path(__file__).parents[1] / "alerts" / "data" / "openslo-alert-policy.yaml"
"""Two SLOs, an AlertPolicy and the AlertCondition it refers to, in one file."""

SLI = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-ok
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{job="shop", code=~"5..|429"}[5m]))
    total:
      metricSource:
        type: Prometheus
        spec:
          query: sum(rate(http_requests_total{job="shop"}[5m]))
"""

SLO = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout
spec:
  service: shop
  indicatorRef: checkout-ok
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.995
"""


def split(folder: Path) -> list[Path]:
    """``ONE_FILE``'s documents each in a file of its own in ``folder``: the SLOs, the policy, the
    condition."""
    documents = ONE_FILE.read_text(encoding="utf-8").split("\n---\n")
    names = ["slo-availability.yaml", "slo-latency.yaml", "policy.yaml", "condition.yaml"]
    return write(folder, {name: document + "\n" for name, document in zip(names, documents, strict=True)})


def write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [folder / name for name in files]


def test_objects_split_over_files_make_the_spec_of_the_one_file(tmp_path: Path) -> None:
    whole = load_spec(ONE_FILE)
    together = load_specs(split(tmp_path))
    assert together.objectives == whole.objectives
    assert together.alert_policies == whole.alert_policies  # the policy found its condition's file
    assert together.service == "shop" and together.period_s == whole.period_s


def test_a_folder_is_its_spec_files_loaded_together(tmp_path: Path) -> None:
    split(tmp_path / "spec")
    (tmp_path / "spec" / "notes.txt").write_text("not a spec", encoding="utf-8")
    assert load_specs([tmp_path / "spec"]).alert_policies == load_spec(ONE_FILE).alert_policies
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="empty: a folder with no"):
        load_specs([tmp_path / "empty"])


def test_an_sli_in_another_file_is_used_as_written(tmp_path: Path) -> None:
    paths = write(tmp_path, {"slo.yaml": SLO, "sli.yaml": SLI})
    [objective] = load_specs(paths).objectives
    assert objective.sli is not None
    assert str(objective.sli.bad) == 'http_requests_total{job="shop", code=~"5..|429"}'  # type: ignore[union-attr]
    with pytest.raises(SpecError) as alone:
        load_spec(paths[0])
    assert str(alone.value) == (f"{paths[0]}:7: document[0].spec.indicatorRef: no SLI named 'checkout-ok' "
                                "in this file (one in another file: pass both files together)")


def test_problems_name_the_file_line_and_field_they_are_at(tmp_path: Path) -> None:
    paths = write(tmp_path, {"slo.yaml": SLO.replace("0.995", "1.5"),
                             "sli.yaml": "---\n" + SLI.replace("Prometheus", "Datadog", 1)})
    with pytest.raises(SpecError) as caught:
        load_specs(paths)
    shown = [str(problem) for problem in caught.value.problems]
    assert f"{paths[1]}:9: indicator.ratioMetric.bad.metricSource.type: unsupported metric source " \
           "'Datadog'; only Prometheus" in "\n".join(shown)
    assert any(line.startswith(f"{paths[0]}:13: document[0].spec.objectives[0].target:") for line in shown)


def test_a_name_given_twice_is_refused_naming_both_places(tmp_path: Path) -> None:
    paths = write(tmp_path, {"slo.yaml": SLO, "sli.yaml": SLI, "copy.yaml": SLI.replace("5..|429", "5..")})
    with pytest.raises(SpecError) as caught:
        load_specs(paths)
    assert [str(p) for p in caught.value.problems] == [
        f"{paths[2]}:3: document[0].metadata.name: a second SLI named 'checkout-ok' (the first is at "
        f"{paths[1]}:3)"]


@pytest.mark.parametrize("other, form", [
    ("version: prometheus/v1\nservice: shop\nslos: []\n", "Sloth"),
    ("service: shop\nobjectives: []\n", "slogate format"),
])
def test_files_of_different_formats_are_not_one_spec(tmp_path: Path, other: str, form: str) -> None:
    paths = write(tmp_path, {"slo.yaml": SLO, "other.yaml": other})
    with pytest.raises(SpecError, match=f"one format .*slo.yaml is OpenSLO, .*other.yaml is {form}"):
        load_specs(paths)


def test_files_are_grouped_by_the_objects_they_name(tmp_path: Path) -> None:
    paths = write(tmp_path, {"a-slo.yaml": SLO, "b-other.yaml": ONE_FILE.read_text(encoding="utf-8"),
                             "c-sli.yaml": SLI, "d-broken.yaml": "[unclosed",
                             "e-own.yaml": f"{SLO}---\n{SLI}", "f-own.yaml": f"{SLO}---\n{SLI}"})
    # e and f each define the SLI they use: two specs, though c defines one of that name too.
    a, b, c, d, e, f = paths
    assert group_by_references(paths) == [[a, c], [b], [d], [e], [f]]


def test_validate_checks_sets_and_lone_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slo, sli, lone = write(tmp_path, {"slo.yaml": SLO, "sli.yaml": SLI,
                                      "lone.yaml": ONE_FILE.read_text(encoding="utf-8")})
    assert main(["validate", str(slo), str(lone), str(sli)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{slo} + {sli}: ok (shop, 1 objectives)",
                                                    f"{lone}: ok (shop, 2 objectives)"]
    assert main(["validate", str(slo)]) == 2
    assert "no SLI named 'checkout-ok' in this file" in capsys.readouterr().err


def test_spec_is_repeatable_or_a_folder(tmp_path: Path) -> None:
    paths = split(tmp_path / "spec")
    outs = [tmp_path / name for name in ("files", "folder", "one")]
    for out in outs:
        out.mkdir()
    repeated = [arg for path in paths for arg in ("--spec", str(path))]
    assert main(["alerts", *repeated, "--out", str(outs[0])]) == 0
    assert main(["alerts", "--spec", str(tmp_path / "spec"), "--out", str(outs[1])]) == 0
    assert main(["alerts", "--spec", str(ONE_FILE), "--out", str(outs[2])]) == 0
    written = [{path.name: path.read_text(encoding="utf-8") for path in out.iterdir()} for out in outs]
    assert len(written[0]) == 3 and written[0].keys() == written[1].keys() == written[2].keys()
    for name, text in written[2].items():  # the rules and tests of the one file; comments name the files
        assert uncommented(written[0][name]) == uncommented(written[1][name]) == uncommented(text)


def uncommented(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]
