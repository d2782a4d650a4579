"""The verdict on a run (``evaluation.json``): per objective and overall, each with its reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any, Literal

EVALUATION_SCHEMA_VERSION = 1

Verdict = Literal["pass", "fail", "inconclusive"]


class ExitCode(IntEnum):
    """The process exit codes of every slogate command (see the README)."""

    PASS = 0
    SLO_FAILED = 1
    BAD_INPUT = 2
    INCONCLUSIVE = 3


VERDICT_EXIT_CODES: dict[str, ExitCode] = {
    "pass": ExitCode.PASS,
    "fail": ExitCode.SLO_FAILED,
    "inconclusive": ExitCode.INCONCLUSIVE,
}


@dataclass(frozen=True)
class ObjectiveResult:
    """How one objective fared.

    ``measured`` and ``threshold`` are seconds for latency and fractions for ratios (``unit``).
    ``margin`` is positive for headroom and negative for the overshoot: threshold minus measured for
    upper bounds (latency, error ratio), measured minus target for availability (a lower bound).
    ``burn_rate`` is the bad-event ratio over the allowed one (1.0 spends the budget exactly over
    the SLO period); ``budget_consumed`` is the share of the period's budget this run used.
    """

    name: str
    kind: str
    endpoint: str | None
    gating: bool
    verdict: Verdict
    reason: str
    unit: Literal["s", "ratio", "rps"]
    threshold: float
    measured: float | None
    margin: float | None
    samples: int
    required_samples: int
    bad_events: int | None = None
    burn_rate: float | None = None
    budget_consumed: float | None = None
    percentile: float | None = None
    matched_endpoints: tuple[str, ...] = ()
    # Statistics (filled by the evaluator where it computes them; None where it does not).
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None
    more_samples_needed: int | None = None
    time_to_exhaustion_s: float | None = None
    formula: str = ""
    # Baseline comparison: the baseline's value, the test used and its p-value.
    baseline: float | None = None
    test: str | None = None
    p_value: float | None = None
    # Added with the statistics (all defaulted, so older evaluation.json files still load).
    test_statistic: float | None = None
    """The verdict's own statistic: z of the measured ratio against the allowed one (ratios)."""
    regression: bool | None = None
    """Baseline comparison: worse by more than the tolerance and significantly so (None: no baseline)."""
    baseline_effect: float | None = None
    """Baseline comparison: the relative change of the percentile, or of the bad-event ratio, from the
    baseline (candidate / baseline - 1; positive is worse). None without one, or when it is infinite."""
    baseline_effect_low: float | None = None
    baseline_effect_high: float | None = None
    baseline_effect_confidence: float | None = None
    """Of (baseline_effect_low, baseline_effect_high): 1 - 2 alpha, so the low end is the one-sided
    bound the regression rule reads."""
    window_s: float | None = None
    windows_total: int | None = None
    windows_failed: int | None = None
    windows_undecided: int | None = None
    window_burn_rates: tuple[float | None, ...] = ()
    """Windowed objectives: the burn rate of each full window, in time order."""
    # What the verdict covered (None from a source without slices, where it is not measured).
    judged_s: float | None = None
    slices_judged: int | None = None
    """Slices of the run with events of this objective."""
    effective_samples: float | None = None
    """n / between_slice_variation: the independent samples the events are worth."""
    between_slice_variation: float | None = None
    """phi >= 1: the batch-means variance over the one of independent events (1: no more than that)."""
    regime_change: bool | None = None
    """The run's two halves differ beyond their intervals (a change of behaviour mid-run)."""
    fail_p_value: float | None = None
    """One-sided p-value of 'the objective is met' (what a family-wise correction reads)."""
    coverage: str = ""
    """What the verdict covered and what it cannot rule out, in a sentence."""
    limits: dict[str, float] | None = None
    """Goodput: the limits a good request met together, seconds by name ('ttft', 'tpot', 'total')."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["matched_endpoints"] = list(self.matched_endpoints)
        data["window_burn_rates"] = list(self.window_burn_rates)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObjectiveResult:
        values = dict(data)
        values["matched_endpoints"] = tuple(values.get("matched_endpoints", ()))
        values["window_burn_rates"] = tuple(values.get("window_burn_rates", ()))
        return cls(**values)


@dataclass(frozen=True)
class Evaluation:
    service: str
    spec_source: str
    run_id: str
    verdict: Verdict
    reasons: tuple[str, ...]
    objectives: tuple[ObjectiveResult, ...]
    evaluated_at: float
    window_start_s: float
    window_end_s: float
    schema_version: int = EVALUATION_SCHEMA_VERSION

    @property
    def exit_code(self) -> ExitCode:
        return VERDICT_EXIT_CODES[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "service": self.service,
            "spec_source": self.spec_source,
            "run_id": self.run_id,
            "verdict": self.verdict,
            "exit_code": int(self.exit_code),
            "reasons": list(self.reasons),
            "evaluated_at": self.evaluated_at,
            "window_start_s": self.window_start_s,
            "window_end_s": self.window_end_s,
            "objectives": [o.to_dict() for o in self.objectives],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        if data.get("schema_version") != EVALUATION_SCHEMA_VERSION:
            raise ValueError(f"unsupported evaluation schema_version {data.get('schema_version')!r}")
        try:
            return cls(
                service=str(data["service"]),
                spec_source=str(data["spec_source"]),
                run_id=str(data["run_id"]),
                verdict=data["verdict"],
                reasons=tuple(data["reasons"]),
                objectives=tuple(ObjectiveResult.from_dict(o) for o in data["objectives"]),
                evaluated_at=float(data["evaluated_at"]),
                window_start_s=float(data["window_start_s"]),
                window_end_s=float(data["window_end_s"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed evaluation: {exc}") from None


def combined_verdict(*evaluations: Evaluation) -> Verdict:
    """The gate's verdict over several sources of the same spec (the client's run, the server's
    Prometheus): it fails when any fails, and passes only when every one passes."""
    verdicts = {e.verdict for e in evaluations}
    if "fail" in verdicts:
        return "fail"
    if "inconclusive" in verdicts or not verdicts:
        return "inconclusive"
    return "pass"


@dataclass(frozen=True)
class SideBySide:
    """One objective as the load generator measured it and as the proxy's own metrics did."""

    client: ObjectiveResult
    server: ObjectiveResult

    @property
    def difference(self) -> float | None:
        """Server minus client, in the objective's unit; None when either side has no value."""
        if self.client.measured is None or self.server.measured is None:
            return None
        if self.client.unit != self.server.unit:
            return None
        return self.server.measured - self.client.measured


def side_by_side(client: Evaluation, server: Evaluation) -> tuple[SideBySide, ...]:
    """The objectives of two evaluations of one spec, paired by name (in the client's order)."""
    by_name = {o.name: o for o in server.objectives}
    return tuple(SideBySide(o, by_name[o.name]) for o in client.objectives if o.name in by_name)
