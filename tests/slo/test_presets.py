"""Every preset loads, and judges one short real run of the reference target without error,
failing closed: an objective short of samples never passes, and no preset passes a run this short
on the objectives that need more."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.locust_process import LoadSettings, run_locust
from slogate.slo.bundle import read_run
from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult
from slogate.slo.specfile.load import load_spec
from slogate.target import ReferenceTarget

PRESETS = sorted((Path(__file__).resolve().parents[2] / "slo" / "presets").glob("*.yaml"))


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    bundle = tmp_path_factory.mktemp("presets") / "bundle"
    with ReferenceTarget() as target:
        settings = LoadSettings(host=target.proxy_url, users=10, spawn_rate=10, duration_s=4.0)
        outcome = run_locust(settings, bundle, "presets")
    assert outcome.exit_code in (0, 1, 3), (bundle / "locust.log").read_text()[-2000:]
    return read_run(bundle)


def test_there_is_a_preset_per_seed_target() -> None:
    assert [p.stem for p in PRESETS] == [
        "api-service", "caching-reverse-proxy", "high-availability", "llm-api-proxy",
        "llm-openai-proxy", "web-api"]


@pytest.mark.slow
@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_judges_a_real_run_and_fails_closed(path: Path, reference_run: RunResult) -> None:
    spec = load_spec(path)
    evaluation = evaluate(spec, reference_run)
    assert len(evaluation.objectives) == len(spec.run_judged_objectives)
    for result in evaluation.objectives:
        assert result.reason and result.formula, result
        if result.samples < result.required_samples:
            assert result.verdict != "pass", result
    # A 4 s run at 10 users cannot show 1000 req/s or 99.9% availability: never a pass.
    if spec.service in ("api-service", "high-availability"):
        assert evaluation.verdict != "pass", evaluation.reasons
