"""Every dashboard panel shows data: a real Prometheus scrapes the reference target and a
running load test (its own metrics endpoint), loads the generated rules, and answers every
panel's query, with Grafana's variables filled in as the 'All' choice would. Streamed LLM answers
of both API styles run beside the load test (its mix calls the messages API unstreamed), so the
LLM row's GenAI histograms have data."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests

from slogate import alerts
from slogate.dashboards import build_dashboards
from slogate.locust_process import LoadSettings, locust_command
from slogate.slo.contract import DEFAULT_LOADTEST_CONTRACT
from slogate.slo.spec import Spec
from slogate.target import ReferenceTarget
from tests.prometheus_server import PrometheusServer, free_port, prometheus

RATE_INTERVAL = "1m"  # what Grafana's $__rate_interval is at a 1 s scrape and a short range
LOAD_SECONDS = 14  # long enough to start, be scraped for a while, and be queried while running
OPEN_MODEL_RATE = 40  # arrivals per second: a few hundred requests in all
_VARIABLE = re.compile(r"\$\{?(route|method|instance|endpoint)\}?")

EXPECTED_EMPTY: frozenset[str] = frozenset()
"""Panel queries allowed to return nothing here: none. (The load test runs the open model, so
that the target rate and the late and dropped dispatches exist too.)"""


def concrete(expr: str) -> str:
    return _VARIABLE.sub(".*", expr.replace("$__rate_interval", RATE_INTERVAL))


def panel_queries(models: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(dashboard, panel title and legend, PromQL) of every panel target."""
    found = []
    for name, model in models.items():
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                found.append((name, f"{panel['title']} [{target['legendFormat']}]", target["expr"]))
    return found


def stream_llm_answers(proxy_url: str, stop: threading.Event) -> None:
    """Streamed answers, Anthropic and OpenAI style in turn, until ``stop`` is set."""
    message = {"max_tokens": 12, "stream": True,
               "messages": [{"role": "user", "content": "stream a short answer"}]}
    while not stop.is_set():
        for route, model in (("/v1/messages", "claude-live"), ("/v1/chat/completions", "gpt-live")):
            with requests.post(proxy_url + route, json={**message, "model": model}, stream=True,
                               headers={"x-api-key": "sk-live-dashboard"}, timeout=10) as resp:
                for _ in resp.iter_content(chunk_size=None):
                    pass
        stop.wait(0.1)


def _wait(server: PrometheusServer, expr: str, what: str, timeout_s: float = 20.0) -> None:
    assert server.wait_for(expr, timeout_s), f"{what}: no data for {expr} within {timeout_s:g} s"


def test_every_panel_query_returns_data(reference_spec: Spec, tmp_path: Path) -> None:
    rules = tmp_path / "rules" / "reference.rules.yaml"
    alerts.write_alert_files(reference_spec, rules)
    models = build_dashboards(reference_spec)
    queries = panel_queries(models)
    metrics_port = free_port()
    with ReferenceTarget() as target:
        settings = LoadSettings(
            host=target.proxy_url, users=20, spawn_rate=20, duration_s=LOAD_SECONDS,
            extra_args=("--slogate-metrics-port", str(metrics_port),
                        "--slogate-rate", str(OPEN_MODEL_RATE)),
        )
        command = locust_command(settings, tmp_path / "run", "live")
        address = target.proxy_url.removeprefix("http://")
        with prometheus(tmp_path / "prometheus", [address, f"127.0.0.1:{metrics_port}"],
                        rule_files=[rules]) as server:
            with (tmp_path / "locust.log").open("wb") as log:
                locust = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL)
            stop_streams = threading.Event()
            streams = threading.Thread(target=stream_llm_answers, args=(target.proxy_url, stop_streams),
                                       daemon=True)
            streams.start()
            try:
                _wait(server, f"{DEFAULT_LOADTEST_CONTRACT.users} > 0", "load test exporter")
                _wait(server, 'count(up{job="proxy"} == 1) == 2', "both targets scraped")
                _wait(server, "sum(gen_ai_server_time_per_output_token_seconds_count) > 0",
                      "streamed LLM answers")
                # A few scrapes of traffic, so that every rate has two samples in its window
                # and the recording rules have been evaluated over them.
                time.sleep(4)
                for slo in (o.name for o in reference_spec.objectives):
                    _wait(server, f'slogate:sli_error_ratio:rate5m{{slo="{slo}"}} or '
                                  f'slogate:sli_slow_ratio:rate5m{{slo="{slo}"}}', f"SLI {slo}")
                assert locust.poll() is None, "the load test ended before the queries"
                failures = []
                for dashboard, panel, expr in queries:
                    try:
                        result = server.query(concrete(expr))
                    except AssertionError as exc:
                        failures.append(f"{dashboard} / {panel}: error {exc}")
                        continue
                    if not result and expr not in EXPECTED_EMPTY:
                        failures.append(f"{dashboard} / {panel}: no data for\n{concrete(expr)}")
                for dashboard, variable in (
                    (name, v) for name, m in models.items() for v in m["templating"]["list"]
                    if v["type"] == "query"
                ):
                    match = re.fullmatch(r"label_values\((.*), (\w+)\)", variable["query"])
                    assert match, variable["query"]
                    values = server.api("/api/v1/label/" + match.group(2) + "/values",
                                        **{"match[]": match.group(1)})
                    if not values:
                        failures.append(f"{dashboard} / variable {variable['name']}: no values")
                assert not failures, "\n".join(failures)
                # The check can fail: a query of a metric nobody exports returns nothing.
                assert not server.query(concrete("sum(rate(slogate_no_such_total[$__rate_interval]))"))
                groups = server.api("/api/v1/rules")["groups"]
                assert len(groups) == 4
                unhealthy = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"]
                             if r["health"] != "ok"]
                assert not unhealthy, unhealthy
                assert len(queries) >= 60
            finally:
                stop_streams.set()
                locust.terminate()
                locust.wait(timeout=30)
                streams.join(timeout=15)
        assert requests.get(f"{target.proxy_url}/metrics", timeout=5).ok
