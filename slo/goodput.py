"""Goodput from a run: the share of its streamed requests that met all their limits together.

Judged on the run's request rows (``slo.request_rows``: each streamed request's TTFT, TPOT and
total together), not its histograms, which keep each figure apart. A request is good when it
succeeded and met every limit (``GoodputLimits.met``); a failed stream is never good; rate-limited
requests (429) have no row, as they are neither successes nor failures anywhere else. Each row
counts in the slice holding its start, so the share's interval takes the slices' variation into
account like every other share (``judge.judge_share``).
"""

from __future__ import annotations

import dataclasses
import math

from slogate.slo.counts import Counts
from slogate.slo.evaluation import ObjectiveResult
from slogate.slo.judge_kinds import judge_objective
from slogate.slo.request_rows import REQUEST_ROWS_FILE
from slogate.slo.run import RunResult
from slogate.slo.spec import GoodputObjective, Spec, endpoint_matches


def goodput_counts(objective: GoodputObjective, run: RunResult, from_s: float) -> tuple[Counts, list[str]]:
    """The requests ``objective`` judges in the slices starting at ``from_s`` or later (bad: failed
    or missing a limit), with their counts per judged slice; and the endpoint keys matched."""
    names = run.request_rows.endpoints
    matched = [name for name in names if endpoint_matches(objective.endpoint, name)]
    chosen = set(matched)
    slices = run.slices
    totals, bads = [0] * len(slices), [0] * len(slices)
    first, last = math.floor(run.started_at / run.slice_s), len(slices) - 1
    met = objective.limits.met
    for row in run.request_rows.rows():
        if row.endpoint not in chosen or last < 0:
            continue
        # Slices are whole epoch multiples of slice_s; earlier rows join the first, as requests do.
        position = min(last, max(0, math.floor(row.start_epoch_s / run.slice_s) - first))
        totals[position] += 1
        if not (row.ok and met(row.ttft_s, row.tpot_s, row.total_s)):
            bads[position] += 1
    judged = [i for i, time_slice in enumerate(slices) if time_slice.start_s >= from_s - 1e-9]
    per_slice = tuple(Counts(total=totals[i], bad=bads[i], seconds=slices[i].duration_s) for i in judged)
    seconds = max(0.0, run.duration_s - from_s)
    whole = Counts(total=sum(c.total for c in per_slice), bad=sum(c.bad for c in per_slice),
                   seconds=seconds, slices=per_slice)
    return whole, matched


def judge_goodput(objective: GoodputObjective, run: RunResult, spec: Spec, from_s: float) -> ObjectiveResult:
    """``objective``'s result on ``run``'s request rows (inconclusive, saying why, without any)."""
    counts, matched = goodput_counts(objective, run, from_s)
    result = dataclasses.replace(judge_objective(objective, counts, spec), matched_endpoints=tuple(matched))
    missing = _missing(objective, run, matched)
    return result if missing is None else dataclasses.replace(result, verdict="inconclusive", reason=missing)


def _missing(objective: GoodputObjective, run: RunResult, matched: list[str]) -> str | None:
    if matched:
        return None
    if not run.request_rows.blocks:
        return (f"the run kept no streamed requests' timings ({REQUEST_ROWS_FILE}): it streamed "
                "no LLM answers, or its bundle lacks that file")
    has = ", ".join(run.request_rows.endpoints)
    return f"no streamed requests of {objective.endpoint!r} (the run streamed: {has})"
