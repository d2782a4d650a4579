"""The example GitHub Actions workflow: it runs slogate headless, keeps the bundle, writes the
summary, and fails on the gate; the copy in .github/workflows runs only when started by hand."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from slogate import catalog

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "github-actions" / "slogate.yml"
IN_REPO = ROOT / ".github" / "workflows" / "loadtest-example.yml"


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key 'on' as True.
    value = workflow.get("on", workflow.get(True))
    assert isinstance(value, dict)
    return value


def test_the_repository_copy_only_runs_by_hand() -> None:
    assert set(triggers(load(IN_REPO))) == {"workflow_dispatch"}
    example, copy = load(EXAMPLE), load(IN_REPO)
    for workflow in (example, copy):
        workflow.pop("on", None)
        workflow.pop(True, None)
        # The copy installs the commit it runs on, the example a pinned tag.
        workflow["jobs"]["slo-gate"]["env"].pop("SLOGATE_PACKAGE")
    assert example == copy


def test_the_job_installs_slogate_not_the_proxy() -> None:
    job = load(EXAMPLE)["jobs"]["slo-gate"]
    # A pinned git reference of slogate itself: `pip install .` would install the user's repository.
    assert re.fullmatch(r"slogate @ git\+https://github\.com/[^/]+/slogate@v\d+\.\d+\.\d+",
                        job["env"]["SLOGATE_PACKAGE"])
    install = next(step for step in job["steps"] if step.get("name") == "Install slogate")
    assert install["run"] == 'python -m pip install "$SLOGATE_PACKAGE"'
    # A spec and a scenario that exist once slogate is installed: packaged, by name.
    assert job["env"]["SLOGATE_SPEC"].startswith("preset:")
    assert catalog.spec_path(job["env"]["SLOGATE_SPEC"]).is_file()
    assert catalog.scenario_path(job["env"]["SLOGATE_SCENARIO"]).is_file()
    copy = load(IN_REPO)["jobs"]["slo-gate"]["env"]["SLOGATE_PACKAGE"]
    assert copy == "slogate @ git+${{ github.server_url }}/${{ github.repository }}@${{ github.sha }}"


def test_the_job_gates_summarises_and_uploads() -> None:
    steps = load(EXAMPLE)["jobs"]["slo-gate"]["steps"]
    scripts = "\n".join(step.get("run", "") for step in steps)
    assert "slogate run --host" in scripts and "--out \"$SLOGATE_OUT\"" in scripts
    assert '--spec "$SLOGATE_SPEC" --scenario "$SLOGATE_SCENARIO"' in scripts
    assert 'cat "$SLOGATE_OUT/summary.md" >> "$GITHUB_STEP_SUMMARY"' in scripts
    upload = next(step for step in steps if str(step.get("uses", "")).startswith(
        "actions/upload-artifact@"))
    assert upload["with"]["path"] == "${{ env.SLOGATE_OUT }}" and upload["if"] == "always()"
    # The last step turns the gate's exit code into the job's result, after summary and upload.
    last = steps[-1]
    assert last["if"] == "always()" and "exit 1" in last["run"] and "exit 3" in last["run"]
    names = [step.get("name") for step in steps]
    assert names.index("Job summary") < names.index("Fail on the gate")
    assert names.index("Upload the run bundle") < names.index("Fail on the gate")
