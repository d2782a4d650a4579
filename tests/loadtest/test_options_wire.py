"""Every option slogate and its scenarios add to Locust survives the trip to the workers.

Locust's master sends its parsed options to each worker at every spawn, packed with msgpack,
which carries plain values only: an option parsed into an object stops every worker before
its first request (seen with a token-length distribution kept as an object). Checked in a child
process: importing Locust's argument parser with the scenarios patches the process with gevent.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_CHECK = textwrap.dedent("""
    import msgpack
    import slogate.loadtest.caching_proxy, slogate.loadtest.llm, slogate.loadtest.plugin
    from locust.argument_parser import parse_options

    for argv in (
        ["-f", "loadtest/llm_proxy.py"],
        ["-f", "loadtest/llm_proxy.py", "--llm-max-tokens", "uniform:10,20", "--llm-prompt-tokens",
         "lognormal:200,0.5", "--llm-api", "openai", "--slogate-rate", "5", "--slogate-slice", "2"],
    ):
        for name, value in vars(parse_options(argv)).items():
            try:
                msgpack.packb(value)
            except TypeError as exc:
                raise SystemExit(f"option {name}={value!r} cannot be sent to workers: {exc}")
    print("packed")
""")


def test_defaults_and_given_values_pack_for_the_workers() -> None:
    done = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("packed")
