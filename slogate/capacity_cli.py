"""``slogate capacity``: the highest load at which every gating objective of a spec holds.

Parses and checks the options (bad input is refused before any load, exit 2), runs the search
(``slogate.capacity``) with Locust steps (``slogate.capacity_steps``), writes ``capacity.json`` and
its reports, says the answer, and exits: 0 the capacity holds at least ``--require`` (and did not
drop beyond ``--tolerance`` from ``--baseline``), 1 it is lower, 3 the steps cannot tell.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
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
    contract_of,
    load_spec,
)

if TYPE_CHECKING:
    from slogate.capacity import SearchPlan
    from slogate.slo.capacity import CapacityResult, LoadUnit
    from slogate.slo.spec import Spec

DEFAULT_FROM = 10.0
DEFAULT_TO = 1000.0
DEFAULT_MAX_STEP_S = 60.0
"""A step decided early (the default) runs at most this long."""
DEFAULT_STEP_S = 20.0
"""A fixed-length step (--fixed-steps) runs this long."""
DEFAULT_SETTLE_S = 5.0
DEFAULT_TOLERANCE = 0.10
LOAD_SUFFIXES = ("req/s", "rps", "/s", "users")


def parse_load(text: str) -> float:
    """A positive load: '100', '100/s', '100 req/s', '50 users'."""
    value = text.strip()
    for suffix in LOAD_SUFFIXES:
        value = value.removesuffix(suffix).strip()
    try:
        load = float(value)
    except ValueError:
        raise ValueError(f"expected a load such as 100/s (or 50 users), got {text!r}") from None
    if not load > 0 or load == float("inf"):
        raise ValueError(f"expected a positive load, got {text!r}")
    return load


def _resolution(text: str) -> float:
    value: float = arg.ratio(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share above 0, at most 100% (e.g. 5%), got {text!r}")
    return value


load = arg.argtype(parse_load, "load")


def add_capacity_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from slogate.loadtest.arrivals import ARRIVAL_PROCESSES, POISSON

    capacity = commands.add_parser(
        "capacity", help="find the highest load at which every SLO holds (capacity under SLO)",
        description="Step the load up geometrically from --from to --to, then bisect between the last "
                    "step that held and the first that broke, down to --resolution. Exit codes: 0 the "
                    "capacity holds at least --require (and did not drop from --baseline), 1 it is lower, "
                    "2 bad input, 3 the steps cannot tell.")
    capacity.add_argument("--host", required=True, help="base URL of the proxy, e.g. http://127.0.0.1:8080")
    capacity.add_argument("--spec", type=arg.spec, required=True, action="append", help=SPEC_HELP)
    capacity.add_argument("--from", dest="start", type=load, default=None, metavar="LOAD",
                          help="first load: arrivals/s, or users with --users-search "
                               f"(default {DEFAULT_FROM:g})")
    capacity.add_argument("--to", dest="stop", type=load, default=None, metavar="LOAD",
                          help=f"highest load tried (default {DEFAULT_TO:g}, or twice --require)")
    capacity.add_argument("--resolution", type=_resolution, default=0.05,
                          help="stop bisecting once the bracket is this narrow (default 5%%)")
    capacity.add_argument("--step-duration", type=arg.duration, default=None,
                          help="longest judged length of a step: each stops once its verdict is settled "
                               f"(default {DEFAULT_MAX_STEP_S:g}s; with --fixed-steps its length, default "
                               f"{DEFAULT_STEP_S:g}s)")
    capacity.add_argument("--min-step", type=arg.duration, default=None,
                          help="no step decided before this much of it is judged (default: the spec's "
                               "min_duration, at least 20 slices)")
    capacity.add_argument("--fixed-steps", action="store_true",
                          help="every step runs --step-duration, judged once at its end (no early decision)")
    capacity.add_argument("--settle", type=arg.duration, default=None,
                          help="time after each change of load left out of the verdict (default: the "
                               f"spec's warm-up, or {DEFAULT_SETTLE_S:g}s)")
    capacity.add_argument("--require", type=load, default=None, metavar="LOAD",
                          help="a gate: exit 0 when the capacity is at least this, 1 when lower, 3 when "
                               "the steps cannot tell")
    capacity.add_argument("--baseline", type=Path, default=None, metavar="OLD_CAPACITY_JSON",
                          help="an earlier search's capacity.json: fail when capacity dropped beyond "
                               "--tolerance")
    capacity.add_argument("--tolerance", type=arg.ratio, default=None,
                          help="how much lower than the baseline is tolerated "
                               f"(default {DEFAULT_TOLERANCE * 100:g}%%)")
    capacity.add_argument("--users-search", action="store_true",
                          help="closed model: search the number of concurrent users instead of arrivals/s")
    capacity.add_argument("--arrivals", choices=ARRIVAL_PROCESSES, default=POISSON,
                          help="open model: spacing of the arrivals (default %(default)s: real traffic's "
                               "bursts)")
    capacity.add_argument("--processes", type=arg.processes, default=None, metavar="N",
                          help="Locust worker processes on this machine (-1: one per CPU)")
    capacity.add_argument("--scenario", type=arg.scenario, default=None,
                          help="locustfile, or a packaged scenario: mix, llm, caching (default mix); its "
                               "own options go after `--`: slogate capacity ... -- --cache-keys 5000")
    capacity.add_argument("--contract", type=Path, default=None,
                          help=f"the proxy's metric names ({CONTRACT_NAMES}, or a YAML file): how an "
                               "OpenSLO spec's queries are read (which a load test can measure)")
    capacity.add_argument("--slice", type=arg.duration, default=1.0, help="time slice width (default 1s)")
    capacity.add_argument("--out", type=Path, default=None,
                          help="folder of capacity.json, its reports and each step's bundle "
                               "(default out/capacity/<id>)")
    capacity.add_argument("--overwrite", action="store_true",
                          help="replace the capacity result already in --out (refused otherwise)")
    capacity.add_argument("--json", action="store_true", help="print capacity.json on stdout")
    capacity.set_defaults(handler=run_capacity)


def run_capacity(args: argparse.Namespace) -> int:
    from slogate import console
    from slogate.capacity import search
    from slogate.capacity_steps import LocustSteps, StepRefusedError, StepSettings
    from slogate.reachability import TargetUnreachableError, check_listening
    from slogate.reports.capacity import write_capacity_reports
    from slogate.slo.bundle import new_run_id
    from slogate.slo.capacity import CAPACITY_FILE, answer, gate_sentences, with_gates

    spec = load_spec(args.spec, contract_of(args.contract))
    check_url(args.host)
    plan = _plan(args)
    settle = args.settle if args.settle is not None else (spec.warmup_s or DEFAULT_SETTLE_S)
    step_s = _step_seconds(args, spec, settle)
    if args.tolerance is not None and args.baseline is None:
        raise UsageError("--tolerance needs --baseline")
    baseline = _read_baseline(args.baseline, plan.unit) if args.baseline is not None else None
    out = args.out or DEFAULT_OUT / "capacity" / new_run_id()
    if (out / CAPACITY_FILE).exists() and not args.overwrite:
        raise UsageError(f"{out} already holds a capacity result ({CAPACITY_FILE}): give another --out, "
                         "or --overwrite to replace it")
    check_writable(out)
    try:
        check_listening(args.host)
    except TargetUnreachableError as exc:
        raise UsageError(f"{exc}; no load was sent") from None
    steps = LocustSteps(StepSettings(
        host=args.host, spec=spec, spec_paths=tuple(args.spec),
        scenario=args.scenario or catalog.DEFAULT_SCENARIO.path, out=out, step_s=step_s, settle_s=settle,
        unit=plan.unit, arrivals=args.arrivals, slice_s=args.slice, processes=args.processes,
        until_decided=not args.fixed_steps, min_step_s=args.min_step, contract=args.contract,
        scenario_args=args.scenario_args,
    ), progress=console.say)
    console.say(f"capacity search on {args.host}: {plan.start:g} to {plan.stop:g} {plan.unit}, "
                f"resolution {plan.resolution:.0%}; results in {out}")
    try:
        found = search(plan, steps)
    except StepRefusedError as exc:
        raise UsageError(str(exc)) from None
    result = with_gates(found, spec, args.require, baseline,
                        DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance)
    paths = write_capacity_reports(out, result)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(answer(result))
        for line in gate_sentences(result):
            print(line)
        print(f"{len(result.steps)} steps in {result.search_s:.0f}s; report: {paths[1]}")
    return int(result.exit_code)


def _step_seconds(args: argparse.Namespace, spec: Spec, settle_s: float) -> float:
    """The judged length of a step (its maximum when steps are decided early), checked against
    what the spec needs and, decided early, against the first decision's time."""
    from slogate.slo.sequential import default_min_duration

    if args.fixed_steps and args.min_step is not None:
        raise UsageError("--min-step goes with steps decided early: drop --fixed-steps")
    step_s: float = args.step_duration or (DEFAULT_STEP_S if args.fixed_steps else DEFAULT_MAX_STEP_S)
    if spec.min_duration_s > step_s:
        raise UsageError(f"--step-duration {step_s:g}s is shorter than the {spec.min_duration_s:g}s the "
                         f"spec ({spec.source}) needs to judge anything (its min_duration)")
    first = (args.min_step if args.min_step is not None
             else default_min_duration(dataclasses.replace(spec, warmup_s=0.0), args.slice))
    if not args.fixed_steps and first >= step_s:
        raise UsageError(f"--step-duration {step_s:g}s leaves nothing to decide early: the first decision "
                         f"comes after {first:g}s of a step (--min-step; default: the spec's min_duration, "
                         "at least 20 slices); give a longer --step-duration, a shorter --min-step, or "
                         "--fixed-steps")
    return step_s


def _plan(args: argparse.Namespace) -> SearchPlan:
    from slogate.capacity import SearchPlan

    unit: LoadUnit = "users" if args.users_search else "req/s"
    start = args.start if args.start is not None else DEFAULT_FROM
    stop = args.stop if args.stop is not None else max(DEFAULT_TO, 2 * (args.require or 0.0), start)
    if start > stop:
        raise UsageError(f"--from {start:g} is above --to {stop:g}: expected --from <= --to")
    if args.require is not None and args.require > stop:
        raise UsageError(f"--require {args.require:g} is above --to {stop:g}: the search would never get "
                     "there; raise --to")
    given = (args.start, args.stop, args.require)
    if args.users_search and any(v is not None and v != round(v) for v in given):
        raise UsageError("--users-search counts users: --from, --to and --require must be whole numbers")
    return SearchPlan(start=start, stop=stop, unit=unit, resolution=args.resolution, probe=args.require)


def _read_baseline(path: Path, unit: str) -> CapacityResult:
    from slogate.slo.capacity import CAPACITY_FILE, CapacityResult

    file = path / CAPACITY_FILE if path.is_dir() else path
    try:
        baseline = CapacityResult.from_dict(json.loads(file.read_text(encoding="utf-8")))
    except OSError as exc:
        raise UsageError(f"--baseline {file}: {exc.strerror or exc}") from None
    except (ValueError, AttributeError) as exc:
        raise UsageError(f"--baseline {file}: not a capacity result ({exc})") from None
    if baseline.unit != unit:
        raise UsageError(f"--baseline {file} searched {baseline.unit}, this search {unit}: they "
                         "cannot be compared")
    return baseline

