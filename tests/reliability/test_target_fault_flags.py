"""The reference target's fault flags: parsed, checked, and given back to a child process whole."""

from __future__ import annotations

import pytest

from slogate.target.cli import build_parser, config_from_args, config_to_args
from slogate.target.faults import FaultConfig, FaultInjector


def test_new_fault_flags_round_trip() -> None:
    flags = ["--error-burst", "2s/5s", "--reset-ratio", "5%", "--hang-ratio", "0.02",
             "--slow-body", "250ms", "--stall", "100ms/1s", "--seed", "4"]
    config = config_from_args(build_parser().parse_args(flags))
    faults = config.faults
    assert (faults.burst_s, faults.burst_every_s) == (2.0, 5.0)
    assert (faults.reset_ratio, faults.hang_ratio, faults.slow_body_s) == (0.05, 0.02, 0.25)
    assert not faults.is_healthy
    assert config_from_args(build_parser().parse_args(config_to_args(config))) == config


@pytest.mark.parametrize("flags", [["--error-burst", "5s/2s"], ["--error-burst", "2s"],
                                   ["--reset-ratio", "150%"], ["--slow-body", "fast"]])
def test_bad_fault_flags_are_usage_errors(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(flags)
    assert usage.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_errors_come_in_bursts_and_breakage_by_ratio() -> None:
    now = [0.0]
    injector = FaultInjector(FaultConfig(burst_s=1.0, burst_every_s=4.0, reset_ratio=0.25,
                                         hang_ratio=0.25, seed=1), clock=lambda: now[0])
    outside = [injector.decide() for _ in range(400)]
    assert not any(d.fail for d in outside)  # the burst is the last second of every four
    assert 60 < sum(d.reset for d in outside) < 140 and 60 < sum(d.hang for d in outside) < 140
    assert not any(d.reset and d.hang for d in outside)
    now[0] = 3.5
    assert all(injector.decide().fail for _ in range(50))
    with pytest.raises(ValueError, match="must not exceed 1"):
        FaultConfig(reset_ratio=0.6, hang_ratio=0.6)
