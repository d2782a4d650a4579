"""Faults of the simulated upstream: a latency distribution, an error ratio and periodic stalls.

``FaultConfig`` is the frozen description (parsed from command-line strings); ``FaultInjector`` is
its runtime state (random generator, stall clock) used by the upstream for each request.

String forms (all durations need a unit, see ``slo.units.parse_duration``):

* latency: ``none`` · ``constant:20ms`` · ``uniform:5ms,50ms`` · ``lognormal:20ms,0.5``
  (median and sigma of the underlying normal; p99 ≈ median·e^(2.33·sigma))
* error ratio: a fraction ``0.05`` or a percentage ``5%``
* stall: ``none`` or ``STALL/EVERY`` such as ``500ms/10s``: once every 10 s the upstream answers
  nothing for 500 ms; requests arriving in that window wait until it ends. The window closes each
  period (it spans the last 500 ms of every 10 s, counted from the upstream's start).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slo.units import parse_duration, parse_ratio

LATENCY_HELP = (
    "'none', 'constant:20ms', 'uniform:5ms,50ms' or 'lognormal:MEDIAN,SIGMA' "
    "such as 'lognormal:20ms,0.5'"
)
STALL_HELP = "'none' or STALL/EVERY such as '500ms/10s' (no answer for 500ms once every 10s)"
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


def parse_stall(text: str) -> tuple[float, float]:
    """(stall_ms, stall_every_s) from 'none' or 'STALL/EVERY' such as '500ms/10s'."""
    spec = text.strip()
    if spec.lower() in ("none", "0", ""):
        return 0.0, 0.0
    stall, sep, every = spec.partition("/")
    if not sep:
        raise ValueError(f"bad stall {text!r}: expected {STALL_HELP}")
    try:
        stall_s = parse_duration(stall.strip())
        every_s = parse_duration(every.strip())
    except ValueError as exc:
        raise ValueError(f"bad stall {text!r}: {exc}") from None
    _check_stall(stall_s * 1e3, every_s, text)
    return stall_s * 1e3, every_s


def format_stall(stall_ms: float, stall_every_s: float) -> str:
    """The string form read by ``parse_stall``."""
    if stall_ms <= 0:
        return "none"
    return f"{_format_seconds(stall_ms / 1e3)}/{_format_seconds(stall_every_s)}"


def _check_stall(stall_ms: float, stall_every_s: float, shown: str) -> None:
    if not (math.isfinite(stall_ms) and math.isfinite(stall_every_s)):
        raise ValueError(f"bad stall {shown!r}: values must be finite")
    if stall_ms < 0 or stall_every_s < 0:
        raise ValueError(f"bad stall {shown!r}: values must be >= 0")
    if stall_ms > 0 and not stall_ms / 1e3 < stall_every_s:
        raise ValueError(
            f"bad stall {shown!r}: the stall ({stall_ms:g}ms) must be shorter than "
            f"its period ({stall_every_s:g}s)"
        )


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

    def __post_init__(self) -> None:
        if not (math.isfinite(self.error_ratio) and 0.0 <= self.error_ratio <= 1.0):
            raise ValueError(f"error_ratio must be in [0, 1], got {self.error_ratio!r}")
        _check_stall(self.stall_ms, self.stall_every_s, f"{self.stall_ms:g}ms/{self.stall_every_s:g}s")

    @property
    def is_healthy(self) -> bool:
        """True when no fault is configured."""
        return (
            isinstance(self.latency, NoLatency) and self.error_ratio == 0.0 and self.stall_ms == 0
        )

    @classmethod
    def parse(
        cls,
        latency: str = "none",
        error_ratio: str = "0",
        stall: str = "none",
        seed: int | None = None,
    ) -> FaultConfig:
        """A config from the string forms (the command-line flags)."""
        stall_ms, stall_every_s = parse_stall(stall)
        return cls(
            latency=parse_latency(latency),
            error_ratio=parse_error_ratio(error_ratio),
            stall_ms=stall_ms,
            stall_every_s=stall_every_s,
            seed=seed,
        )


@dataclass(frozen=True)
class FaultDecision:
    """What happens to one request: wait ``delay_s`` in total, then answer 503 if ``fail``."""

    delay_s: float
    fail: bool


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
        if cfg.stall_ms <= 0:
            return 0.0
        elapsed = (self._clock() if now is None else now) - self._t0
        phase = elapsed % cfg.stall_every_s
        window_start = cfg.stall_every_s - cfg.stall_ms / 1e3
        return cfg.stall_every_s - phase if phase >= window_start else 0.0

    def decide(self) -> FaultDecision:
        """Draw this request's fate at arrival (so a seed gives the same sequence by arrival)."""
        cfg = self.config
        delay = self.stall_remaining() + cfg.latency.sample(self._rng)
        fail = cfg.error_ratio > 0 and self._rng.random() < cfg.error_ratio
        return FaultDecision(delay_s=delay, fail=fail)

    async def apply(self) -> bool:
        """Wait out the stall and the latency; True when the request must fail with a 503."""
        decision = self.decide()
        if decision.delay_s > 0:
            await asyncio.sleep(decision.delay_s)
        return decision.fail
