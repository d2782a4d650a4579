"""The run's verdict at its end: the spec judged on the run, written as the bundle's evaluation.json."""

from __future__ import annotations

import logging
from pathlib import Path

from slogate.slo.bundle import EVALUATION_FILE, write_evaluation
from slogate.slo.evaluation import Evaluation
from slogate.slo.evaluator import evaluate
from slogate.slo.run import RunResult
from slogate.slo.spec import Spec

logger = logging.getLogger("slogate")


def deliver_verdict(spec: Spec, run: RunResult, bundle: Path) -> Evaluation:
    """Judge ``run`` on ``spec``, write the evaluation into ``bundle`` and log the verdict; the
    caller makes its exit code the process's."""
    evaluation = evaluate(spec, run)
    write_evaluation(bundle / EVALUATION_FILE, evaluation)
    logger.info("slogate: verdict %s (%s)", evaluation.verdict, "; ".join(evaluation.reasons))
    return evaluation
