"""slogate's option table: Locust's --slogate-* flags and `slogate run`'s harness flags are one
option each (same parser, default and help), and a run reads them once into SlogateOptions."""

from __future__ import annotations

import argparse
import dataclasses

import configargparse
import pytest

from slogate.loadtest.options import DEFAULT_MAX_LAG_S, OPTIONS, SlogateOptions, add_options
from slogate.locust_process import add_harness_arguments, harness_locust_args

LOCUST_FIELDS = ["users", "spawn_rate", "run_time_s", "processes", "locustfile"]


def locust_parser() -> configargparse.ArgumentParser:
    """A parser with slogate's options the way Locust's has them (configargparse, for env_var)."""
    parser = configargparse.ArgumentParser(exit_on_error=False)
    add_options(parser)
    return parser


def harness_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_harness_arguments(parser)
    return parser


def test_the_run_reads_every_option_of_the_table_and_nothing_else() -> None:
    assert [f.name for f in dataclasses.fields(SlogateOptions)] == [o.name for o in OPTIONS] + LOCUST_FIELDS


def test_options_missing_from_the_namespace_have_the_table_defaults() -> None:
    options = SlogateOptions.read(argparse.Namespace(slogate_spec="spec.yaml", num_users=4))
    assert options.spec == "spec.yaml" and options.users == 4
    assert options.slice == 1.0 and options.max_lag == DEFAULT_MAX_LAG_S
    assert options.metrics_host == "127.0.0.1" and options.accept_saturated is False
    assert SlogateOptions.read(None) == SlogateOptions.read(locust_parser().parse_args([]))


def test_harness_flags_reach_locust_as_the_same_values() -> None:
    args = harness_parser().parse_args([
        "--processes", "2", "--shape", "ramp", "--rate", "40", "--rate-to", "80", "--rate-ramp", "5",
        "--accept-saturated", "--metrics-port", "0", "--otlp-endpoint", "http://otel:4318/v1/traces",
    ])
    locust_args = harness_locust_args(args)
    assert locust_args[:2] == ("--processes", "2")
    options = SlogateOptions.read(locust_parser().parse_args(list(locust_args[2:])))
    assert (options.shape, options.rate, options.rate_to, options.rate_ramp) == ("ramp", 40.0, 80.0, 5.0)
    assert options.accept_saturated and options.metrics_port == 0
    assert options.otlp_endpoint == "http://otel:4318/v1/traces"
    assert harness_locust_args(harness_parser().parse_args([])) == ()


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("rate", "0", "expected a positive number, got '0'"),
    ("rate_to", "-1", "expected a positive number, got '-1'"),
    ("rate_ramp", "nan", "expected a positive number of seconds, got 'nan'"),
    ("metrics_port", "99999", "expected a TCP port from 0 (any free one) to 65535"),
    ("otlp_endpoint", "otel:4318", "expected an http(s) URL, got 'otel:4318'"),
])
def test_a_bad_value_is_refused_alike_on_both_command_lines(option: str, value: str, expected: str) -> None:
    [found] = [o for o in OPTIONS if o.name == option]
    for parser, flag in ((harness_parser(), found.harness_flag), (locust_parser(), found.locust_flag)):
        with pytest.raises(argparse.ArgumentError, match="expected") as refused:
            parser.parse_args([flag, value])
        assert expected in str(refused.value)


def test_each_option_has_one_help_text_on_both_command_lines() -> None:
    harness_help = harness_parser().format_help()
    locust_help = locust_parser().format_help()
    for option in OPTIONS:
        first_words = option.help.replace("%%", "%")[:30]
        assert first_words in " ".join(locust_help.split()), option.name
        if option.on_harness:
            assert first_words in " ".join(harness_help.split()), option.name
