"""The ``slogate`` command line. Exit codes: 0 pass, 1 SLO failed, 2 bad input or usage,
3 inconclusive or invalid measurement. Heavy imports happen inside each command, so
``slogate --help`` stays fast and Locust's gevent patching never reaches this process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from slo.bundle import BundleError
from slo.evaluation import ExitCode
from slo.loader import SpecError, load_spec
from slo.spec import Spec
from slo.units import format_duration, format_ratio, parse_duration

DEFAULT_OUT = Path("out")
DEMO_LATENCY = "lognormal:15ms,0.5"
DEMO_ERROR_RATIO = "0.2%"
EXAMPLE_SPEC = Path(__file__).resolve().parent / "specs" / "reference.yaml"


class UsageError(Exception):
    """Bad input found before any work started (exit 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return ExitCode.BAD_INPUT
    try:
        return int(args.handler(args))
    except SpecError as exc:
        for problem in exc.problems:
            print(f"slogate: spec error: {problem}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except (BundleError, UsageError) as exc:
        print(f"slogate: {exc}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except KeyboardInterrupt:
        print("slogate: interrupted", file=sys.stderr)
        return ExitCode.INCONCLUSIVE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slogate",
        description="Load test an HTTP API proxy with Locust and gate the release on its SLOs.",
        epilog="Exit codes: 0 pass, 1 SLO failed, 2 bad input or usage, "
        "3 inconclusive or invalid measurement.",
    )
    from slogate import __version__

    parser.add_argument("--version", action="version", version=f"slogate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="start the reference target, load test it, gate, report")
    demo.add_argument("--duration", type=_duration, default=30.0, help="load duration (default 30s)")
    demo.add_argument("--users", type=_positive_int, default=20, help="concurrent users (default 20)")
    demo.add_argument("--spawn-rate", type=_positive_float, default=20.0, help="users started per second")
    demo.add_argument("--spec", type=Path, default=EXAMPLE_SPEC, help="SLO spec (default: the demo's)")
    demo.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default ./out)")
    demo.add_argument("--latency", default=DEMO_LATENCY,
                      help=f"upstream latency distribution (default {DEMO_LATENCY}; see `target --help`)")
    demo.add_argument("--error-ratio", default=DEMO_ERROR_RATIO,
                      help=f"share of upstream requests answered 503 (default {DEMO_ERROR_RATIO})")
    demo.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    demo.set_defaults(handler=_cmd_demo)

    run = commands.add_parser("run", help="load test a URL with a scenario and gate it on a spec")
    run.add_argument("--host", required=True, help="base URL of the proxy, e.g. http://127.0.0.1:8080")
    run.add_argument("--spec", type=Path, required=True, help="SLO spec file (YAML)")
    run.add_argument("--users", type=_positive_int, default=10, help="concurrent users (closed model)")
    run.add_argument("--spawn-rate", type=_positive_float, default=10.0, help="users started per second")
    run.add_argument("--duration", type=_duration, default=30.0, help="load duration, e.g. 30s, 5m")
    run.add_argument("--scenario", type=Path, default=None, help="locustfile (default: reference mix)")
    run.add_argument("--slice", type=_duration, default=1.0, help="time slice width (default 1s)")
    run.add_argument("--out", type=Path, default=None, help="bundle folder (default out/runs/<run-id>)")
    run.add_argument("--run-id", default=None, help="run id (default: time and a random suffix)")
    run.add_argument("--json", action="store_true", help="print the evaluation as JSON on stdout")
    run.set_defaults(handler=_cmd_run)

    gate = commands.add_parser("gate", help="judge a saved run bundle against a spec")
    gate.add_argument("bundle", type=Path, help="run bundle folder (or its run.json)")
    gate.add_argument("--spec", type=Path, required=True, help="SLO spec file (YAML)")
    gate.add_argument("--out", type=Path, default=None, help="write reports here (default: the bundle)")
    gate.add_argument("--json", action="store_true", help="print the evaluation as JSON on stdout")
    gate.set_defaults(handler=_cmd_gate)

    report = commands.add_parser("report", help="render a judged bundle's report again")
    report.add_argument("bundle", type=Path, help="run bundle folder")
    report.add_argument("--format", choices=("html", "md", "junit", "json"), default=None,
                        help="print one format on stdout instead of rewriting every file")
    report.set_defaults(handler=_cmd_report)

    dash = commands.add_parser("dashboards", help="write Grafana dashboards (JSON) for a spec")
    dash.add_argument("--spec", type=Path, default=EXAMPLE_SPEC, help="SLO spec file (YAML)")
    dash.add_argument("--out", type=Path, default=DEFAULT_OUT / "dashboards", help="output folder")
    dash.set_defaults(handler=_cmd_dashboards)

    rules = commands.add_parser("alerts", help="write Prometheus recording and alert rules for a spec")
    rules.add_argument("--spec", type=Path, default=EXAMPLE_SPEC, help="SLO spec file (YAML)")
    rules.add_argument("--out", type=Path, default=None,
                       help="rule file (default out/rules/<service>.rules.yaml)")
    rules.set_defaults(handler=_cmd_alerts)

    validate = commands.add_parser("validate", help="check SLO spec files")
    validate.add_argument("specs", type=Path, nargs="+", help="spec files")
    validate.set_defaults(handler=_cmd_validate)

    from slogate.target.cli import add_target_arguments

    target = commands.add_parser("target", help="serve the reference target (proxy + upstream)")
    add_target_arguments(target)
    target.set_defaults(handler=_cmd_target)
    return parser


# -- commands ------------------------------------------------------------------------------


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = False
    for path in args.specs:
        try:
            spec = load_spec(path)
        except SpecError as exc:
            failed = True
            for problem in exc.problems:
                print(f"slogate: spec error: {problem}", file=sys.stderr)
            continue
        print(f"{path}: ok ({spec.service}, {len(spec.objectives)} objectives)")
    return ExitCode.BAD_INPUT if failed else ExitCode.PASS


def _cmd_run(args: argparse.Namespace) -> int:
    from slogate.locust_process import DEFAULT_SCENARIO, LoadSettings

    spec = load_spec(args.spec)
    _check_url(args.host)
    scenario = args.scenario or DEFAULT_SCENARIO
    if not Path(scenario).is_file():
        raise UsageError(f"--scenario: no such file: {scenario}")
    run_id = args.run_id or _new_run_id()
    bundle = args.out or DEFAULT_OUT / "runs" / run_id
    _check_writable(bundle)
    settings = LoadSettings(host=args.host, users=args.users, spawn_rate=args.spawn_rate,
                            duration_s=args.duration, scenario=Path(scenario), slice_s=args.slice)
    return _load_and_report(settings, spec, bundle, run_id, as_json=args.json)


def _cmd_gate(args: argparse.Namespace) -> int:
    from slogate.pipeline import judge

    spec = load_spec(args.spec)
    if args.out is not None:
        _check_writable(args.out)
    judged = judge(args.bundle, spec, out=args.out)
    _print_outcome(judged.evaluation, judged.bundle, as_json=args.json)
    return judged.evaluation.exit_code


def _cmd_report(args: argparse.Namespace) -> int:
    import reports
    from slo.bundle import read_evaluation, read_run

    run = read_run(args.bundle)
    evaluation = read_evaluation(args.bundle)
    renderers = {
        "html": lambda: reports.render_html(run, evaluation),
        "md": lambda: reports.render_markdown(run, evaluation),
        "junit": lambda: reports.render_junit(run, evaluation),
        "json": lambda: reports.render_json(evaluation),
    }
    if args.format:
        sys.stdout.write(renderers[args.format]())
        return ExitCode.PASS
    for path in reports.render_all(args.bundle, run, evaluation):
        print(path)
    return ExitCode.PASS


def _cmd_dashboards(args: argparse.Namespace) -> int:
    import dashboards

    spec = load_spec(args.spec)
    try:
        paths = dashboards.write_dashboards(spec, args.out)
    except ValueError as exc:
        raise UsageError(f"{spec.source}: {exc}") from None
    for path in paths:
        print(path)
    return ExitCode.PASS


def _cmd_alerts(args: argparse.Namespace) -> int:
    import alerts

    spec = load_spec(args.spec)
    out = args.out or DEFAULT_OUT / "rules" / f"{_safe_name(spec.service)}.rules.yaml"
    try:
        print(alerts.write_rules(spec, out))
    except ValueError as exc:
        raise UsageError(f"{spec.source}: {exc}") from None
    return ExitCode.PASS


def _cmd_target(args: argparse.Namespace) -> int:
    from slogate.target.cli import config_from_args
    from slogate.target.server import serve

    try:
        config = config_from_args(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        serve(config)
    except OSError as exc:
        raise UsageError(f"cannot listen on {config.host}: {exc.strerror or exc}") from None
    return ExitCode.PASS


def _cmd_demo(args: argparse.Namespace) -> int:
    from slogate.locust_process import LoadSettings
    from slogate.target import FaultConfig, ReferenceTarget

    spec = load_spec(args.spec)
    try:
        faults = FaultConfig.parse(latency=args.latency, error_ratio=args.error_ratio)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    run_id = _new_run_id()
    bundle = args.out / "runs" / run_id
    _check_writable(bundle)
    # Dashboards and rules first: they are quick, and a spec they cannot express is bad input
    # that should stop the demo before it spends a load run.
    for path in _write_observability(spec, args.out):
        _say(f"wrote {path}")
    _say(f"starting the reference target on 127.0.0.1 (upstream latency {args.latency}, "
         f"errors {args.error_ratio})")
    with ReferenceTarget(faults=faults) as target:
        _say(f"target up: proxy {target.proxy_url}, upstream {target.upstream_url}")
        settings = LoadSettings(host=target.proxy_url, users=args.users, spawn_rate=args.spawn_rate,
                                duration_s=args.duration)
        code = _load_and_report(settings, spec, bundle, run_id, as_json=args.json,
                                extra=[args.out / "dashboards", args.out / "rules"])
    _say("reference target stopped")
    return code


def _write_observability(spec: Spec, out: Path) -> list[Path]:
    from slogate.pipeline import write_observability

    try:
        return write_observability(spec, out)
    except ValueError as exc:
        raise UsageError(f"{spec.source}: {exc}") from None


# -- shared steps --------------------------------------------------------------------------


def _load_and_report(
    settings: Any, spec: Spec, bundle: Path, run_id: str, *, as_json: bool,
    extra: Sequence[Path] = (),
) -> int:
    from slogate.pipeline import RunFailedError, load_and_judge

    _say(f"load test: {settings.users} users for {format_duration(settings.duration_s)} "
         f"against {settings.host}; run {run_id}")
    try:
        judged, outcome = load_and_judge(settings, spec, bundle, run_id, progress=_say)
    except RunFailedError as exc:
        print(f"slogate: {exc}", file=sys.stderr)
        return ExitCode.INCONCLUSIVE
    _print_outcome(judged.evaluation, judged.bundle, as_json=as_json, extra=extra)
    if outcome.interrupted and judged.evaluation.exit_code == ExitCode.PASS:
        return ExitCode.INCONCLUSIVE  # unreachable in practice: an interrupted run is incomplete
    return judged.evaluation.exit_code


def _print_outcome(evaluation: Any, bundle: Path, *, as_json: bool, extra: Sequence[Path] = ()) -> None:
    if as_json:
        document = {"bundle": str(bundle), "evaluation": evaluation.to_dict(),
                    "files": [str(p) for p in extra]}
        print(json.dumps(document, indent=1))
        return
    print(f"verdict: {evaluation.verdict.upper()} (exit {int(evaluation.exit_code)})")
    for result in evaluation.objectives:
        measured = "n/a"
        if result.measured is not None:
            measured = (format_duration(result.measured) if result.unit == "s"
                        else format_ratio(result.measured))
        print(f"  {result.verdict:<12} {result.name}: {measured} — {result.reason}")
    for reason in evaluation.reasons:
        print(f"  reason: {reason}")
    print(f"bundle: {bundle}")
    print(f"report: {bundle / 'report.html'}")


def _say(message: str) -> None:
    print(f"slogate: {message}", file=sys.stderr, flush=True)


def _new_run_id() -> str:
    import secrets

    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "slo"


def _check_url(url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"--host: expected an http(s) URL such as http://127.0.0.1:8080, got {url!r}")


def _check_writable(folder: Path) -> None:
    """Fail before the run, not after it, when results could not be written."""
    from slo.bundle import write_atomic

    probe = folder / ".slogate-write-check"
    try:
        write_atomic(probe, b"ok")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write results to {folder}: {exc.strerror or exc}") from None


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive duration, got {text!r}")
    return seconds


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


if __name__ == "__main__":
    raise SystemExit(main())
