"""The embedded reference target: an HTTP proxy (cache, health, Prometheus metrics of the metric
contract) in front of a simulated Anthropic-style upstream with injectable faults.

* in this event loop: ``running = await start_target(TargetConfig(...))``, ``await running.close()``
* as a child process: ``with ReferenceTarget(faults=FaultConfig(...)) as target: target.proxy_url``
* from the command line: ``python -m slogate.target --help`` (``serve`` underneath)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slogate.target.faults import FaultConfig, parse_latency
    from slogate.target.process import ReferenceTarget
    from slogate.target.server import RunningTarget, TargetConfig, serve, start_target

# Imported on first use: the server needs aiohttp, which `slogate --help` should not load.
_HOMES = {
    "FaultConfig": "slogate.target.faults",
    "parse_latency": "slogate.target.faults",
    "ReferenceTarget": "slogate.target.process",
    "RunningTarget": "slogate.target.server",
    "TargetConfig": "slogate.target.server",
    "serve": "slogate.target.server",
    "start_target": "slogate.target.server",
}

__all__ = [
    "FaultConfig",
    "ReferenceTarget",
    "RunningTarget",
    "TargetConfig",
    "parse_latency",
    "serve",
    "start_target",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
