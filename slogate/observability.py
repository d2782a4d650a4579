"""The ``dashboards`` and ``alerts`` commands' I/O: the ``--contract`` file, a live target's
latency buckets, and the upload of dashboards to Grafana's HTTP API.

Every failure is an ``ObservabilityError`` with a message fit for the user (no traceback, the
Grafana token never in it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from slogate.alerts import buckets_from_exposition
from slogate.slo.contract import LoadTestContract, MetricContract, read_contract_file
from slogate.slo.redact import redact

GRAFANA_TOKEN_ENV = "GRAFANA_TOKEN"
TIMEOUT_S = 10.0


class ObservabilityError(Exception):
    """Bad input or an unreachable service; the message says which and why."""


def load_contract_file(path: Path) -> tuple[MetricContract, LoadTestContract]:
    """Metric and load-test contract overrides from a YAML file (see ``contracts_from_mapping``)."""
    try:
        return read_contract_file(path)
    except ValueError as exc:
        raise ObservabilityError(str(exc)) from None


def fetch_buckets(url: str, contract: MetricContract) -> list[float]:
    """The latency histogram's bucket bounds from a target's metrics URL (``…/metrics``)."""
    try:
        response = requests.get(url, timeout=TIMEOUT_S)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise ObservabilityError(f"cannot read the metrics at {redact(url)}: {redact(str(exc))}") from None
    try:
        return buckets_from_exposition(response.text, contract)
    except ValueError as exc:
        raise ObservabilityError(f"{redact(url)}: {exc}") from None


def grafana_token(env: Mapping[str, str] = os.environ, name: str = GRAFANA_TOKEN_ENV) -> str:
    token = env.get(name, "").strip()
    if not token:
        raise ObservabilityError(
            f"--grafana-url needs a Grafana service account token in the {name} environment variable"
        )
    return token


def upload_dashboards(
    grafana_url: str, token: str, models: Mapping[str, dict[str, Any]], *, folder_uid: str = ""
) -> list[str]:
    """Create or replace each dashboard through ``POST /api/dashboards/db``; returns their URLs."""
    endpoint = f"{grafana_url.rstrip('/')}/api/dashboards/db"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    urls = []
    for name, model in models.items():
        body: dict[str, Any] = {"dashboard": {**model, "id": None}, "overwrite": True,
                                "message": "slogate dashboards"}
        if folder_uid:
            body["folderUid"] = folder_uid
        try:
            response = requests.post(endpoint, json=body, headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise ObservabilityError(
                f"cannot reach Grafana at {redact(grafana_url)}: {redact(str(exc), (token,))}"
            ) from None
        if response.status_code != 200:
            detail = redact(response.text[:300], (token,))
            raise ObservabilityError(
                f"Grafana refused the {name} dashboard: HTTP {response.status_code} {detail}"
            )
        answer = response.json() if response.content else {}
        urls.append(f"{grafana_url.rstrip('/')}{answer.get('url', '')}")
    return urls


def check_http_url(url: str, flag: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ObservabilityError(f"{flag}: expected an http(s) URL, got {redact(url)!r}")
