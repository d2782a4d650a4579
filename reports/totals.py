"""The scenario's run totals (``run.json`` ``counters``) said in words: the cache hit ratio, LLM
tokens, stop reasons and stream errors, and whatever else a scenario counted.

Counter names are those the shipped scenarios keep (``loadtest.caching_proxy``, ``loadtest.llm``):
``cache_<outcome>`` and ``cache_status_<word>``; ``input_tokens``, ``output_tokens``, ``messages``,
``stop_reason_<reason>``, ``stream_error_<type>`` and ``stream_cut``. Any other counter is listed
as it is, so nothing a scenario counted is hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from slogate.reports import format as fmt
from slogate.slo.units import significant

CACHE_OUTCOME = "cache_"
CACHE_STATUS = "cache_status_"
STOP_REASON = "stop_reason_"
STREAM_ERROR = "stream_error_"
STREAM_CUT = "stream_cut"
LLM_TOTALS = (("messages", "messages"), ("input_tokens", "input tokens"), ("output_tokens", "output tokens"))


@dataclass(frozen=True)
class RunTotal:
    """One line of the run totals: 'cache hit ratio' and '87.5% (7,000 hits, 1,000 misses)'."""

    label: str
    value: str


def hit_ratio(counters: Mapping[str, int]) -> float | None:
    """Hits over hits and misses (bypassed and unlabelled answers are neither); None without both."""
    hits, misses = counters.get("cache_hit", 0), counters.get("cache_miss", 0)
    return hits / (hits + misses) if hits + misses else None


def run_totals(counters: Mapping[str, int]) -> list[RunTotal]:
    """The totals worth a reader's eye, cache first, then LLM, then the other counters."""
    used: set[str] = set()
    totals = _cache(counters, used) + _llm(counters, used)
    rest = {name: value for name, value in counters.items() if name not in used}
    if rest:
        totals.append(RunTotal("other counters", _listed(rest)))
    return totals


def _cache(counters: Mapping[str, int], used: set[str]) -> list[RunTotal]:
    statuses = _prefixed(counters, CACHE_STATUS)
    outcomes = {name: value for name, value in _prefixed(counters, CACHE_OUTCOME).items()
                if not (CACHE_OUTCOME + name).startswith(CACHE_STATUS)}
    if not outcomes and not statuses:
        return []
    used.update(CACHE_OUTCOME + name for name in outcomes)
    used.update(CACHE_STATUS + name for name in statuses)
    totals = []
    ratio = hit_ratio(counters)
    if ratio is not None:
        hits, misses = counters.get("cache_hit", 0), counters.get("cache_miss", 0)
        totals.append(RunTotal("cache hit ratio",
                               f"{fmt.ratio(ratio)} ({fmt.count(hits)} hits, {fmt.count(misses)} misses)"))
    if outcomes:
        totals.append(RunTotal("cache results", _listed(outcomes)))
    if statuses:
        totals.append(RunTotal("cache statuses sent", _listed(statuses)))
    return totals


def _llm(counters: Mapping[str, int], used: set[str]) -> list[RunTotal]:
    totals = [RunTotal(label, fmt.count(counters[name])) for name, label in LLM_TOTALS if name in counters]
    used.update(name for name, _label in LLM_TOTALS if name in counters)
    messages, output = counters.get("messages", 0), counters.get("output_tokens")
    if messages and output is not None:
        totals.append(RunTotal("output tokens per message", significant(output / messages, 3)))
    stops = _prefixed(counters, STOP_REASON)
    if stops:
        used.update(STOP_REASON + name for name in stops)
        totals.append(RunTotal("stop reasons", _listed(stops)))
    errors = _prefixed(counters, STREAM_ERROR)
    if STREAM_CUT in counters:
        errors["cut short"] = counters[STREAM_CUT]
        used.add(STREAM_CUT)
    if errors or totals:
        used.update(STREAM_ERROR + name for name in errors)
        totals.append(RunTotal("stream errors", _listed(errors) if errors else "none"))
    return totals


def _prefixed(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {name.removeprefix(prefix): value for name, value in counters.items() if name.startswith(prefix)}


def _listed(values: Mapping[str, int]) -> str:
    """'hit 7,000 · miss 1,000': largest first."""
    ranked = sorted(values.items(), key=lambda item: (-item[1], item[0]))
    return " · ".join(f"{fmt.one_line(name, 80)} {fmt.count(value)}" for name, value in ranked)
