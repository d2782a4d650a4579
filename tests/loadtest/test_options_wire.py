"""Every option slogate and its scenarios add to Locust survives the trip to the workers.

Locust's master sends its parsed options to each worker at every spawn, packed with msgpack,
which carries plain values only: an option parsed into an object stops every worker before
its first request (seen with a token-length distribution kept as an object).
"""

from __future__ import annotations

from typing import Any

import msgpack
from locust.argument_parser import parse_options

import slogate.loadtest.caching_proxy
import slogate.loadtest.llm
import slogate.loadtest.plugin  # noqa: F401  (registers slogate's options)


def _packs(options: Any) -> None:
    for name, value in vars(options).items():
        try:
            msgpack.packb(value)
        except TypeError as exc:
            raise AssertionError(f"option {name}={value!r} cannot be sent to workers: {exc}") from None


def test_defaults_and_given_values_pack_for_the_workers() -> None:
    assert slogate.loadtest.llm and slogate.loadtest.caching_proxy
    _packs(parse_options(["-f", "loadtest/llm_proxy.py"]))
    _packs(parse_options([
        "-f", "loadtest/llm_proxy.py", "--llm-max-tokens", "uniform:10,20", "--llm-prompt-tokens",
        "lognormal:200,0.5", "--llm-api", "openai", "--slogate-rate", "5", "--slogate-slice", "2",
    ]))
