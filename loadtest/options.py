"""slogate's options, stated once: Locust's ``--slogate-*`` flags, ``slogate run``'s harness flags
(``--rate`` is ``--slogate-rate``, see ``slogate.locust_process``) and the frozen value a run reads.

Each :class:`Option` has one name, one default, one help text and one parser, whichever command
line it comes from. A parser turns the text into the value or raises ValueError saying what was
expected; the command line reports that as a usage error (exit 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from slogate.loadtest.arrivals import UNIFORM, parse_arrivals
from slogate.slo.units import parse_port, parse_positive, positive_duration

DEFAULT_MAX_LAG_S = 2.0
"""How late an open-model arrival may start before it is dropped (seconds)."""

DEFAULT_OUT = "out/runs"
LOCUST_GROUP = ("slogate", "Record the run and gate it on an SLO spec")


def parse_http_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"expected an http(s) URL, got {text!r}")
    return text


def parse_seconds(text: str) -> float:
    """A positive duration: a number of seconds ('10', as Locust's --run-time) or with a unit ('10s')."""
    try:
        return parse_positive(text)
    except ValueError:
        pass
    try:
        return positive_duration(text.strip())
    except ValueError:
        raise ValueError(f"expected a positive number of seconds, got {text!r} (or a duration "
                         "with a unit: 10s, 5m, 250ms)") from None


def parse_warmup(text: str) -> float:
    """Seconds left out of the verdict at the start of a run: like :func:`parse_seconds`, or 0."""
    return 0.0 if text.strip() in ("0", "0s") else parse_seconds(text)


@dataclass(frozen=True)
class Option:
    """One slogate option: ``--slogate-<name>`` for Locust, maybe ``--<name>`` for ``slogate run``."""

    name: str
    """The attribute of :class:`SlogateOptions`; the flag is ``--slogate-`` and the name in kebab case."""
    help: str
    metavar: str | None = None
    """What the value is called in the usage; None for a switch (present or not, default off)."""
    parse: Callable[[str], Any] = str
    """Text to value, raising ValueError saying what was expected."""
    default: Any = None
    on_harness: bool = False
    """Also on ``slogate run`` and ``slogate demo``, as :attr:`harness_flag` (the others they set
    themselves, or leave to ``locust -f``)."""
    env_var: str | None = None

    @property
    def locust_flag(self) -> str:
        return "--slogate-" + self.name.replace("_", "-")

    @property
    def harness_flag(self) -> str:
        """``--rate`` for ``--slogate-rate``: its argparse destination is :attr:`name`."""
        return "--" + self.name.replace("_", "-")

    @property
    def locust_dest(self) -> str:
        return "slogate_" + self.name

    @property
    def is_switch(self) -> bool:
        return self.metavar is None

    def argparse_type(self) -> Callable[[str], Any]:
        """The parser as argparse wants it: its ValueError becomes the usage error's message."""
        parse = self.parse

        def convert(text: str) -> Any:
            try:
                return parse(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        convert.__name__ = self.metavar or self.name
        return convert


OPTIONS: tuple[Option, ...] = (
    Option("out", f"run bundle folder (default: {DEFAULT_OUT}/<run-id>)", "DIR"),
    Option("run_id", "run id (default: a new one from the time)", "ID"),
    Option("spec", "SLO spec: judge the run at the end; the verdict is the exit code (several files or "
                   "folders loaded together: joined with the path separator, a.yaml:b.yaml)", "FILE"),
    Option("slice", "width of a time slice of the recorded histograms, in seconds (default 1)", "SECONDS",
           parse_seconds, 1.0),
    Option("api_key", "API key the scenarios send (masked everywhere slogate writes)", "KEY",
           env_var="SLOGATE_API_KEY"),
    Option("shape", "closed-model load shape: ramp | steps | spike | soak, with parameters as "
                    "NAME:key=value,... e.g. steps:steps=5, spike:base=20%%,at=50%%,length=10%%; "
                    "its peak is the users, its length the run time", "SHAPE", on_harness=True),
    Option("rate", "open model: arrivals per second, whatever the responses take (the users are then "
                   "the pool that sends them)", "PER_S", parse_positive, on_harness=True),
    Option("rate_to", "open model: ramp the arrival rate linearly to this", "PER_S", parse_positive,
           on_harness=True),
    Option("rate_ramp", "open model: length of the rate ramp in seconds (default: the run time)", "SECONDS",
           parse_seconds, on_harness=True),
    Option("arrivals", "open model: arrivals evenly spaced (uniform) or a Poisson process (poisson: "
                       f"exponential gaps, real traffic's bursts); default {UNIFORM}", "uniform|poisson",
           parse_arrivals, UNIFORM, on_harness=True),
    Option("max_lag", "open model: an arrival no user took within this many seconds is dropped "
                      f"(default {DEFAULT_MAX_LAG_S:g})", "SECONDS", parse_seconds,
           DEFAULT_MAX_LAG_S),
    Option("accept_saturated", "record a saturated load generator in the bundle without invalidating "
                               "the run", default=False, on_harness=True),
    Option("metrics_port", "serve the running test's Prometheus metrics on this port (0: any free one)",
           "PORT", parse_port, on_harness=True),
    Option("metrics_host", "address of the metrics endpoint (default 127.0.0.1)", "ADDR",
           default="127.0.0.1"),
    Option("otlp_endpoint", "export a client span per request to this OTLP/HTTP endpoint (off by default; "
                            "traceparent is sent either way)", "URL", parse_http_url,
           on_harness=True),
    Option("no_traceparent", "do not send a W3C traceparent header", default=False),
    Option("until_decided", "stop as soon as the spec's verdict is settled, pass or fail, with its error "
                            "rates still bounded (see the README); the run time is then the maximum",
           default=False, on_harness=True),
    Option("min_duration", "with until-decided: no decision before this (default: the warm-up plus the "
                           "spec's min_duration, at least 20 slices)", "SECONDS", parse_seconds,
           on_harness=True),
    Option("warmup", "judge the run from this many seconds in, instead of the spec's own warm-up (the "
                     "time a change of load takes to settle); slogate gate judges a bundle with the spec's",
           "SECONDS", parse_warmup, on_harness=True),
    # Not on the harness: `slogate run --contract` is its own flag (shared with gate, alerts, ...) and
    # passes this on when Locust judges the spec itself (--until-decided).
    Option("contract", "the proxy's metric contract, a preset name or a YAML file: how an OpenSLO "
                       "spec's queries are read (a contract the spec names wins)", "NAME|FILE"),
)


def add_options(parser: Any, **_: Any) -> None:
    """Locust's ``init_command_line_parser`` listener: every option as ``--slogate-<name>``."""
    group = parser.add_argument_group(*LOCUST_GROUP)
    for option in OPTIONS:
        extra = {"env_var": option.env_var} if option.env_var else {}
        if option.is_switch:
            group.add_argument(option.locust_flag, action="store_true", default=option.default,
                               help=option.help, **extra)
        else:
            group.add_argument(option.locust_flag, metavar=option.metavar, type=option.argparse_type(),
                               default=option.default, help=option.help, **extra)


@dataclass(frozen=True)
class SlogateOptions:
    """What a run was asked for, read once from Locust's parsed options."""

    out: str | None
    run_id: str | None
    spec: str | None
    slice: float
    api_key: str | None
    shape: str | None
    rate: float | None
    rate_to: float | None
    rate_ramp: float | None
    arrivals: str
    max_lag: float
    accept_saturated: bool
    metrics_port: int | None
    metrics_host: str
    otlp_endpoint: str | None
    no_traceparent: bool
    until_decided: bool
    min_duration: float | None
    warmup: float | None
    contract: str | None
    # Locust's own options that a run's recording depends on.
    users: int | None
    spawn_rate: float | None
    run_time_s: float | None
    processes: int | None
    locustfile: str

    @classmethod
    def read(cls, parsed: Any) -> SlogateOptions:
        """From Locust's options (an argparse Namespace, or None without a command line); an
        option missing from them has its default."""
        ours = {option.name: getattr(parsed, option.locust_dest, option.default) for option in OPTIONS}
        return cls(
            **ours,
            users=getattr(parsed, "num_users", None),
            spawn_rate=getattr(parsed, "spawn_rate", None),
            run_time_s=getattr(parsed, "run_time", None),
            processes=getattr(parsed, "processes", None),
            locustfile=str(getattr(parsed, "locustfile", "") or ""),
        )
