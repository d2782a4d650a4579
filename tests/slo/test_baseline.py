"""Baseline comparison: a regression is worse beyond the tolerance and significant, and says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.baseline_false_alarms import MODELS, simulated_run
from benchmarks.baseline_false_alarms import SPEC as SIMULATED_SPEC
from slogate.cli import main
from slogate.slo.baseline import compare
from slogate.slo.bootstrap import BATCHES, MIN_BATCHES, correlation_time, ratio_batch_count
from slogate.slo.bundle import write_json
from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult
from slogate.slo.specfile.load import parse_spec
from tests.builders import CONTENT, make_run

SPEC = """\
service: s
objectives:
  - {name: p95, kind: latency, percentile: p95, threshold: 1s, endpoint: "GET /content/{id}"}
  - {name: errors, kind: error_ratio, max: 5%}
"""


def content_run(fast_ms: float, slow_ms: float, failed: int) -> RunResult:
    # Per slice: 900 fast, 100 slow successes; ``failed`` 503s.
    return make_run([{CONTENT: ([fast_ms] * 900 + [slow_ms] * 100, {"503": failed})}] * 10)


def judged(candidate: RunResult, baseline: RunResult) -> dict[str, object]:
    spec = parse_spec(SPEC)
    evaluation = compare(evaluate(spec, candidate), spec, candidate, baseline)
    return {"verdict": evaluation.verdict, **{o.name: o for o in evaluation.objectives}}


def test_significant_regressions_fail_and_name_the_test() -> None:
    result = judged(content_run(10, 200, 30), content_run(10, 100, 5))
    assert result["verdict"] == "fail"
    p95, errors = result["p95"], result["errors"]
    assert p95.regression is True and p95.test == "block bootstrap, batch rank test"  # type: ignore[attr-defined]
    assert p95.p_value < 0.05 and p95.baseline is not None  # type: ignore[attr-defined]
    # p95 from 100ms to 200ms: +100%, and every slice says so (no spread between them).
    assert abs(p95.baseline_effect - 1.0) < 0.02 and p95.baseline_effect_low > 0  # type: ignore[attr-defined]
    assert p95.baseline_effect_confidence == 0.9  # type: ignore[attr-defined]
    assert "regression" in p95.reason and "p95 +99.4% (90% interval" in p95.reason  # type: ignore[attr-defined]
    assert "Mann-Whitney U, not decisive" in p95.reason  # type: ignore[attr-defined]
    assert errors.regression is True and errors.test == "block bootstrap, batch permutation test"  # type: ignore[attr-defined]
    assert errors.baseline is not None and abs(errors.baseline - 50 / 10050) < 1e-9  # type: ignore[attr-defined]
    # 300 of 10300 failed against 50 of 10050: about 5.9 times the ratio.
    assert abs(errors.baseline_effect - (300 / 10300) / (50 / 10050) + 1) < 1e-9  # type: ignore[attr-defined]


def test_no_regression_when_the_same_or_within_tolerance() -> None:
    result = judged(content_run(10, 100, 5), content_run(10, 100, 5))
    assert result["verdict"] == "pass"
    assert result["p95"].regression is False  # type: ignore[attr-defined]
    assert "no regression" in result["errors"].reason  # type: ignore[attr-defined]


def test_a_burst_of_errors_is_weighed_as_one_event_not_hundreds() -> None:
    steady = make_run([{CONTENT: ([10.0] * 990, {"503": 10})}] * 20)
    # 30% more errors than the baseline, all in two of twenty seconds: independent requests would
    # make that significant (z = 2.8); two bursts are not evidence of a lasting regression.
    bursts = make_run([{CONTENT: ([10.0] * 1000, {})}] * 18 + [{CONTENT: ([10.0] * 870, {"503": 130})}] * 2)
    errors = judged(bursts, steady)["errors"]
    assert errors.regression is False and errors.p_value > 0.05  # type: ignore[attr-defined]
    assert errors.baseline_effect is not None and abs(errors.baseline_effect - 0.3) < 1e-9  # type: ignore[attr-defined]
    # The bursts make neighbouring seconds alike: fewer, longer batches, dealt out between the runs.
    assert "batch permutation test over 5 batches" in errors.reason  # type: ignore[attr-defined]
    # The same errors spread evenly over the seconds are a regression.
    even = make_run([{CONTENT: ([10.0] * 987, {"503": 13})}] * 20)
    assert judged(even, steady)["errors"].regression is True  # type: ignore[attr-defined]


def simulated_regressions(pairs: int, model: int, p99_factor: float, seed: int) -> int:
    """How many of ``pairs`` of 2-minute runs ``compare`` flags as a p99 regression."""
    rng = np.random.default_rng(seed)
    flagged = 0
    for _ in range(pairs):
        baseline = simulated_run(120, MODELS[model], rng)
        candidate = simulated_run(120, MODELS[model], rng, p99_factor=p99_factor)
        compared = compare(evaluate(SIMULATED_SPEC, candidate), SIMULATED_SPEC, candidate, baseline)
        flagged += bool(next(o for o in compared.objectives if o.name == "p99").regression)
    return flagged


def test_a_tail_only_regression_is_flagged() -> None:
    # The median and the p95 stay put; the p99 is 1.5 times the baseline's.
    assert simulated_regressions(5, model=0, p99_factor=1.5, seed=7) == 5


def test_the_same_process_with_episodes_is_rarely_flagged() -> None:
    # ~3 s episodes at 3 times the latency, 5% of the time: the p99 of two runs differs by chance
    # far more than independent samples suggest (Mann-Whitney flagged about a third of such pairs).
    assert simulated_regressions(40, model=1, p99_factor=1.0, seed=8) <= 4


def test_a_baseline_without_the_endpoint_is_inconclusive() -> None:
    other = make_run([{"GET /other": ([10.0] * 1000, {})}] * 10)
    result = judged(content_run(10, 100, 5), other)
    assert result["p95"].verdict == "inconclusive"  # type: ignore[attr-defined]
    assert "no baseline data" in result["p95"].reason  # type: ignore[attr-defined]


def test_gate_with_baseline_on_the_command_line(tmp_path: Path) -> None:
    for name, run in (("old", content_run(10, 100, 5)), ("new", content_run(10, 200, 30))):
        write_json(tmp_path / name / "run.json", run.to_dict())
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    common = ["gate", str(tmp_path / "new"), "--spec", str(spec), "--json"]
    assert main(common) == 0
    assert main([*common, "--baseline", str(tmp_path / "old")]) == 1
    # The reports say by how much, and how sure: the relative change and its interval.
    shown = "regression: p95 +99.4% (90% interval +99.4% to +99.4%)"
    assert shown in (tmp_path / "new" / "summary.md").read_text(encoding="utf-8")
    assert shown in (tmp_path / "new" / "report.html").read_text(encoding="utf-8")
    assert main([*common, "--baseline", str(tmp_path / "absent")]) == 2


def test_ratio_batches_last_longer_when_episodes_couple_neighbouring_slices() -> None:
    rng = np.random.default_rng(3)
    events = [200.0] * 600
    independent = rng.binomial(200, 0.01, 600).astype(float).tolist()
    # Episodes of 10 s, one a minute, with ten times the errors: neighbouring seconds are alike.
    episodic = rng.binomial(200, np.where(np.arange(600) % 60 < 10, 0.05, 0.005)).astype(float).tolist()
    assert correlation_time(events, independent) < 1.5
    assert correlation_time(events, episodic) > 5
    assert ratio_batch_count((events, independent), (events, independent)) == BATCHES
    assert MIN_BATCHES <= ratio_batch_count((events, independent), (events, episodic)) < 10
