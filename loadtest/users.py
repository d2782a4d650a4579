"""Locust pieces the scenarios share: the background health user, 429 and failure reporting, and
run totals (tokens, cache results; kept in loadtest.counters and re-exported here).

A scenario gets the health user by importing it into its module (Locust runs every User class a
locustfile's namespace holds): ``from loadtest.users import HealthUser``.

Options (Locust command line, or the environment variable named):

``--health-interval SECONDS`` (``SLOGATE_HEALTH_INTERVAL``, default 0: off)
    how often the health user probes ``/health/live``, ``/health/ready`` and ``/metrics``. Off by
    default: a proxy without these routes answers 404, which would count against its availability.
    The probes are recorded apart, as ``GET /health/live#probe``... (``slo.spec.PROBE_SUFFIX``):
    objectives without an ``endpoint`` skip them; one naming the route (``GET /health/live``) judges
    them. It is one user (Locust ``fixed_count``) out of
    ``-u``, so it runs only when ``-u`` is 2 or more: the scenario's own users are never crowded
    out.
``--retry-after-cap SECONDS`` (``SLOGATE_RETRY_AFTER_CAP``, default 30)
    the longest wait a 429's ``Retry-After`` may impose on a user.

Rate-limited answers (429) are recorded apart from errors: ``mark_rate_limited`` reports the
request with ``exception=None`` and ``context={"rate_limited": True}``, and the user then sleeps
what ``Retry-After`` asks (``honour_retry_after``). Other failures are named by status
(``fail_by_status``: ``HTTP 503``), never by the raw URL, so error groups stay per route.
"""

from __future__ import annotations

import logging
from typing import Any

import gevent
from locust import FastHttpUser, User, events, task
from locust.env import Environment

from slogate.loadtest.counters import RunCounters, counters_of
from slogate.loadtest.traffic import retry_after_seconds
from slogate.slo.spec import PROBE_SUFFIX

logger = logging.getLogger("slogate")

__all__ = ["HealthUser", "RunCounters", "counters_of", "fail_by_status", "honour_retry_after",
           "mark_rate_limited"]

HEALTH_ROUTES = ("/health/live", "/health/ready", "/metrics")
DEFAULT_HEALTH_INTERVAL_S = 0.0
DEFAULT_RETRY_AFTER_CAP_S = 30.0


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    group = parser.add_argument_group("slogate scenarios", "Options shared by slogate's scenarios")
    group.add_argument(
        "--health-interval", metavar="SECONDS", type=float, default=DEFAULT_HEALTH_INTERVAL_S,
        env_var="SLOGATE_HEALTH_INTERVAL",
        help="How often the background user probes the health and metrics endpoints; 0: never "
             f"(default {DEFAULT_HEALTH_INTERVAL_S:g}: off)",
    )
    group.add_argument(
        "--retry-after-cap", metavar="SECONDS", type=float, default=DEFAULT_RETRY_AFTER_CAP_S,
        env_var="SLOGATE_RETRY_AFTER_CAP",
        help="Longest wait a 429's Retry-After may impose on a user "
             f"(default {DEFAULT_RETRY_AFTER_CAP_S:g})",
    )


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    interval = float(getattr(options, "health_interval", DEFAULT_HEALTH_INTERVAL_S))
    users = getattr(options, "num_users", None)
    if interval <= 0 or (users is not None and int(users) < 2):
        _drop_user_class(environment, HealthUser)
    counters_of(environment)


def _drop_user_class(environment: Environment, user_class: type[Any]) -> None:
    """Remove a User class from a run before it starts (the runner reads these at start)."""
    if user_class in environment.user_classes and len(environment.user_classes) > 1:
        environment.user_classes.remove(user_class)
        environment.user_classes_by_name.pop(user_class.__name__, None)


class HealthUser(FastHttpUser):
    """A light background user: probes the proxy's health and metrics endpoints once per interval."""

    fixed_count = 1

    def wait_time(self) -> float:
        options = self.environment.parsed_options
        return float(getattr(options, "health_interval", DEFAULT_HEALTH_INTERVAL_S))

    @task
    def probe(self) -> None:
        for route in HEALTH_ROUTES:
            self.client.get(route, name=route + PROBE_SUFFIX)


def mark_rate_limited(response: Any) -> float | None:
    """Report a 429 (inside its ``catch_response`` block) as rate limited, not failed; returns
    the seconds its ``Retry-After`` asks for."""
    meta = response.request_meta
    meta["context"] = {**meta.get("context", {}), "rate_limited": True}
    response.success()
    return retry_after_seconds(response.headers.get("Retry-After") if response.headers else None)


def honour_retry_after(user: User, wait_s: float | None) -> None:
    """Sleep what a 429 asked for, at most ``--retry-after-cap`` (after its request is reported)."""
    if wait_s:
        options = user.environment.parsed_options
        cap = float(getattr(options, "retry_after_cap", DEFAULT_RETRY_AFTER_CAP_S))
        gevent.sleep(min(wait_s, max(0.0, cap)))


def fail_by_status(response: Any) -> None:
    """Fail a response by its status (``HTTP 503``): error groups stay per route, not per URL.
    Without a status (the connection failed) Locust's own exception stands."""
    if response.status_code:
        response.failure(f"HTTP {response.status_code}")
