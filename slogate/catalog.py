"""The SLO presets and Locust scenarios slogate ships, by name, wherever the package is installed.

``--spec preset:web-api`` is ``slo/presets/web-api.yaml`` inside the package; a bare ``web-api``
(or ``web-api.yaml``) is the preset too when no file of that name exists, since a file the user
has always wins. ``--scenario caching`` (or ``caching_proxy``, ``caching_proxy.py``) is the
packaged locustfile, again unless such a file exists. Only paths here: no YAML is read, so the
command line can resolve names while it parses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slogate import loadtest
from slogate.slo import contracts, presets

PRESET_PREFIX = "preset:"
PRESETS_DIR = Path(presets.__file__).resolve().parent
SCENARIOS_DIR = Path(loadtest.__file__).resolve().parent
CONTRACTS_DIR = Path(contracts.__file__).resolve().parent


@dataclass(frozen=True)
class Scenario:
    name: str
    """What ``--scenario`` takes (the file's stem is taken too)."""
    file: str
    summary: str

    @property
    def path(self) -> Path:
        return SCENARIOS_DIR / self.file


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("mix", "reference_mix.py",
             "LLM messages, cacheable content and a readiness probe (the default)"),
    Scenario("llm", "llm_proxy.py",
             "an LLM API proxy: plain and streamed messages (TTFB, TTFT, ITL), one API key per user"),
    Scenario("caching", "caching_proxy.py",
             "a caching reverse proxy: Zipf-popular GET /content/{id}, hits and misses apart"),
)
DEFAULT_SCENARIO = SCENARIOS[0]

PRESET_SCENARIOS = {"caching-reverse-proxy": "caching", "llm-api-proxy": "llm", "llm-openai-proxy": "llm"}
"""The scenario that records the endpoints a preset's objectives name; the mix for the others."""
PRESET_SCENARIO_OPTIONS = {"llm-openai-proxy": ("--llm-api", "openai")}
"""The scenario's options (after ``--``) a preset's endpoints need, where it has some."""


def contract_names() -> list[str]:
    """The packaged metric contract presets (``--contract caddy``), without reading them."""
    return sorted(path.stem for path in CONTRACTS_DIR.glob("*.yaml"))


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESETS_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The packaged file of preset ``name``; ValueError naming the presets if there is none."""
    if name not in preset_names():
        raise ValueError(f"no preset named {name!r}; presets: {', '.join(preset_names())} "
                         "(`slogate presets` lists them)")
    return PRESETS_DIR / f"{name}.yaml"


def preset_scenario(name: str) -> Scenario:
    return scenario_named(PRESET_SCENARIOS.get(name, DEFAULT_SCENARIO.name))


def preset_scenario_options(name: str) -> tuple[str, ...]:
    """The scenario's options (after ``--``) preset ``name`` needs; none for most."""
    return PRESET_SCENARIO_OPTIONS.get(name, ())


def preset_scenario_arguments(name: str) -> str:
    """What ``--scenario`` takes for preset ``name``, with the scenario's options it needs after
    ``--`` (``llm -- --llm-api openai``)."""
    options = preset_scenario_options(name)
    return " ".join([preset_scenario(name).name, *(("--", *options) if options else ())])


def spec_path(text: str) -> Path:
    """The spec file ``--spec`` means: ``preset:NAME``, an existing file, or a bare preset name."""
    if text.startswith(PRESET_PREFIX):
        return preset_path(text.removeprefix(PRESET_PREFIX))
    path = Path(text)
    bare = text.removesuffix(".yaml")
    if not path.exists() and bare in preset_names():
        return PRESETS_DIR / f"{bare}.yaml"
    return path  # a missing file is reported by the spec loader, with the other file errors


def scenario_named(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if name in (scenario.name, scenario.path.stem, scenario.file):
            return scenario
    raise ValueError(f"no scenario named {name!r}")


def scenario_path(text: str) -> Path:
    """The locustfile ``--scenario`` means: an existing file, else a packaged scenario's name."""
    path = Path(text)
    if path.is_file():
        return path
    try:
        return scenario_named(text).path
    except ValueError:
        names = ", ".join(scenario.name for scenario in SCENARIOS)
        raise ValueError(f"no such file or scenario: {text!r}; scenarios: {names} "
                         "(`slogate presets` lists them)") from None
