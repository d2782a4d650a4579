"""Secrets never reach an artefact, and everything slogate serves listens on 127.0.0.1 only."""

from __future__ import annotations

from slogate.target.cli import build_parser
from tests.reliability.conftest import API_KEY, BEARER, FaultyRun


def test_no_artefact_of_a_run_holds_a_secret(faulty_run: FaultyRun) -> None:
    artefacts = sorted(p for p in faulty_run.bundle.rglob("*") if p.is_file())
    names = {p.name for p in artefacts}
    assert {"run.json", "evaluation.json", "report.html", "summary.md", "junit.xml", "locust.log"} <= names
    texts = {str(p): p.read_text(encoding="utf-8", errors="replace") for p in artefacts}
    texts["stdout"] = faulty_run.slogate.stdout()
    texts["stderr"] = faulty_run.slogate.stderr()
    # The scenario did try: its failures carried the headers, and it printed the key.
    assert "[REDACTED]" in texts[str(faulty_run.bundle / "locust.log")]
    assert "[REDACTED]" in texts[str(faulty_run.bundle / "run.json")]
    leaks = [(where, secret) for where, text in texts.items() for secret in (API_KEY, BEARER)
             if secret in text]
    assert leaks == []


def test_everything_served_listens_on_loopback(faulty_run: FaultyRun) -> None:
    ports = {port for _, _, port in faulty_run.listening}
    assert faulty_run.metrics_port in ports  # the load test's metrics endpoint was seen
    assert any(pid == faulty_run.target_pid for pid, _, _ in faulty_run.listening)  # and the target
    assert {ip for _, ip, _ in faulty_run.listening} == {"127.0.0.1"}, faulty_run.listening


def test_default_addresses_are_loopback() -> None:
    from slogate.cli import build_parser as slogate_parser

    assert build_parser().parse_args([]).host == "127.0.0.1"
    assert slogate_parser().parse_args(["target"]).host == "127.0.0.1"
