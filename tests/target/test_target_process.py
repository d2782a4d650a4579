"""The reference target as a child process and its command line."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from typing import Any

import pytest
import requests

from slogate.slo.contract import DEFAULT_CONTRACT
from slogate.target import FaultConfig, ReferenceTarget, TargetConfig
from slogate.target.cli import add_target_arguments, config_from_args, config_to_args, main
from slogate.target.faults import LogNormalLatency
from slogate.target.ratelimit import RateLimit
from tests.target.target_helpers import samples, value

SECRET = "sk-ant-test-7f3c9e-never-print-me"


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_child_process_serves_and_is_gone_after_exit() -> None:
    headers = {"Authorization": f"Bearer {SECRET}", "x-api-key": SECRET}
    message: dict[str, Any] = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    with ReferenceTarget(faults=FaultConfig(seed=1)) as target:
        pid = target.pid
        assert pid != os.getpid() and _pid_exists(pid)
        assert target.proxy_url.startswith("http://127.0.0.1:")
        assert target.upstream_url.startswith("http://127.0.0.1:")
        with requests.Session() as session:
            sent = session.post(
                f"{target.proxy_url}/v1/messages", json=message, headers=headers, timeout=5
            )
            assert sent.status_code == 200
            assert session.get(f"{target.upstream_url}/health", timeout=5).status_code == 200
            assert session.get(f"{target.proxy_url}/health/ready", timeout=5).status_code == 200
            text = session.get(f"{target.proxy_url}/metrics", timeout=5).text
        assert value(samples(text), DEFAULT_CONTRACT.llm_tokens, token_type="output") > 0
        assert SECRET not in text
    assert not _pid_exists(pid)
    assert target.returncode == 0  # a clean shutdown on SIGTERM
    ready = json.loads(target.stdout_text())  # stdout holds the ready line only
    assert ready == {"proxy_url": target.proxy_url, "upstream_url": target.upstream_url, "pid": pid}
    assert SECRET not in target.stdout_text()
    assert SECRET not in target.stderr_text()


def test_child_process_gets_its_faults() -> None:
    with ReferenceTarget(TargetConfig(faults=FaultConfig(error_ratio=1.0))) as target:
        resp = requests.get(f"{target.proxy_url}/content/a", timeout=5)
    assert resp.status_code == 503


def test_child_startup_failure_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        target = ReferenceTarget(proxy_port=port)
        with pytest.raises(RuntimeError, match="exited with code 2") as info:
            target.start()
    assert "cannot listen" in str(info.value)
    assert not target.running


def test_child_stops_when_its_stdin_closes() -> None:
    command = [sys.executable, "-m", "slogate.target", "--exit-on-stdin-eof"]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["pid"] == proc.pid
        proc.stdin.close()  # what happens when the parent dies
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--latency", "fast"], "argument --latency: bad latency 'fast'"),
        (["--error-ratio", "2"], "argument --error-ratio: bad error ratio '2'"),
        (["--stall", "10s/1s"], "argument --stall: bad stall '10s/1s'"),
        (["--port", "70000"], "argument --port: expected a port number"),
        (["--upstream-timeout", "10"], "argument --upstream-timeout: expected a duration"),
        (["--seed", "x"], "argument --seed: expected an integer seed"),
        (["--upstream-url", "ftp://x", "--error-ratio", "0"], "upstream URL must be http"),
        (["--upstream-url", "http://h:1", "--error-ratio", "5%"], "cannot be combined"),
        (["--rate-limit", "20"], "argument --rate-limit: expected a rate such as 20/s"),
        (["--rate-limit", "20/s", "--rate-burst", "0"], "expected a burst of at least 1"),
        (["--rate-burst", "5"], "--rate-burst needs --rate-limit"),
        (["--token-interval", "-1ms"], "argument --token-interval"),
        (["--tokens-per-chunk", "4-2"], "argument --tokens-per-chunk: tokens per chunk must be"),
        (["--tokens-per-chunk", "x"], "argument --tokens-per-chunk: expected tokens per chunk"),
        (["--first-token-delay", "2m"], "first_token_s must be in 0..60"),
        (["--stream-error-ratio", "1.5"], "argument --stream-error-ratio: bad error ratio"),
    ],
)
def test_bad_flags_are_usage_errors(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(flags)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_flag_exit_code_from_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "slogate.target", "--latency", "lognormal:20ms"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "bad latency 'lognormal:20ms'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_flags_round_trip_through_config() -> None:
    config = TargetConfig(
        host="127.0.0.1",
        proxy_port=8080,
        upstream_port=9090,
        faults=FaultConfig(
            latency=LogNormalLatency(0.0125, 0.75),
            error_ratio=0.015,
            stall_ms=250.0,
            stall_every_s=7.5,
            seed=99,
            stream_error_ratio=0.125,
        ),
        upstream_timeout_s=2.5,
        cache_max_entries=10,
        rate_limit=RateLimit(2.5, 4),
        token_interval_s=0.0025,
        prefill_s=0.04,
        first_token_s=0.1205,
        tokens_per_chunk=(1, 4),
    )
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    assert config_from_args(parser.parse_args(config_to_args(config))) == config
    assert config_from_args(parser.parse_args([])) == TargetConfig()
    assert config_from_args(parser.parse_args(config_to_args(TargetConfig()))) == TargetConfig()
