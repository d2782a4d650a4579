"""slogate's options on Locust's command line (``--slogate-*``), for ``locust -f`` and ``slogate run``."""

from __future__ import annotations

import argparse
from typing import Any

from slogate.loadtest import open_model
from slogate.slo.units import parse_port, parse_positive

DEFAULT_OUT = "out/runs"


def add_options(parser: Any, **_: Any) -> None:
    group = parser.add_argument_group("slogate", "Record the run and gate it on an SLO spec")
    group.add_argument("--slogate-out", metavar="DIR", default=None,
                       help=f"Run bundle folder (default: {DEFAULT_OUT}/<run-id>)")
    group.add_argument("--slogate-run-id", metavar="ID", default=None, help="Run id")
    group.add_argument("--slogate-spec", metavar="FILE", default=None,
                       help="SLO spec: judge the run at the end; the verdict is the exit code")
    group.add_argument("--slogate-slice", metavar="SECONDS", type=_positive_seconds, default=1.0,
                       help="Width of a time slice of the recorded histograms (default 1)")
    group.add_argument("--slogate-api-key", metavar="KEY", default=None,
                       env_var="SLOGATE_API_KEY",
                       help="API key the scenarios send (masked everywhere slogate writes)")
    group.add_argument("--slogate-shape", metavar="SHAPE", default=None,
                       help="Closed-model load shape: ramp | steps | spike | soak, with parameters "
                            "as NAME:key=value,... (see loadtest/shapes.py); peak is -u, length -t")
    group.add_argument("--slogate-rate", metavar="PER_S", type=float, default=None,
                       help="Open model: arrivals per second, independent of response times "
                            "(-u is then the pool of users that send them)")
    group.add_argument("--slogate-rate-to", metavar="PER_S", type=float, default=None,
                       help="Open model: ramp the arrival rate linearly to this")
    group.add_argument("--slogate-rate-ramp", metavar="SECONDS", type=float, default=None,
                       help="Open model: length of the rate ramp (default: the run time)")
    group.add_argument("--slogate-max-lag", metavar="SECONDS", type=float,
                       default=open_model.DEFAULT_MAX_LAG_S,
                       help="Open model: an arrival no user took within this is dropped (default 2)")
    group.add_argument("--slogate-accept-saturated", action="store_true", default=False,
                       help="Record a saturated load generator without invalidating the run")
    group.add_argument("--slogate-metrics-port", metavar="PORT", type=_port, default=None,
                       help="Serve the running test's Prometheus metrics on 127.0.0.1:PORT")
    group.add_argument("--slogate-metrics-host", metavar="ADDR", default="127.0.0.1",
                       help="Address of the metrics endpoint (default 127.0.0.1)")
    group.add_argument("--slogate-otlp-endpoint", metavar="URL", default=None,
                       help="Export a client span per request to this OTLP/HTTP endpoint "
                            "(off by default; traceparent is sent either way)")
    group.add_argument("--slogate-no-traceparent", action="store_true", default=False,
                       help="Do not send a W3C traceparent header")


def _positive_seconds(text: str) -> float:
    try:
        return parse_positive(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}") from None


def _port(text: str) -> int:
    try:
        return parse_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
