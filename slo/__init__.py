"""SLOs as code: the spec model and loader, the run and evaluation models, and the evaluator.

``slo`` is the hub every other part reads; it imports nothing else of slogate.
"""

from slogate.slo.bundle import BundleError, read_evaluation, read_run, write_atomic, write_json
from slogate.slo.evaluation import Evaluation, ExitCode, ObjectiveResult, Verdict
from slogate.slo.evaluator import evaluate
from slogate.slo.histogram import LatencyHistogram
from slogate.slo.run import EndpointWindow, ErrorGroup, RunResult, TimeSlice, ValidityFlag
from slogate.slo.spec import (
    AnyObjective,
    AvailabilityObjective,
    ErrorRatioObjective,
    LatencyObjective,
    Objective,
    Spec,
    ThroughputObjective,
    endpoint_matches,
)
from slogate.slo.specfile.load import SpecError, SpecProblem, load_spec, parse_spec

__all__ = [
    "AnyObjective",
    "AvailabilityObjective",
    "BundleError",
    "EndpointWindow",
    "ErrorGroup",
    "ErrorRatioObjective",
    "Evaluation",
    "ExitCode",
    "LatencyHistogram",
    "LatencyObjective",
    "Objective",
    "ObjectiveResult",
    "RunResult",
    "Spec",
    "SpecError",
    "SpecProblem",
    "ThroughputObjective",
    "TimeSlice",
    "ValidityFlag",
    "Verdict",
    "endpoint_matches",
    "evaluate",
    "load_spec",
    "parse_spec",
    "read_evaluation",
    "read_run",
    "write_atomic",
    "write_json",
]
