"""The Prometheus test server itself: it scrapes the reference target and answers queries."""

from __future__ import annotations

from pathlib import Path

import requests

from slogate.slo.contract import DEFAULT_CONTRACT
from slogate.target import ReferenceTarget
from tests.prometheus_server import prometheus


def test_prometheus_scrapes_the_reference_target(tmp_path: Path) -> None:
    with ReferenceTarget() as target:
        for i in range(5):
            requests.get(f"{target.proxy_url}/content/{i}", timeout=5)
        address = target.proxy_url.removeprefix("http://")
        with prometheus(tmp_path, [address]) as server:
            result = server.wait_for(f"sum({DEFAULT_CONTRACT.request_duration}_count)")
            assert result and float(result[0]["value"][1]) == 5.0
            assert server.query('up{job="proxy"}')[0]["value"][1] == "1"
