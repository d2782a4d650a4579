"""slogate as a new user meets it: the wheel built from this tree, installed into a fresh virtual
environment, run from an empty folder. Every command's help, the presets and scenarios by name,
rules and dashboards for each preset, load runs against the reference target, gate and export:
expected exit codes, and never a traceback.

Dependencies, and setuptools for the build, are installed from a wheel cache
(``$SLOGATE_TEST_WHEELS``, default ``~/.cache/slogate/test-wheels``), filled from pip's usual index
the first time it lacks one: resolving some 70 packages against the index takes longer than the
whole test. No ``.pyc`` compilation at install either (Python compiles what it imports).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from slogate import catalog
from tests.conftest import unavailable

pytestmark = [pytest.mark.slow, pytest.mark.install]

REPO = Path(__file__).resolve().parents[2]
WHEEL_CACHE = Path(os.environ.get("SLOGATE_TEST_WHEELS")
                   or Path.home() / ".cache" / "slogate" / "test-wheels")
COMMANDS = ("demo", "run", "gate", "report", "export", "dashboards", "alerts", "validate", "presets",
            "capacity", "target")
BUILD_REQUIRES: list[str] = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
RUN = ("--users", "4", "--spawn-rate", "4", "--duration", "3s")
MANY = """
import json, sys
from slogate.cli import main
codes = []
for argv in json.loads(sys.argv[1]):
    try:
        codes.append(main(argv))
    except SystemExit as exc:
        codes.append(exc.code)
print(json.dumps(codes))
"""
"""Several commands in one interpreter: each process of the installed package spends a second or
two importing (more on a busy machine), and a matrix of commands need not pay it every time."""


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Installed:
    bin: Path
    folder: Path
    """An empty folder to work in, away from this repository."""

    def env(self) -> dict[str, str]:
        # Bytecode written, as for a user: each process of the installed package would otherwise
        # compile everything it imports (locust, matplotlib...) again, seconds of CPU each.
        dropped = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        return {**env, "PATH": f"{self.bin}{os.pathsep}{env.get('PATH', '')}"}

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(self.bin / "slogate"), *args], cwd=self.folder, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def finish(codes: Sequence[int], process: subprocess.Popen[str], timeout: float = 180) -> Done:
        out, err = process.communicate(timeout=timeout)
        assert "Traceback" not in out + err, (process.args, out, err)
        assert process.returncode in codes, (process.args, process.returncode, out[-3000:], err[-3000:])
        return Done(process.returncode, out, err)

    def expect(self, codes: Sequence[int], *args: str) -> Done:
        return self.finish(codes, self.start(*args))

    def expect_each(self, codes: Sequence[int], commands: Sequence[Sequence[str]], *,
                    stderr: bool = False) -> str:
        """Run ``commands`` (each as ``slogate``'s arguments) in one installed interpreter; each
        must exit with one of ``codes``. Returns their output (``stderr``: their messages)."""
        done = subprocess.run([str(self.bin / "python"), "-c", MANY, json.dumps(commands)],
                              cwd=self.folder, env=self.env(), capture_output=True, text=True,
                              timeout=300, check=False)
        assert "Traceback" not in done.stdout + done.stderr, (done.stdout, done.stderr)
        assert done.returncode == 0, done.stderr[-3000:]
        *printed, last = done.stdout.splitlines()
        assert all(code in codes for code in json.loads(last)), (commands, last, done.stderr[-3000:])
        return done.stderr if stderr else "\n".join(printed)


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("install")
    # Built from a copy: setuptools' build/ folder in the tree would keep modules deleted since.
    source = root / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "out", "*.egg-info", "__pycache__", ".mypy_cache", ".ruff_cache"))
    build = ("wheel", "--no-deps", "--quiet", "--wheel-dir", str(root / "dist"), str(source))
    # The isolated build environment's setuptools comes from the wheel cache too: fetching it from
    # the index took half of the build.
    if pip(*build, "--no-index", "--find-links", str(WHEEL_CACHE)).returncode != 0:
        pip("download", "--quiet", "--no-deps", "--dest", str(WHEEL_CACHE), *BUILD_REQUIRES)
        built = pip(*build)
        if built.returncode != 0:
            unavailable(f"cannot build the wheel (an index for setuptools is needed): {built.stderr[-2000:]}")
    [wheel] = (root / "dist").glob("slogate-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = ("--python", str(python), "install", "--quiet", "--no-compile")
    cached = ("--no-index", "--find-links", str(WHEEL_CACHE), str(wheel))
    if pip(*install, *cached).returncode != 0:  # a cold or outdated cache: fill it from the index
        fetched = pip("download", "--quiet", "--dest", str(WHEEL_CACHE), str(wheel))
        if fetched.returncode != 0:
            unavailable(f"cannot download slogate's dependencies: {fetched.stderr[-2000:]}")
        done = pip(*install, *cached)
        assert done.returncode == 0, done.stderr[-3000:]
    folder = root / "empty"
    folder.mkdir()
    return Installed(bin=venv / "bin", folder=folder)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def target(installed: Installed) -> Iterator[str]:
    """The installed package's reference target."""
    port = free_port()
    process = subprocess.Popen([str(installed.bin / "slogate"), "target", "--port", str(port)],
                               cwd=installed.folder, env=installed.env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "the target did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_installed_in_its_own_namespace(installed: Installed) -> None:
    site = next((installed.bin.parent / "lib").glob("python3*/site-packages"))
    for name in ("slo", "loadtest", "reports", "dashboards", "alerts"):
        assert not (site / name).exists(), f"a top-level package {name!r} would clash with users' code"
    assert (site / "slogate" / "slo" / "presets" / "web-api.yaml").is_file()


def test_every_command_helps(installed: Installed) -> None:
    assert installed.expect([0], "--version").out.startswith("slogate ")
    assert "presets" in installed.expect([0], "--help").out
    helps = installed.expect_each([0], [[command, "--help"] for command in COMMANDS])
    for command in COMMANDS:
        assert f"usage: slogate {command}" in helps


def test_presets_validate_and_make_rules_and_dashboards(installed: Installed) -> None:
    listing = installed.expect([0], "presets").out
    presets = catalog.preset_names()
    for name in presets:
        assert f"  {name} " in listing
    for scenario in catalog.SCENARIOS:
        assert f"  {scenario.name} " in listing
    validated = installed.expect([0], "validate", *(f"preset:{name}" for name in presets)).out
    assert validated.count(": ok (") == len(presets)
    installed.expect([0], "alerts", "--spec", "preset:web-api", "--out", "rules/")
    installed.expect_each([0], [["alerts", "--spec", f"preset:{name}", "--out", "rules/"] for name in presets]
                          + [["dashboards", "--spec", f"preset:{name}", "--out", f"dashboards/{name}"]
                             for name in presets])
    for name in presets:
        assert (installed.folder / "rules" / f"{name}.rules.yaml").is_file(), name
        assert list((installed.folder / "dashboards" / name).glob("*.json")), name
    # Without a spec there is nothing to make them for: refused, not the packaged demo's spec.
    assert "required: --spec" in installed.expect([2], "alerts").err


def test_runs_with_presets_and_scenarios_by_name(installed: Installed, target: str) -> None:
    # At once: most of a short run is starting up and writing reports, which the others overlap.
    # Any verdict will do (3 s is too short for most objectives), never bad input or a crash.
    scenarios = {
        "caching-reverse-proxy": ("--scenario", "caching", "--", "--cache-purge-ratio", "0"),
        "llm-api-proxy": ("--scenario", "llm_proxy"),
    }
    started = {"demo": installed.start("demo", *RUN, "--out", "demo")} | {
        preset: installed.start("run", "--host", target, "--spec", f"preset:{preset}", *RUN,
                                "--out", f"runs/{preset}", *scenario)
        for preset, scenario in scenarios.items()
    }
    done = {name: installed.finish([0, 1, 3], process) for name, process in started.items()}
    [mix] = (installed.folder / "demo" / "runs").iterdir()
    assert (mix / "report.html").is_file(), done["demo"].err
    for preset in scenarios:
        assert (installed.folder / "runs" / preset / "evaluation.json").is_file(), done[preset].err
    # The reference mix's bundle judged on the presets the mix serves.
    installed.expect_each([0, 1, 3], [["gate", str(mix), "--spec", f"preset:{preset}"]
                                      for preset in catalog.preset_names()
                                      if catalog.preset_scenario(preset) == catalog.DEFAULT_SCENARIO])
    installed.expect_each([0], [["export", str(mix), "--out", "export/"],
                                ["export", str(mix), "--format", "locust", "--out", "export/"]])
    assert len(list((installed.folder / "export").glob("*.csv"))) == 3
    # The same --out again; a target that is not there (refused before any load, no bundle left);
    # parquet without the extra this install does not have: each said, with what to do.
    closed = f"http://127.0.0.1:{free_port()}"
    refused = installed.expect_each([2], [
        ["run", "--host", target, "--spec", "preset:llm-api-proxy", "--out", "runs/llm-api-proxy"],
        ["run", "--host", closed, "--spec", "web-api", "--out", "runs/none"],
        ["export", str(mix), "--format", "parquet"],
    ], stderr=True)
    assert "runs/llm-api-proxy already holds a run bundle" in refused
    assert f"nothing listening at {closed} (connection refused)" in refused
    assert not (installed.folder / "runs" / "none").exists()
    assert "pip install 'slogate[parquet]'" in refused
