"""Presets and scenarios by name: what --spec and --scenario take besides a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate import catalog
from slogate.slo.specfile.load import load_spec

REPO = Path(__file__).resolve().parents[2]


def test_every_packaged_preset_is_found_and_valid() -> None:
    names = catalog.preset_names()
    assert names == sorted(p.stem for p in (REPO / "slo" / "presets").glob("*.yaml"))
    assert {"web-api", "caching-reverse-proxy", "llm-api-proxy"} <= set(names)
    for name in names:
        spec = load_spec(catalog.preset_path(name))
        assert spec.description, name
        assert catalog.preset_scenario(name).path.is_file(), name
    assert catalog.preset_scenario_options("llm-openai-proxy") == ("--llm-api", "openai")
    assert catalog.preset_scenario_options("llm-api-proxy") == ()
    assert catalog.preset_scenario_arguments("llm-openai-proxy") == "llm -- --llm-api openai"
    assert catalog.preset_scenario_arguments("web-api") == "mix"


def test_a_preset_by_prefix_or_bare_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    packaged = catalog.PRESETS_DIR / "web-api.yaml"
    assert catalog.spec_path("preset:web-api") == packaged
    assert catalog.spec_path("web-api") == packaged
    assert catalog.spec_path("web-api.yaml") == packaged
    # A file of the user's own wins over a bare name, never over the explicit prefix.
    (tmp_path / "web-api.yaml").write_text("service: mine\n", encoding="utf-8")
    assert catalog.spec_path("web-api.yaml") == Path("web-api.yaml")
    assert catalog.spec_path("preset:web-api") == packaged
    # Anything else is a path, for the spec loader to read or report.
    assert catalog.spec_path("slo/mine.yaml") == Path("slo/mine.yaml")
    with pytest.raises(ValueError, match=r"no preset named 'nope'; presets: api-service, "):
        catalog.spec_path("preset:nope")


@pytest.mark.parametrize(("text", "file"), [
    ("mix", "reference_mix.py"), ("reference_mix", "reference_mix.py"),
    ("llm", "llm_proxy.py"), ("llm_proxy.py", "llm_proxy.py"),
    ("caching", "caching_proxy.py"), ("caching_proxy", "caching_proxy.py"),
])
def test_a_scenario_by_name(text: str, file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = catalog.scenario_path(text)
    assert path == catalog.SCENARIOS_DIR / file and path.is_file()


def test_a_scenario_file_of_the_users_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("caching_proxy.py").write_text("# mine\n", encoding="utf-8")
    assert catalog.scenario_path("caching_proxy.py") == Path("caching_proxy.py")
    assert catalog.scenario_path("caching") == catalog.SCENARIOS_DIR / "caching_proxy.py"
    with pytest.raises(ValueError, match=r"no such file or scenario: 'cache'; scenarios: mix, llm, caching"):
        catalog.scenario_path("cache")
