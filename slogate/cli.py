"""The ``slogate`` command line: parse the arguments, call the pipeline, print what it gives
(``console``), exit with its code. Exit codes: 0 pass, 1 SLO failed, 2 bad input or usage,
3 inconclusive or invalid measurement.

Everything heavy (numpy, YAML, the reports, Locust's process) is imported inside the command that
needs it, so ``slogate --help`` stays instant and Locust's gevent patching never reaches this
process.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from slogate import arguments as arg
from slogate import catalog
from slogate.cli_input import (
    CONTRACT_NAMES,
    DEFAULT_OUT,
    SPEC_HELP,
    UsageError,
    check_url,
    check_writable,
    contract_file,
    contract_of,
    load_spec,
)
from slogate.slo.evaluation import ExitCode

if TYPE_CHECKING:
    from slogate.locust_process import LoadSettings
    from slogate.slo.contract import MetricContract
    from slogate.slo.spec import Spec

DEMO_LATENCY = "lognormal:15ms,0.5"
DEMO_ERROR_RATIO = "0.2%"
EXAMPLE_SPEC = Path(__file__).resolve().parent / "specs" / "reference.yaml"

PASSTHROUGH_COMMANDS = ("run", "demo", "capacity")
"""The commands that hand what follows ``--`` to Locust (the scenario's own options)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_arguments(parser, sys.argv[1:] if argv is None else argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return ExitCode.BAD_INPUT
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        from slogate import console

        console.say("interrupted")
        return ExitCode.INCONCLUSIVE
    except Exception as exc:
        refusal = _refusal(exc)
        if not refusal:
            raise  # not the user's input: a bug, with its traceback
        from slogate import console

        for line in refusal:
            console.say(line)
        return ExitCode.BAD_INPUT


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """slogate's options before ``--``; what follows it (``scenario_args``) goes to Locust as given.
    An option no command knows is refused naming it (usage error, exit 2), with a hint to put a
    scenario's options after ``--``."""
    given = list(argv)
    cut = given.index("--") if "--" in given else len(given)
    args, unknown = parser.parse_known_args(given[:cut])
    args.scenario_args = tuple(given[cut + 1:])
    command = getattr(args, "command", None)
    usage = _command_parser(parser, command) if command else parser
    passes_through = command in PASSTHROUGH_COMMANDS
    if unknown:
        hint = (f"; options of the scenario (Locust's) go after `--`: slogate {command} ... -- "
                f"{' '.join(unknown)}" if passes_through and unknown[0].startswith("-") else "")
        usage.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    if args.scenario_args and not passes_through:
        starters = f"{', '.join(PASSTHROUGH_COMMANDS[:-1])} and {PASSTHROUGH_COMMANDS[-1]}"
        usage.error(f"options after `--` go to Locust, which only {starters} start: "
                    f"{' '.join(args.scenario_args)}")
    return args


def _command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    found: argparse.ArgumentParser = commands.choices[command]
    return found


def _refusal(exc: Exception) -> list[str]:
    """What to tell the user when a command stopped on input of theirs (exit 2); nothing otherwise."""
    from slogate.slo.bundle import BundleError
    from slogate.slo.specfile.problems import SpecError

    if isinstance(exc, SpecError):
        return [f"spec error: {problem}" for problem in exc.problems]
    if isinstance(exc, BundleError | UsageError):
        return [str(exc)]
    if isinstance(exc, OSError):
        # A path the user gave that cannot be written or read (an output folder under /proc, a
        # full disk): their input to fix, said with the path, never a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        return [f"{where}{exc.strerror or exc}"]
    return []


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slogate",
        description="Load test an HTTP API proxy with Locust and gate the release on its SLOs.",
        epilog="Exit codes: 0 pass, 1 SLO failed, 2 bad input or usage, "
        "3 inconclusive or invalid measurement.",
    )
    from slogate import __version__
    from slogate.locust_process import add_harness_arguments

    parser.add_argument("--version", action="version", version=f"slogate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="start the reference target, load test it, gate, report")
    demo.add_argument("--duration", type=arg.duration, default=30.0, help="load duration (default 30s)")
    demo.add_argument("--users", type=arg.positive_int, default=20, help="concurrent users (default 20)")
    demo.add_argument("--spawn-rate", type=arg.positive_float, default=20.0,
                      help="users started per second (default 20)")
    demo.add_argument("--spec", type=arg.spec, action="append",
                      help=f"{SPEC_HELP} (default: the demo's own spec)")
    demo.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default ./out)")
    demo.add_argument("--latency", default=DEMO_LATENCY,
                      help="upstream latency distribution (default %(default)s; see `target --help`)")
    demo.add_argument("--error-ratio", default=DEMO_ERROR_RATIO,
                      help="share of upstream requests answered 503 (default %(default)s)")
    demo.add_argument("--json", action="store_true", help="print the outcome as JSON on stdout")
    add_harness_arguments(demo)
    demo.set_defaults(handler=_cmd_demo)

    run = commands.add_parser("run", help="load test a URL with a scenario and gate it on a spec")
    run.add_argument("--host", required=True, help="base URL of the proxy, e.g. http://127.0.0.1:8080")
    run.add_argument("--spec", type=arg.spec, required=True, action="append",
                     help=f"{SPEC_HELP} (`slogate presets` lists the presets)")
    run.add_argument("--users", type=arg.positive_int, default=10,
                     help="concurrent users (closed model) (default 10)")
    run.add_argument("--spawn-rate", type=arg.positive_float, default=10.0,
                     help="users started per second (default 10)")
    run.add_argument("--duration", type=arg.duration, default=30.0,
                     help="load duration, e.g. 30s, 5m; a bare number is seconds (default 30s)")
    run.add_argument("--scenario", type=arg.scenario, default=None,
                     help="locustfile, or a packaged scenario: mix, llm, caching (default mix); its "
                          "own options go after `--`: slogate run ... -- --cache-keys 5000")
    run.add_argument("--slice", type=arg.duration, default=1.0, help="time slice width (default 1s)")
    run.add_argument("--out", type=Path, default=None, help="bundle folder (default out/runs/<run-id>)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the run bundle already in --out (refused otherwise)")
    run.add_argument("--run-id", default=None, help="run id (default: time and a random suffix)")
    run.add_argument("--json", action="store_true", help="print the evaluation as JSON on stdout")
    run.add_argument("--contract", type=Path, default=None,
                     help=f"the proxy's metric names ({CONTRACT_NAMES}, or a YAML file): how an "
                          "OpenSLO spec's queries are read (which a load test can measure)")
    add_harness_arguments(run)
    run.set_defaults(handler=_cmd_run)

    from slogate.capacity_cli import add_capacity_parser

    add_capacity_parser(commands)

    gate = commands.add_parser("gate", help="judge a run bundle (or a Prometheus window) against a spec")
    gate.add_argument("bundle", type=Path, nargs="?", default=None,
                      help="run bundle folder (or its run.json); may be omitted with --prometheus")
    gate.add_argument("--spec", type=arg.spec, required=True, action="append", help=SPEC_HELP)
    gate.add_argument("--out", type=Path, default=None, help="write reports here (default: the bundle)")
    gate.add_argument("--json", action="store_true", help="print the evaluation as JSON on stdout")
    gate.add_argument("--baseline", type=Path, default=None, metavar="OLD_BUNDLE",
                      help="an earlier run bundle: a significant regression beyond --tolerance fails")
    gate.add_argument("--tolerance", type=arg.ratio, default=None,
                      help="how much worse than the baseline is tolerated (default 10%%)")
    gate.add_argument("--prometheus", metavar="URL", default=None,
                      help="judge from the proxy's server-side metrics in this Prometheus: the window "
                      "--from/--to, or the bundle's run (then client and server side by side)")
    gate.add_argument("--from", dest="from_time", metavar="T1", default=None,
                      help="window start: Unix seconds, ISO 8601, 'now-15m'")
    gate.add_argument("--to", dest="to_time", metavar="T2", default=None,
                      help="window end (the one evaluation time of every query; default now)")
    gate.add_argument("--contract", type=Path, default=None,
                      help=f"the proxy's metric names: a preset ({CONTRACT_NAMES}) or a YAML file of "
                           "MetricContract fields; what --prometheus queries, and how an OpenSLO "
                           "spec's queries are read (a contract the spec names wins)")
    gate.set_defaults(handler=_cmd_gate)

    report = commands.add_parser("report", help="render a judged bundle's report again")
    report.add_argument("bundle", type=Path, help="run bundle folder")
    report.add_argument("--format", choices=("html", "md", "junit", "json"), default=None,
                        help="print one format on stdout instead of rewriting every file")
    report.add_argument("--baseline", type=Path, default=None, metavar="OLD_BUNDLE",
                        help="an earlier run bundle to compare with in report.html")
    report.set_defaults(handler=_cmd_report)

    export = commands.add_parser("export", help="write a bundle as CSV, Parquet or Locust's CSV files")
    export.add_argument("bundle", type=Path, help="run bundle folder (or its run.json)")
    export.add_argument("--format", choices=("csv", "parquet", "locust"), default="csv",
                        help="csv or parquet: one row per time slice and endpoint (counts, statuses, "
                             "p50..p99.9 in ms); locust: <prefix>_stats.csv and _stats_history.csv "
                             "as Locust's --csv writes them (default csv)")
    # A string, not a Path: a trailing '/' says a folder (Path drops it).
    export.add_argument("--out", default=None,
                        help="file (csv, parquet) or prefix (locust); an existing folder or one "
                             "ending in / gets files named after the run (default: the bundle)")
    export.set_defaults(handler=_cmd_export)

    dash = commands.add_parser("dashboards", help="write Grafana dashboards (JSON) for a spec")
    dash.add_argument("--spec", type=arg.spec, required=True, action="append", help=SPEC_HELP)
    dash.add_argument("--out", type=Path, default=DEFAULT_OUT / "dashboards",
                      help="output folder (default out/dashboards)")
    dash.add_argument("--contract", type=Path, default=None,
                      help=f"the proxy's metric names: a preset ({CONTRACT_NAMES}) or a YAML file of "
                           "MetricContract fields ('preset:' to start from one; 'loadtest:')")
    dash.add_argument("--grafana-url", default=None,
                      help="also upload the dashboards to this Grafana (token in $GRAFANA_TOKEN)")
    dash.add_argument("--grafana-folder-uid", default="", help="Grafana folder to upload into")
    dash.set_defaults(handler=_cmd_dashboards)

    rules = commands.add_parser("alerts", help="write Prometheus recording and alert rules for a spec")
    rules.add_argument("--spec", type=arg.spec, required=True, action="append", help=SPEC_HELP)
    # A string, not a Path: a trailing '/' says a folder (Path drops it).
    rules.add_argument("--out", default=None,
                       help="rule file, or a folder (an existing one, or ending in /) to write "
                            "<service>.rules.yaml into (default out/rules/<service>.rules.yaml); its "
                            "promtool tests (.rules.test.yaml) and Alertmanager inhibit rules "
                            "(.inhibit.yaml) are written beside it")
    rules.add_argument("--contract", type=Path, default=None,
                       help=f"the proxy's metric names: a preset ({CONTRACT_NAMES}) or a YAML file "
                            "of MetricContract fields (its buckets check the latency thresholds)")
    rules.add_argument("--check-target", default=None, metavar="METRICS_URL",
                       help="check latency thresholds against the buckets this /metrics URL exports")
    rules.add_argument("--tiers", default="page,ticket",
                       help="burn-rate alert tiers to generate (default page,ticket)")
    rules.add_argument("--page-severity", default="critical",
                       help="severity of page alerts (default critical)")
    rules.add_argument("--ticket-severity", default="warning",
                       help="severity of ticket alerts (default warning)")
    rules.add_argument("--runbook-base", default=None,
                       help="URL of the runbooks (each alert links <base>#<alert name>)")
    rules.set_defaults(handler=_cmd_alerts)

    validate = commands.add_parser("validate", help="check SLO spec files (slogate YAML or OpenSLO)")
    validate.add_argument("specs", nargs="*", metavar="SPEC",
                          help="spec files, folders of them, or preset:NAME; each is checked alone, "
                               "except OpenSLO files whose objects refer to each other: one spec")
    validate.add_argument("--schema", action="store_true",
                          help="print the JSON Schema of the spec format and exit")
    validate.add_argument("--contract", type=Path, default=None,
                          help=f"a contract preset ({CONTRACT_NAMES}) or YAML file: also check that "
                               "the rules of each spec can be written for it")
    validate.set_defaults(handler=_cmd_validate)

    listing = commands.add_parser("presets", help="list the packaged SLO presets and scenarios")
    listing.set_defaults(handler=_cmd_presets)

    from slogate.target.cli import add_target_arguments

    target = commands.add_parser("target", help="serve the reference target (proxy + upstream)")
    add_target_arguments(target)
    target.set_defaults(handler=_cmd_target)
    for command in commands.choices.values():
        command.formatter_class = DefaultsHelpFormatter
    return parser


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Every option's default in its help: as written there ('(default 30s)'), else appended."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if ("default" in text.lower() or action.default in (None, False, "", argparse.SUPPRESS)
                or not action.option_strings):
            return text
        return f"{text} (default %(default)s)"


# -- commands ------------------------------------------------------------------------------


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.schema:
        from slogate.slo.specfile.schema import schema_text

        sys.stdout.write(schema_text())
        return ExitCode.PASS
    if not args.specs:
        raise UsageError("validate: give spec files to check, or --schema")
    from slogate import console
    from slogate.slo.specfile.load import group_by_references, spec_files
    from slogate.slo.specfile.problems import SpecError

    contract = contract_of(args.contract)
    failed = False
    files: dict[Path, str] = {}  # each file to check, and how the user named it
    for text in args.specs:
        try:
            named = catalog.spec_path(text)
            files.update((path, text if path == named else str(path)) for path in spec_files([named]))
        except ValueError as exc:  # an unknown preset
            failed = True
            console.say(f"spec error: {exc}")
        except SpecError as exc:  # a folder with no spec file
            failed = True
            for problem in exc.problems:
                console.say(f"spec error: {problem}")
    # Files whose objects name each other's (an OpenSLO SLO and its SLI's file) are one spec.
    for group in group_by_references(list(files)):
        failed |= not _validate_one(" + ".join(files[path] for path in group), group, contract)
    return ExitCode.BAD_INPUT if failed else ExitCode.PASS


def _validate_one(name: str, files: list[Path], contract: MetricContract | None) -> bool:
    """Check the spec ``files`` make together (one file, mostly) and say so; whether it is usable."""
    from slogate import console
    from slogate.slo.contract import DEFAULT_CONTRACT
    from slogate.slo.specfile.problems import SpecError

    try:
        spec = load_spec(files, contract)
    except SpecError as exc:
        for problem in exc.problems:
            console.say(f"spec error: {problem}")
        return False
    # A contract (given, or named by the spec) says the histogram's buckets: thresholds are checked.
    unwritable = (_rule_problems(spec, contract or DEFAULT_CONTRACT)
                  if contract is not None or spec.names_contract else [])
    for line in unwritable:
        console.say(f"spec error: {name}: {line}")
    if not unwritable:
        print(f"{name}: ok ({spec.service}, {len(spec.run_judged_objectives)} objectives)")
    return not unwritable


def _cmd_run(args: argparse.Namespace) -> int:
    from slogate.locust_process import LoadSettings, harness_locust_args
    from slogate.reachability import TargetUnreachableError, check_listening
    from slogate.slo.bundle import RUN_FILE, new_run_id

    spec = load_spec(args.spec, contract_of(args.contract), warmup_s=args.warmup)
    check_url(args.host)
    run_id = args.run_id or new_run_id()
    bundle = args.out or DEFAULT_OUT / "runs" / run_id
    if (bundle / RUN_FILE).exists() and not args.overwrite:
        raise UsageError(f"{bundle} already holds a run bundle ({RUN_FILE}): give another --out, or "
                         "--overwrite to replace it")
    fresh = not bundle.exists()
    check_writable(bundle)
    try:
        check_listening(args.host)
    except TargetUnreachableError as exc:
        if fresh:
            bundle.rmdir()  # made empty by the check above: leave no bundle behind
        raise UsageError(f"{exc}; no load was sent") from None
    settings = LoadSettings(host=args.host, users=args.users, spawn_rate=args.spawn_rate,
                            duration_s=args.duration, scenario=args.scenario or catalog.DEFAULT_SCENARIO.path,
                            slice_s=args.slice,
                            extra_args=harness_locust_args(args) + _decider(args, args.spec),
                            scenario_args=args.scenario_args)
    return _load_and_report(settings, spec, bundle, run_id, as_json=args.json)


def _cmd_gate(args: argparse.Namespace) -> int:
    from slogate import console, pipeline
    from slogate.slo.bundle import read_run

    spec = load_spec(args.spec, contract_of(args.contract))
    if args.out is not None:
        check_writable(args.out)
    if args.prometheus is not None:
        return _gate_prometheus(args, spec)
    if args.bundle is None:
        raise UsageError("gate: give a run bundle, or --prometheus URL --from T1 --to T2")
    if args.tolerance is not None and args.baseline is None:
        raise UsageError("--tolerance needs --baseline")
    baseline = read_run(args.baseline) if args.baseline is not None else None
    judged = pipeline.judge(args.bundle, spec, out=args.out, baseline=baseline, tolerance=args.tolerance)
    print(console.outcome(judged.evaluation, judged.bundle, as_json=args.json))
    return judged.evaluation.exit_code


def _gate_prometheus(args: argparse.Namespace, spec: Spec) -> int:
    """Server-side SLIs from Prometheus; with a bundle, side by side with the client's."""
    from slogate import console, pipeline
    from slogate.slo.prometheus_source import PrometheusError, PrometheusQueryError
    from slogate.slo.units import parse_time

    now = time.time()
    try:
        start = parse_time(args.from_time, now) if args.from_time is not None else None
        end = parse_time(args.to_time, now) if args.to_time is not None else None
    except ValueError as exc:
        raise UsageError(f"--from/--to: {exc}") from None
    if start is None and args.bundle is None:
        raise UsageError("--prometheus without a bundle needs --from (and --to, default now)")
    from slogate.slo.contract import DEFAULT_CONTRACT

    contract = contract_of(args.contract) or DEFAULT_CONTRACT
    try:
        gated = pipeline.gate_prometheus(args.prometheus, spec, bundle=args.bundle, out=args.out,
                                         start=start, end=end, contract=contract)
    except PrometheusQueryError as exc:
        raise UsageError(str(exc)) from None
    except PrometheusError as exc:
        console.say(str(exc))
        return ExitCode.INCONCLUSIVE
    if gated.client is None:
        print(console.server_outcome(gated.server, args.out, as_json=args.json))
    else:
        print(console.both_sides(gated.client.evaluation, gated.server, gated.client.bundle,
                                 as_json=args.json))
    return gated.exit_code


def _cmd_report(args: argparse.Namespace) -> int:
    from slogate import reports
    from slogate.slo.bundle import read_evaluation, read_run, read_server_evaluation

    run = read_run(args.bundle)
    evaluation = read_evaluation(args.bundle)
    server = read_server_evaluation(args.bundle)
    baseline = None if args.baseline is None else read_run(args.baseline)
    renderers = {
        "html": lambda: reports.render_html(run, evaluation, baseline=baseline, server=server),
        "md": lambda: reports.render_markdown(run, evaluation, server=server),
        "junit": lambda: reports.render_junit(run, evaluation, server=server),
        "json": lambda: reports.render_json(evaluation),
    }
    if args.format:
        sys.stdout.write(renderers[args.format]())
        return ExitCode.PASS
    for path in reports.render_all(args.bundle, run, evaluation, baseline=baseline, server=server):
        print(path)
    return ExitCode.PASS


def _cmd_dashboards(args: argparse.Namespace) -> int:
    from slogate import dashboards
    from slogate import observability as obs
    from slogate.slo.contract import DEFAULT_CONTRACT, DEFAULT_LOADTEST_CONTRACT

    try:
        contract, loadtest = (obs.load_contract_file(contract_file(args.contract)) if args.contract
                              else (DEFAULT_CONTRACT, DEFAULT_LOADTEST_CONTRACT))
    except obs.ObservabilityError as exc:
        raise UsageError(str(exc)) from None
    spec = load_spec(args.spec, contract if args.contract else None)
    try:
        token = obs.grafana_token() if args.grafana_url else ""
        if args.grafana_url:
            obs.check_http_url(args.grafana_url, "--grafana-url")
        paths = dashboards.write_dashboards(spec, args.out, contract, loadtest)
    except obs.ObservabilityError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"{spec.source}: {exc}") from None
    for path in paths:
        print(path)
    if args.grafana_url:
        models = dashboards.build_dashboards(spec, contract, loadtest)
        try:
            urls = obs.upload_dashboards(args.grafana_url, token, models,
                                         folder_uid=args.grafana_folder_uid)
        except obs.ObservabilityError as exc:
            raise UsageError(str(exc)) from None
        for url in urls:
            print(f"uploaded {url}")
    return ExitCode.PASS


def _cmd_alerts(args: argparse.Namespace) -> int:
    from slogate import alerts, console
    from slogate import observability as obs
    from slogate.pipeline import rules_path
    from slogate.slo.contract import DEFAULT_CONTRACT
    from slogate.slo.spec import spec_contract

    contract = contract_of(args.contract)
    spec = load_spec(args.spec, contract)
    contract = contract or DEFAULT_CONTRACT
    out = rules_path(spec, DEFAULT_OUT) if args.out is None else _rules_file(args.out, spec)
    try:
        windows = alerts.configure_tiers(
            [t.strip() for t in args.tiers.split(",") if t.strip()],
            {"page": args.page_severity, "ticket": args.ticket_severity},
        )
        buckets: Sequence[float] | None = None  # the contract's own
        if args.check_target:
            obs.check_http_url(args.check_target, "--check-target")
            buckets = obs.fetch_buckets(args.check_target, spec_contract(spec, contract))
    except (obs.ObservabilityError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    options = alerts.RuleOptions(buckets=buckets, windows=windows)
    if args.runbook_base:
        options = dataclasses.replace(options, runbook_base=args.runbook_base)
    try:
        paths = alerts.write_alert_files(spec, out, contract, options)
        unmeasured = alerts.plan_alerts(spec, contract, options).unmeasured
    except ValueError as exc:
        where = f" (buckets of {args.check_target})" if args.check_target else f" ({contract.label})"
        raise UsageError(f"{spec.source}{where}: {exc}") from None
    for line in unmeasured:
        console.say(f"no rules for {line}")
    for path in paths:
        print(path)
    return ExitCode.PASS


def _rules_file(out: str, spec: Spec) -> Path:
    """``--out`` of alerts: the rule file, or a folder (existing, or ending in a separator) for it."""
    from slogate.pipeline import rules_file_name

    if out.endswith(("/", os.sep)) or Path(out).is_dir():
        return Path(out) / rules_file_name(spec)
    return Path(out)


def _cmd_export(args: argparse.Namespace) -> int:
    from slogate.export import ExportError, export_bundle  # pandas: only when exporting

    try:
        written = export_bundle(args.bundle, args.out, args.format)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(path)
    return ExitCode.PASS


def _cmd_presets(args: argparse.Namespace) -> int:
    from slogate import console

    presets = [(name, load_spec(catalog.preset_path(name)).description,
                catalog.preset_scenario_arguments(name)) for name in catalog.preset_names()]
    scenarios = [(scenario.name, scenario.file, scenario.summary) for scenario in catalog.SCENARIOS]
    print(console.catalog(presets, scenarios))
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
        # The target's own errors already name host and port; a bare OSError gets them here.
        raise UsageError(f"cannot listen on {config.host}: {exc.strerror}" if exc.strerror
                         else str(exc)) from None
    return ExitCode.PASS


def _cmd_demo(args: argparse.Namespace) -> int:
    from slogate import console, pipeline
    from slogate.locust_process import LoadSettings, harness_locust_args
    from slogate.slo.bundle import new_run_id
    from slogate.target import FaultConfig, ReferenceTarget

    spec = load_spec(args.spec or EXAMPLE_SPEC, warmup_s=args.warmup)
    try:
        faults = FaultConfig.parse(latency=args.latency, error_ratio=args.error_ratio)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    run_id = new_run_id()
    bundle = args.out / "runs" / run_id
    check_writable(bundle)
    # Dashboards and rules first: they are quick, and a spec they cannot express is bad input
    # that should stop the demo before it spends a load run.
    try:
        written = pipeline.write_observability(spec, args.out)
    except ValueError as exc:
        raise UsageError(f"{spec.source}: {exc}") from None
    for path in written:
        console.say(f"wrote {path}")
    console.say(f"starting the reference target on 127.0.0.1 (upstream latency {args.latency}, "
         f"errors {args.error_ratio})")
    with ReferenceTarget(faults=faults) as target:
        console.say(f"target up: proxy {target.proxy_url}, upstream {target.upstream_url}")
        settings = LoadSettings(host=target.proxy_url, users=args.users, spawn_rate=args.spawn_rate,
                                duration_s=args.duration,
                                extra_args=(*harness_locust_args(args),
                                            *_decider(args, args.spec or EXAMPLE_SPEC)),
                                scenario_args=args.scenario_args)
        code = _load_and_report(settings, spec, bundle, run_id, as_json=args.json,
                                files=[args.out / "dashboards", args.out / "rules"])
    console.say("reference target stopped")
    return code


# -- shared steps --------------------------------------------------------------------------


def _load_and_report(
    settings: LoadSettings, spec: Spec, bundle: Path, run_id: str, *, as_json: bool,
    files: Sequence[Path] = (),
) -> int:
    from slogate import console, pipeline

    console.say(console.load_started(settings.users, settings.duration_s, settings.host, run_id))
    try:
        judged, outcome = pipeline.load_and_judge(settings, spec, bundle, run_id, progress=console.say)
    except pipeline.RunFailedError as exc:
        console.say(str(exc))
        if exc.locust_exit_code == ExitCode.BAD_INPUT:  # options refused before any load
            return ExitCode.BAD_INPUT
        return ExitCode.INCONCLUSIVE
    print(console.outcome(judged.evaluation, judged.bundle, as_json=as_json, files=files))
    if outcome.interrupted and judged.evaluation.exit_code == ExitCode.PASS:
        return ExitCode.INCONCLUSIVE  # unreachable in practice: an interrupted run is incomplete
    return judged.evaluation.exit_code


def _decider(args: argparse.Namespace, spec: Path | list[Path]) -> tuple[str, ...]:
    """--until-decided: Locust judges the run at each look, so it is given the spec's files too."""
    if not args.until_decided:
        return ()
    contract = getattr(args, "contract", None)
    return ("--slogate-spec", os.pathsep.join(map(str, [spec] if isinstance(spec, Path) else spec)),
            *(("--slogate-contract", str(contract)) if contract is not None else ()))


def _rule_problems(spec: Spec, contract: MetricContract) -> list[str]:
    """Why the rules of ``spec`` cannot be written for ``contract`` (thresholds that are no bucket
    bound, names Prometheus refuses, SLIs of the user's own not yet supported); none if they can."""
    from slogate import alerts

    try:
        alerts.plan_alerts(spec, contract)
    except ValueError as exc:
        return str(exc).splitlines()
    return []


if __name__ == "__main__":
    raise SystemExit(main())
