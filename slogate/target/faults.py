"""Faults of the simulated upstream: latency, errors (uniform or in bursts), stalls, and broken bodies.

``FaultConfig`` is the frozen description (parsed from command-line strings); ``FaultInjector`` is
its runtime state (random generator, stall clock) used by the upstream for each request.

String forms (all durations need a unit, see ``slo.units.parse_duration``):

* latency: ``none`` · ``constant:20ms`` · ``uniform:5ms,50ms`` · ``lognormal:20ms,0.5``
  (median and sigma of the underlying normal; p99 ≈ median·e^(2.33·sigma))
* error ratio: a fraction ``0.05`` or a percentage ``5%``
* stall: ``none`` or ``STALL/EVERY`` such as ``500ms/10s``: once every 10 s the upstream answers
  nothing for 500 ms; requests arriving in that window wait until it ends. The window closes each
  period (it spans the last 500 ms of every 10 s, counted from the upstream's start).
* error burst: ``none`` or ``BURST/EVERY`` such as ``2s/5s``: every API request in the last 2 s of
  each 5 s period is answered 503 (errors that come together, as in an outage, rather than
  spread uniformly like ``error ratio``).
* reset ratio: the share of responses whose connection is reset halfway through the body.
* hang ratio: the share of responses that send their headers and then nothing (the reader times out).
* slow body: ``none`` or a duration such as ``2s``: each response body is trickled in small pieces
  over that long after its headers (a slow upstream, as opposed to a late one).
* stream error ratio: the share of streamed answers that stop after half their tokens with a
  mid-stream error event (a 200 that fails later, as an overloaded model server does).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slogate.slo.units import parse_duration, parse_ratio

LATENCY_HELP = (
    "'none', 'constant:20ms', 'uniform:5ms,50ms' or 'lognormal:MEDIAN,SIGMA' "
    "such as 'lognormal:20ms,0.5'"
)
STALL_HELP = "'none' or STALL/EVERY such as '500ms/10s' (no answer for 500ms once every 10s)"
BURST_HELP = "'none' or BURST/EVERY such as '2s/5s' (every API request answered 503 for 2s once every 5s)"
SLOW_BODY_HELP = "'none' or a duration such as '2s' (each body trickled over that long)"
_MAX_SIGMA = 5.0


def _format_seconds(seconds: float) -> str:
    """A duration string that ``parse_duration`` reads back exactly (no exponent notation)."""
    text = f"{seconds * 1e3:.6f}".rstrip("0").rstrip(".")
    return f"{text or '0'}ms"


@dataclass(frozen=True)
class NoLatency:
    """No added latency."""

    def sample(self, rng: random.Random) -> float:
        return 0.0

    def __str__(self) -> str:
        return "none"


@dataclass(frozen=True)
class ConstantLatency:
    """The same added latency on every request."""

    seconds: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise ValueError(f"constant latency must be >= 0, got {self.seconds!r}s")

    def sample(self, rng: random.Random) -> float:
        return self.seconds

    def __str__(self) -> str:
        return f"constant:{_format_seconds(self.seconds)}"


@dataclass(frozen=True)
class UniformLatency:
    """Added latency drawn uniformly in [low_s, high_s]."""

    low_s: float
    high_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low_s) and math.isfinite(self.high_s)):
            raise ValueError("uniform latency bounds must be finite")
        if not 0 <= self.low_s <= self.high_s:
            raise ValueError(
                f"uniform latency needs 0 <= low <= high, got low={self.low_s}s high={self.high_s}s"
            )

    def sample(self, rng: random.Random) -> float:
        return rng.uniform(self.low_s, self.high_s)

    def __str__(self) -> str:
        return f"uniform:{_format_seconds(self.low_s)},{_format_seconds(self.high_s)}"


@dataclass(frozen=True)
class LogNormalLatency:
    """Added latency drawn from a lognormal with the given median and sigma (a long right tail)."""

    median_s: float
    sigma: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.median_s) and self.median_s > 0):
            raise ValueError(f"lognormal median must be > 0, got {self.median_s!r}s")
        if not (math.isfinite(self.sigma) and 0 <= self.sigma <= _MAX_SIGMA):
            raise ValueError(f"lognormal sigma must be in [0, {_MAX_SIGMA}], got {self.sigma!r}")

    def sample(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.median_s), self.sigma)

    def __str__(self) -> str:
        return f"lognormal:{_format_seconds(self.median_s)},{self.sigma!r}"


LatencyDistribution = NoLatency | ConstantLatency | UniformLatency | LogNormalLatency


def parse_latency(text: str) -> LatencyDistribution:
    """A latency distribution from its string form; ValueError says what was expected."""
    spec = text.strip()
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    args = [a.strip() for a in rest.split(",")] if rest.strip() else []
    try:
        if kind == "none" and not args:
            return NoLatency()
        if kind == "constant" and len(args) == 1:
            return ConstantLatency(parse_duration(args[0]))
        if kind == "uniform" and len(args) == 2:
            return UniformLatency(parse_duration(args[0]), parse_duration(args[1]))
        if kind == "lognormal" and len(args) == 2:
            try:
                sigma = float(args[1])
            except ValueError:
                raise ValueError(f"lognormal sigma must be a number, got {args[1]!r}") from None
            return LogNormalLatency(parse_duration(args[0]), sigma)
    except ValueError as exc:
        raise ValueError(f"bad latency {text!r}: {exc}") from None
    raise ValueError(f"bad latency {text!r}: expected {LATENCY_HELP}")


def parse_error_ratio(text: str) -> float:
    """A fraction in [0, 1] from '0.05' or '5%'."""
    spec = text.strip()
    try:
        value: object = spec if spec.endswith("%") else float(spec)
    except ValueError:
        value = spec
    try:
        return parse_ratio(value)
    except ValueError as exc:
        raise ValueError(f"bad error ratio {text!r}: {exc}") from None


def _parse_window(text: str, what: str, expected: str) -> tuple[float, float]:
    """(length_s, every_s) from 'none' or 'LENGTH/EVERY'; (0, 0) for none."""
    spec = text.strip()
    if spec.lower() in ("none", "0", ""):
        return 0.0, 0.0
    length, sep, every = spec.partition("/")
    if not sep:
        raise ValueError(f"bad {what} {text!r}: expected {expected}")
    try:
        length_s = parse_duration(length.strip())
        every_s = parse_duration(every.strip())
    except ValueError as exc:
        raise ValueError(f"bad {what} {text!r}: {exc}") from None
    _check_window(length_s * 1e3, every_s, text, what)
    return length_s, every_s


def parse_stall(text: str) -> tuple[float, float]:
    """(stall_ms, stall_every_s) from 'none' or 'STALL/EVERY' such as '500ms/10s'."""
    stall_s, every_s = _parse_window(text, "stall", STALL_HELP)
    return stall_s * 1e3, every_s


def parse_burst(text: str) -> tuple[float, float]:
    """(burst_s, burst_every_s) from 'none' or 'BURST/EVERY' such as '2s/5s'."""
    return _parse_window(text, "error burst", BURST_HELP)


def format_burst(burst_s: float, burst_every_s: float) -> str:
    """The string form read by ``parse_burst``."""
    if burst_s <= 0:
        return "none"
    return f"{_format_seconds(burst_s)}/{_format_seconds(burst_every_s)}"


def parse_slow_body(text: str) -> float:
    """Seconds over which each body is trickled, from 'none' or a duration."""
    spec = text.strip()
    if spec.lower() in ("none", "0", ""):
        return 0.0
    try:
        seconds = parse_duration(spec)
    except ValueError as exc:
        raise ValueError(f"bad slow body {text!r}: {exc}") from None
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"bad slow body {text!r}: expected {SLOW_BODY_HELP}")
    return seconds


def format_slow_body(seconds: float) -> str:
    return "none" if seconds <= 0 else _format_seconds(seconds)


def format_stall(stall_ms: float, stall_every_s: float) -> str:
    """The string form read by ``parse_stall``."""
    if stall_ms <= 0:
        return "none"
    return f"{_format_seconds(stall_ms / 1e3)}/{_format_seconds(stall_every_s)}"


def _check_window(length_ms: float, every_s: float, shown: str, what: str = "stall") -> None:
    if not (math.isfinite(length_ms) and math.isfinite(every_s)):
        raise ValueError(f"bad {what} {shown!r}: values must be finite")
    if length_ms < 0 or every_s < 0:
        raise ValueError(f"bad {what} {shown!r}: values must be >= 0")
    if length_ms > 0 and not length_ms / 1e3 < every_s:
        raise ValueError(
            f"bad {what} {shown!r}: the {what} ({length_ms:g}ms) must be shorter than "
            f"its period ({every_s:g}s)"
        )


def _window_remaining(length_s: float, every_s: float, elapsed: float) -> float:
    """Seconds until a window (the last ``length_s`` of each ``every_s`` period) ends; 0 outside."""
    if length_s <= 0:
        return 0.0
    phase = elapsed % every_s
    return every_s - phase if phase >= every_s - length_s else 0.0


def _check_ratio(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


@dataclass(frozen=True)
class FaultConfig:
    """What the simulated upstream does wrong. The default is a healthy, fast upstream."""

    latency: LatencyDistribution = field(default_factory=NoLatency)
    error_ratio: float = 0.0
    """Fraction (0..1) of upstream requests answered 503."""
    stall_ms: float = 0.0
    """No answer for this long once every ``stall_every_s`` seconds (0: never)."""
    stall_every_s: float = 0.0
    seed: int | None = None
    """Seed of the random generator for reproducible latencies and errors (None: random)."""
    burst_s: float = 0.0
    """Every API request answered 503 for this long once every ``burst_every_s`` (0: never)."""
    burst_every_s: float = 0.0
    reset_ratio: float = 0.0
    """Fraction (0..1) of responses whose connection is reset halfway through the body."""
    hang_ratio: float = 0.0
    """Fraction (0..1) of responses that send their headers, then nothing until the reader gives up."""
    slow_body_s: float = 0.0
    """Each response body is trickled over this long after its headers (0: sent at once)."""
    stream_error_ratio: float = 0.0
    """Fraction (0..1) of streamed answers ended by a mid-stream error event after half their tokens."""

    def __post_init__(self) -> None:
        _check_ratio("error_ratio", self.error_ratio)
        _check_ratio("stream_error_ratio", self.stream_error_ratio)
        _check_ratio("reset_ratio", self.reset_ratio)
        _check_ratio("hang_ratio", self.hang_ratio)
        if self.reset_ratio + self.hang_ratio > 1.0:
            raise ValueError("reset_ratio + hang_ratio must not exceed 1")
        if not (math.isfinite(self.slow_body_s) and self.slow_body_s >= 0):
            raise ValueError(f"slow_body_s must be >= 0, got {self.slow_body_s!r}")
        _check_window(self.stall_ms, self.stall_every_s, f"{self.stall_ms:g}ms/{self.stall_every_s:g}s")
        _check_window(self.burst_s * 1e3, self.burst_every_s,
                      f"{self.burst_s:g}s/{self.burst_every_s:g}s", "error burst")

    @property
    def is_healthy(self) -> bool:
        """True when no fault is configured."""
        return (
            isinstance(self.latency, NoLatency) and self.error_ratio == 0.0 and self.stall_ms == 0
            and self.burst_s == 0 and self.reset_ratio == 0 and self.hang_ratio == 0
            and self.slow_body_s == 0 and self.stream_error_ratio == 0
        )

    @classmethod
    def parse(
        cls,
        latency: str = "none",
        error_ratio: str = "0",
        stall: str = "none",
        seed: int | None = None,
        *,
        error_burst: str = "none",
        reset_ratio: str = "0",
        hang_ratio: str = "0",
        slow_body: str = "none",
        stream_error_ratio: str = "0",
    ) -> FaultConfig:
        """A config from the string forms (the command-line flags)."""
        stall_ms, stall_every_s = parse_stall(stall)
        burst_s, burst_every_s = parse_burst(error_burst)
        return cls(
            latency=parse_latency(latency),
            error_ratio=parse_error_ratio(error_ratio),
            stall_ms=stall_ms,
            stall_every_s=stall_every_s,
            seed=seed,
            burst_s=burst_s,
            burst_every_s=burst_every_s,
            reset_ratio=parse_error_ratio(reset_ratio),
            hang_ratio=parse_error_ratio(hang_ratio),
            slow_body_s=parse_slow_body(slow_body),
            stream_error_ratio=parse_error_ratio(stream_error_ratio),
        )


@dataclass(frozen=True)
class FaultDecision:
    """What happens to one request: wait ``delay_s`` in total, then answer 503 if ``fail``;
    otherwise send the body over ``slow_body_s``, cut it halfway with a reset (``reset``), or
    send the headers alone (``hang``)."""

    delay_s: float
    fail: bool
    reset: bool = False
    hang: bool = False
    slow_body_s: float = 0.0
    stream_error: bool = False
    """A stream (if the answer is one) ends with an error event after half its tokens."""

    @property
    def breaks_body(self) -> bool:
        """True when the body is not sent whole and at once."""
        return self.reset or self.hang or self.slow_body_s > 0


class FaultInjector:
    """Runtime state of a ``FaultConfig``: one random generator and the stall clock."""

    def __init__(self, config: FaultConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._rng = random.Random(config.seed)
        self._t0 = clock()

    def stall_remaining(self, now: float | None = None) -> float:
        """Seconds until the current stall window ends (0 outside a window).

        The window is the last ``stall_ms`` of each ``stall_every_s`` period since the start, so
        a freshly started upstream answers at once.
        """
        cfg = self.config
        elapsed = (self._clock() if now is None else now) - self._t0
        return _window_remaining(cfg.stall_ms / 1e3, cfg.stall_every_s, elapsed)

    def in_error_burst(self, now: float | None = None) -> bool:
        """True inside an error burst (the last ``burst_s`` of each ``burst_every_s`` period)."""
        cfg = self.config
        elapsed = (self._clock() if now is None else now) - self._t0
        return _window_remaining(cfg.burst_s, cfg.burst_every_s, elapsed) > 0

    def decide(self) -> FaultDecision:
        """Draw this request's fate at arrival (so a seed gives the same sequence by arrival)."""
        cfg = self.config
        delay = self.stall_remaining() + cfg.latency.sample(self._rng)
        fail = cfg.error_ratio > 0 and self._rng.random() < cfg.error_ratio
        fail = fail or self.in_error_burst()
        # One draw splits reset and hang (their ratios add up to at most 1); none without either,
        # so a seeded sequence without these faults stays as it was.
        broken = self._rng.random() if cfg.reset_ratio + cfg.hang_ratio > 0 else 1.0
        stream_error = cfg.stream_error_ratio > 0 and self._rng.random() < cfg.stream_error_ratio
        return FaultDecision(
            delay_s=delay,
            fail=fail,
            reset=broken < cfg.reset_ratio,
            hang=cfg.reset_ratio <= broken < cfg.reset_ratio + cfg.hang_ratio,
            slow_body_s=cfg.slow_body_s,
            stream_error=stream_error,
        )

    async def apply(self) -> bool:
        """Wait out the stall and the latency; True when the request must fail with a 503."""
        return (await self.wait()).fail

    async def wait(self) -> FaultDecision:
        """Draw this request's fate, wait out its stall and latency, and return it."""
        decision = self.decide()
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        return decision
