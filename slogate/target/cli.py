"""Command-line flags of the reference target, reusable by ``slogate target``.

``add_target_arguments`` adds the flags to a parser, ``config_from_args`` turns the parsed
namespace into a ``TargetConfig`` (ValueError on a bad combination), ``config_to_args`` is its
inverse (used to start a child process), and ``main`` is ``python -m slogate.target``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from slogate.arguments import argtype
from slogate.slo.units import DURATION_HELP, parse_duration, positive_duration
from slogate.target.faults import (
    BURST_HELP,
    LATENCY_HELP,
    SLOW_BODY_HELP,
    STALL_HELP,
    FaultConfig,
    NoLatency,
    format_burst,
    format_slow_body,
    format_stall,
    parse_burst,
    parse_error_ratio,
    parse_latency,
    parse_slow_body,
    parse_stall,
)
from slogate.target.ratelimit import RATE_HELP, RateLimit, default_burst, format_rate, parse_rate

if TYPE_CHECKING:
    from slogate.target.server import TargetConfig
from slogate.target.streams import (
    DEFAULT_TOKEN_INTERVAL_S,
    format_tokens_per_chunk,
    parse_tokens_per_chunk,
)

DESCRIPTION = (
    "Serve the slogate reference target: an HTTP proxy (cache, health, Prometheus /metrics) in "
    "front of a simulated Anthropic-style upstream with injectable faults. Prints one JSON line "
    '{"proxy_url", "upstream_url", "pid"} on stdout when ready; stops on SIGINT/SIGTERM.'
)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"expected a port number 0..65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"expected a port number 0..65535, got {text!r}")
    return port


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer seed, got {text!r}") from None


def _cache_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        size = -1
    if size < 0:
        raise ValueError(f"expected a number of entries >= 0, got {text!r}")
    return size


def _burst(text: str) -> int:
    try:
        burst = int(text)
    except ValueError:
        burst = 0
    if burst < 1:
        raise ValueError(f"expected a burst of at least 1 request, got {text!r}")
    return burst


def _interval(text: str) -> float:
    seconds = parse_duration(text)
    if seconds < 0:
        raise ValueError(f"expected a duration >= 0, got {text!r}")
    return seconds


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the target's flags (--host, --port, --upstream-port, faults, ...) to ``parser``."""
    listen = parser.add_argument_group("listening")
    listen.add_argument(
        "--host", default="127.0.0.1", help="address of both servers (default: %(default)s)"
    )
    listen.add_argument(
        "--port",
        type=argtype(_port, "port"),
        default=0,
        help="proxy port; 0 picks a free one (default: %(default)s)",
    )
    listen.add_argument(
        "--upstream-port",
        type=argtype(_port, "port"),
        default=0,
        metavar="PORT",
        help="simulated upstream port; 0 picks a free one (default: %(default)s)",
    )
    listen.add_argument(
        "--upstream-url",
        default=None,
        metavar="URL",
        help="proxy this http(s) server instead of the simulated upstream (no faults then)",
    )
    listen.add_argument(
        "--upstream-timeout",
        type=argtype(positive_duration, "duration"),
        default=10.0,
        metavar="DURATION",
        help=f"upstream request timeout, answered 504; {DURATION_HELP} (default: 10s)",
    )
    listen.add_argument(
        "--cache-entries",
        type=argtype(_cache_size, "entries"),
        default=1024,
        metavar="N",
        help="maximum entries in the proxy's response cache; 0 disables it (default: %(default)s)",
    )
    listen.add_argument(
        "--rate-limit",
        type=argtype(parse_rate, "rate"),
        default=None,
        metavar="RATE",
        help=f"per-API-key limit of forwarded requests, answered 429 with Retry-After beyond it: "
        f"{RATE_HELP} (default: none)",
    )
    listen.add_argument(
        "--rate-burst",
        type=argtype(_burst, "burst"),
        default=None,
        metavar="N",
        help="requests a key may send at once before the rate applies (default: one second's "
        "worth of the rate)",
    )
    listen.add_argument(
        "--token-interval",
        type=argtype(_interval, "duration"),
        default=DEFAULT_TOKEN_INTERVAL_S,
        metavar="DURATION",
        help=f"time between two tokens of a streamed message (\"stream\": true) of the simulated "
        f"upstream; {DURATION_HELP} (default: {DEFAULT_TOKEN_INTERVAL_S * 1e3:g}ms)",
    )
    listen.add_argument(
        "--prefill-delay",
        type=argtype(_interval, "duration"),
        default=0.0,
        metavar="DURATION",
        help=f"delay after a streamed answer's headers before its opening event (message_start); "
        f"{DURATION_HELP} (default: 0ms)",
    )
    listen.add_argument(
        "--first-token-delay",
        type=argtype(_interval, "duration"),
        default=0.0,
        metavar="DURATION",
        help=f"delay after a streamed answer's opening event before its first token, so the time "
        f"to first token is prefill + this; {DURATION_HELP} (default: 0ms)",
    )
    listen.add_argument(
        "--tokens-per-chunk",
        type=argtype(parse_tokens_per_chunk, "tokens"),
        default=(1, 1),
        metavar="N|LOW-HIGH",
        help="tokens in each streamed content chunk, such as 1 or 1-4 (drawn per chunk; a chunk "
        "is sent when its last token is ready) (default: 1)",
    )
    faults = parser.add_argument_group("faults of the simulated upstream")
    faults.add_argument(
        "--latency",
        type=argtype(parse_latency, "latency"),
        default=NoLatency(),
        metavar="DIST",
        help=f"added latency distribution: {LATENCY_HELP} (default: none)",
    )
    faults.add_argument(
        "--error-ratio",
        type=argtype(parse_error_ratio, "ratio"),
        default=0.0,
        metavar="RATIO",
        help="fraction of API requests answered 503, such as 0.05 or 5%% (default: 0)",
    )
    faults.add_argument(
        "--stall",
        type=argtype(parse_stall, "stall"),
        default=(0.0, 0.0),
        metavar="STALL/EVERY",
        help=f"periodic stall: {STALL_HELP}; requests arriving during a stall wait until it "
        "ends (default: none)",
    )
    faults.add_argument(
        "--error-burst",
        type=argtype(parse_burst, "burst"),
        default=(0.0, 0.0),
        metavar="BURST/EVERY",
        help=f"errors in bursts: {BURST_HELP} (default: none)",
    )
    faults.add_argument(
        "--reset-ratio",
        type=argtype(parse_error_ratio, "ratio"),
        default=0.0,
        metavar="RATIO",
        help="fraction of API responses whose connection is reset halfway through the body "
        "(default: 0)",
    )
    faults.add_argument(
        "--hang-ratio",
        type=argtype(parse_error_ratio, "ratio"),
        default=0.0,
        metavar="RATIO",
        help="fraction of API responses that send their headers and then nothing, so the reader "
        "times out (the proxy after --upstream-timeout, with a 504) (default: 0)",
    )
    faults.add_argument(
        "--slow-body",
        type=argtype(parse_slow_body, "duration"),
        default=0.0,
        metavar="DURATION",
        help=f"trickle every API response body: {SLOW_BODY_HELP} (default: none)",
    )
    faults.add_argument(
        "--stream-error-ratio",
        type=argtype(parse_error_ratio, "ratio"),
        default=0.0,
        metavar="RATIO",
        help="fraction of streamed answers that stop after half their tokens with a mid-stream "
        "error event (Anthropic overloaded_error, OpenAI server_error) (default: 0)",
    )
    faults.add_argument(
        "--seed",
        type=argtype(_seed, "seed"),
        default=None,
        help="random seed for reproducible latencies and errors (default: random)",
    )


def config_from_args(ns: argparse.Namespace) -> TargetConfig:
    """A ``TargetConfig`` from flags added by ``add_target_arguments``; ValueError if invalid."""
    from slogate.target.server import TargetConfig  # aiohttp: only when a target is configured
    stall_ms, stall_every_s = ns.stall
    if ns.rate_burst is not None and ns.rate_limit is None:
        raise ValueError("--rate-burst needs --rate-limit")
    rate_limit = None
    if ns.rate_limit is not None:
        burst = ns.rate_burst if ns.rate_burst is not None else default_burst(ns.rate_limit)
        rate_limit = RateLimit(ns.rate_limit, burst)
    burst_s, burst_every_s = ns.error_burst
    faults = FaultConfig(
        latency=ns.latency,
        error_ratio=ns.error_ratio,
        stall_ms=stall_ms,
        stall_every_s=stall_every_s,
        seed=ns.seed,
        burst_s=burst_s,
        burst_every_s=burst_every_s,
        reset_ratio=ns.reset_ratio,
        hang_ratio=ns.hang_ratio,
        slow_body_s=ns.slow_body,
        stream_error_ratio=ns.stream_error_ratio,
    )
    return TargetConfig(
        host=ns.host,
        proxy_port=ns.port,
        upstream_port=ns.upstream_port,
        faults=faults,
        upstream_timeout_s=ns.upstream_timeout,
        upstream_url=ns.upstream_url,
        cache_max_entries=ns.cache_entries,
        rate_limit=rate_limit,
        token_interval_s=ns.token_interval,
        prefill_s=ns.prefill_delay,
        first_token_s=ns.first_token_delay,
        tokens_per_chunk=ns.tokens_per_chunk,
    )


def config_to_args(config: TargetConfig) -> list[str]:
    """Flags that ``config_from_args`` turns back into ``config``."""
    f = config.faults
    args = [
        "--host", config.host,
        "--port", str(config.proxy_port),
        "--upstream-port", str(config.upstream_port),
        "--upstream-timeout", f"{config.upstream_timeout_s * 1e3:.6f}ms",
        "--cache-entries", str(config.cache_max_entries),
        "--latency", str(f.latency),
        "--error-ratio", repr(f.error_ratio),
        "--stall", format_stall(f.stall_ms, f.stall_every_s),
        "--error-burst", format_burst(f.burst_s, f.burst_every_s),
        "--reset-ratio", repr(f.reset_ratio),
        "--hang-ratio", repr(f.hang_ratio),
        "--slow-body", format_slow_body(f.slow_body_s),
        "--token-interval", f"{config.token_interval_s * 1e3:.6f}ms",
        "--prefill-delay", f"{config.prefill_s * 1e3:.6f}ms",
        "--first-token-delay", f"{config.first_token_s * 1e3:.6f}ms",
        "--tokens-per-chunk", format_tokens_per_chunk(config.tokens_per_chunk),
        "--stream-error-ratio", repr(f.stream_error_ratio),
    ]  # fmt: skip
    if config.rate_limit is not None:
        args += ["--rate-limit", format_rate(config.rate_limit.rate_per_s),
                 "--rate-burst", str(config.rate_limit.burst)]
    if config.upstream_url is not None:
        args += ["--upstream-url", config.upstream_url]
    if f.seed is not None:
        args += ["--seed", str(f.seed)]
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m slogate.target", description=DESCRIPTION)
    add_target_arguments(parser)
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help=argparse.SUPPRESS,  # set by ReferenceTarget: stop when the parent process is gone
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m slogate.target``: 0 after a clean shutdown, 2 on bad flags or a busy port."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        config = config_from_args(ns)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        from slogate.target.server import serve

        serve(config, ready_line=True, exit_on_stdin_eof=ns.exit_on_stdin_eof)
    except OSError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    return 0
