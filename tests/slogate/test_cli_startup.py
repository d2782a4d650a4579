"""The command line starts light: importing it, or asking for help, loads none of the heavy
libraries (they come with the command that needs them), and every command's help prints."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from slogate.cli import DefaultsHelpFormatter, build_parser, main

HEAVY = ("numpy", "yaml", "pandas", "matplotlib", "aiohttp", "gevent", "locust")


def imported_modules(*python_args: str) -> set[str]:
    """The modules a fresh interpreter imports to run ``python_args`` (from ``-X importtime``)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *python_args],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    modules = imported_modules("-c", "import slogate.cli")
    assert "slogate.cli" in modules
    assert heavy(modules) == []


def test_slogate_help_loads_no_heavy_library() -> None:
    modules = imported_modules("-m", "slogate.cli", "--help")
    assert "slogate.locust_process" in modules  # the whole parser was built, not a short cut
    assert heavy(modules) == []


def subcommands() -> list[str]:
    actions = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return sorted(actions[0].choices)


def test_the_subcommands_are_found() -> None:
    assert {"demo", "run", "gate", "report", "validate", "target"} <= set(subcommands())


@pytest.mark.parametrize("command", subcommands())
def test_every_subcommand_prints_its_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    out, err = capsys.readouterr()
    assert done.value.code == 0, err
    assert out.startswith(f"usage: slogate {command}")
    assert "Traceback" not in out + err


@pytest.mark.parametrize("command", subcommands())
def test_every_default_is_in_the_help(command: str) -> None:
    [commands] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    parser = commands.choices[command]
    formatter = parser._get_formatter()
    assert isinstance(formatter, DefaultsHelpFormatter)
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, "", argparse.SUPPRESS):
            assert "default" in (formatter._get_help_string(action) or ""), action.option_strings
