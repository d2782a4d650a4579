"""Fault parsing and injection: latency distributions, error ratio, stalls, seeds."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

import pytest
import requests

from slogate.target.faults import (
    ConstantLatency,
    FaultConfig,
    FaultInjector,
    LogNormalLatency,
    NoLatency,
    UniformLatency,
    format_stall,
    parse_error_ratio,
    parse_latency,
    parse_stall,
)
from tests.target.target_helpers import ThreadedTarget

MakeTarget = Callable[..., ThreadedTarget]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("none", NoLatency()),
        ("constant:20ms", ConstantLatency(0.02)),
        ("uniform:5ms,50ms", UniformLatency(0.005, 0.05)),
        ("lognormal:20ms,0.5", LogNormalLatency(0.02, 0.5)),
        (" LogNormal: 1.5s , 1 ", LogNormalLatency(1.5, 1.0)),
    ],
)
def test_parse_latency(text: str, expected: object) -> None:
    assert parse_latency(text) == expected
    assert parse_latency(str(expected)) == expected  # the string form round-trips


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", "expected 'none'"),
        ("uniform:50ms,5ms", "low <= high"),
        ("uniform:5ms", "expected 'none'"),
        ("lognormal:20,0.5", "duration with a unit"),
        ("lognormal:20ms,wide", "sigma must be a number"),
        ("lognormal:0ms,0.5", "median must be > 0"),
        ("lognormal:20ms,-1", "sigma must be in"),
        ("constant:-5ms", "duration with a unit"),
    ],
)
def test_parse_latency_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="bad latency") as info:
        parse_latency(text)
    assert message in str(info.value)


def test_parse_error_ratio_and_stall() -> None:
    assert parse_error_ratio("0.05") == pytest.approx(0.05)
    assert parse_error_ratio("5%") == pytest.approx(0.05)
    assert parse_error_ratio("1") == 1.0
    for bad in ("1.5", "-0.1", "lots", "150%"):
        with pytest.raises(ValueError, match="bad error ratio"):
            parse_error_ratio(bad)
    assert parse_stall("500ms/10s") == (500.0, 10.0)
    assert parse_stall("none") == (0.0, 0.0)
    assert parse_stall(format_stall(300.0, 1.0)) == (300.0, 1.0)
    for bad in ("500ms", "500/10s", "2s/1s", "1s/1s"):
        with pytest.raises(ValueError, match="bad stall"):
            parse_stall(bad)


def test_fault_config_validates() -> None:
    assert FaultConfig().is_healthy
    assert not FaultConfig(error_ratio=0.1).is_healthy
    with pytest.raises(ValueError, match="error_ratio"):
        FaultConfig(error_ratio=1.5)
    with pytest.raises(ValueError, match="shorter than its period"):
        FaultConfig(stall_ms=500, stall_every_s=0)
    parsed = FaultConfig.parse("uniform:1ms,2ms", "10%", "100ms/1s", seed=7)
    assert parsed == FaultConfig(UniformLatency(0.001, 0.002), 0.1, 100.0, 1.0, 7)


def test_lognormal_samples_vary_around_the_median() -> None:
    dist = LogNormalLatency(0.02, 0.5)
    draws = [dist.sample(random.Random(1)) for _ in range(3)]
    assert len(set(draws)) == 1  # same seed, same draw
    rng = random.Random(42)
    values = [dist.sample(rng) for _ in range(4000)]
    assert statistics.median(values) == pytest.approx(0.02, rel=0.1)
    assert min(values) > 0
    assert statistics.pstdev(values) > 0.005  # a distribution, not a constant
    assert sorted(values)[int(0.99 * len(values))] > 0.05  # a long right tail


def test_seed_makes_decisions_reproducible() -> None:
    config = FaultConfig(latency=UniformLatency(0.0, 0.1), error_ratio=0.3, seed=123)
    one, two = FaultInjector(config), FaultInjector(config)
    assert [one.decide() for _ in range(50)] == [two.decide() for _ in range(50)]
    unseeded = FaultConfig(latency=UniformLatency(0.0, 0.1))
    assert FaultInjector(unseeded).decide() != FaultInjector(unseeded).decide()
    many = FaultInjector(FaultConfig(error_ratio=0.3, seed=5))
    ratio = sum(many.decide().fail for _ in range(5000)) / 5000
    assert ratio == pytest.approx(0.3, abs=0.03)


def test_stall_window_holds_every_arrival_until_it_ends() -> None:
    now = [100.0]
    injector = FaultInjector(FaultConfig(stall_ms=300, stall_every_s=1.0), clock=lambda: now[0])
    # The window is the last 300 ms of every second since the start (t0 = 100.0).
    assert injector.stall_remaining(100.0) == 0.0
    assert injector.stall_remaining(100.69) == 0.0
    for arrival in (100.7, 100.8, 100.95, 102.75):
        end = arrival + injector.stall_remaining(arrival)
        assert end == pytest.approx(round(arrival + 0.5), abs=1e-9)  # all wait until the end
    assert injector.stall_remaining(101.0) == 0.0
    assert FaultInjector(FaultConfig()).stall_remaining() == 0.0


def test_latency_distribution_gives_varied_latencies_in_bounds(make_target: MakeTarget) -> None:
    target = make_target(faults=FaultConfig(latency=UniformLatency(0.02, 0.06), seed=3))
    elapsed = []
    with requests.Session() as session:
        for i in range(15):
            start = time.perf_counter()
            resp = session.get(f"{target.proxy_url}/content/lat-{i}", timeout=5)  # no cache hits
            elapsed.append(time.perf_counter() - start)
            assert resp.status_code == 200
    assert min(elapsed) >= 0.02
    # Within the distribution's bound plus loopback overhead; a busy machine may stall one or two
    # requests (a 0.97 s outlier was seen with six test processes on two cores).
    assert sorted(elapsed)[-3] < 0.06 + 0.05
    assert max(elapsed) - min(elapsed) > 0.01  # not a constant
    assert len({round(e, 3) for e in elapsed}) > 5


def test_stall_delays_requests_arriving_in_the_window(make_target: MakeTarget) -> None:
    target = make_target(faults=FaultConfig(stall_ms=300, stall_every_s=1.0))
    elapsed = []
    with requests.Session() as session:
        session.get(f"{target.proxy_url}/health/live", timeout=5)  # connect first
        deadline = time.monotonic() + 1.2  # back-to-back requests cover a whole period
        i = 0
        while time.monotonic() < deadline:
            start = time.perf_counter()
            session.get(f"{target.proxy_url}/content/stall-{i}", timeout=5)
            elapsed.append(time.perf_counter() - start)
            i += 1
    stalled = [e for e in elapsed if e > 0.1]
    assert stalled, "no request met the stall window"
    assert max(stalled) >= 0.25  # the first arrival waits (nearly) the whole 300 ms
    assert max(elapsed) < 0.3 + 0.15
    assert statistics.median(elapsed) < 0.05  # outside the window the upstream is fast
