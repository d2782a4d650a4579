"""A target is checked with one TCP connection before any load is sent."""

from __future__ import annotations

import socket

import pytest

from slogate.reachability import TargetUnreachableError, check_listening


def test_a_listening_port_passes() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        check_listening(f"http://127.0.0.1:{port}/some/path")
        check_listening(f"https://127.0.0.1:{port}")  # TCP only: no TLS handshake is attempted


def test_a_closed_port_is_refused(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    with pytest.raises(TargetUnreachableError, match=rf"nothing listening at {url} \(connection refused\)"):
        check_listening(url)


def test_an_unknown_host_says_so() -> None:
    with pytest.raises(TargetUnreachableError, match=r"cannot resolve the host of http://no-such-host\.invalid"):
        check_listening("http://no-such-host.invalid:8080")
