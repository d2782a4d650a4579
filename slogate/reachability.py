"""Whether anything listens at a target before a load test is spent on it.

A TCP connection is enough: a refused or unanswered connection means no run could measure the
proxy (every request would fail, and the verdict would blame an SLO for a target that is not
there). TLS and HTTP are left to the run itself, which records their failures as such.
"""

from __future__ import annotations

import socket
from urllib.parse import urlparse

CONNECT_TIMEOUT_S = 5.0
DEFAULT_PORTS = {"http": 80, "https": 443}


class TargetUnreachableError(Exception):
    """Nothing accepted a TCP connection at the target's host and port."""


def check_listening(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Open (and close) one TCP connection to ``url``'s host and port; raises
    TargetUnreachableError saying what happened ("nothing listening at URL (connection refused)")."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    try:
        port = parsed.port or DEFAULT_PORTS.get(parsed.scheme, 80)
    except ValueError:  # a port out of range or not a number
        raise TargetUnreachableError(f"no port to connect to in {url}") from None
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except ConnectionRefusedError:
        raise TargetUnreachableError(f"nothing listening at {url} (connection refused)") from None
    except TimeoutError:
        raise TargetUnreachableError(
            f"nothing answered at {url} (no TCP connection within {timeout_s:g}s)") from None
    except socket.gaierror as exc:
        raise TargetUnreachableError(f"cannot resolve the host of {url} ({exc.strerror})") from None
    except OSError as exc:
        raise TargetUnreachableError(f"cannot connect to {url} ({exc.strerror or exc})") from None
