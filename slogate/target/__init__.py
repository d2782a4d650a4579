"""The embedded reference target: an HTTP proxy (cache, health, Prometheus metrics of the metric
contract) in front of a simulated Anthropic-style upstream with injectable faults.

* in this event loop: ``running = await start_target(TargetConfig(...))``, ``await running.close()``
* as a child process: ``with ReferenceTarget(faults=FaultConfig(...)) as target: target.proxy_url``
* from the command line: ``python -m slogate.target --help`` (``serve`` underneath)
"""

from slogate.target.faults import FaultConfig, parse_latency
from slogate.target.process import ReferenceTarget
from slogate.target.server import RunningTarget, TargetConfig, serve, start_target

__all__ = [
    "FaultConfig",
    "ReferenceTarget",
    "RunningTarget",
    "TargetConfig",
    "parse_latency",
    "serve",
    "start_target",
]
