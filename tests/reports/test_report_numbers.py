"""Numbers and groupings every report shows alike: no exponents, shares within 0–100%, margins in
percentage points, years for long times; derived stream series out of the totals; errors per
route; the run totals (cache hit ratio, LLM tokens); an endpoint the run lacks said as such."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from slogate.reports import format as fmt
from slogate.reports import series
from slogate.reports.totals import hit_ratio, run_totals
from slogate.slo.run import ErrorGroup
from tests.builders import CONTENT, MESSAGES
from tests.reports.conftest import SPEC, Judged, Rendered, judge, standard_run

EXPONENT = re.compile(r"\d(?:\.\d+)?e[+-]?\d", re.IGNORECASE)
MARKUP = re.compile(r"<svg.*?</svg>|<style>.*?</style>|<[^>]*>", re.DOTALL)


def shown_text(name: str, text: str) -> str:
    """What a reader sees: an HTML page without its markup, styles and charts."""
    return MARKUP.sub(" ", text) if name == "html" else text


def test_extreme_figures_read_as_words(failing: Judged, render: Callable[[Judged], Rendered]) -> None:
    """The figures a report once showed as '2.701e-05%', '99.999999999999986%', '0.0537x',
    'Exhausted in 1861d' and an interval beyond 100%."""
    availability = next(o for o in failing.evaluation.objectives if o.name == "availability")
    odd = replace(availability, measured=0.99999999999999986, margin=2.168e-19, ci_low=-1e-17,
                  ci_high=1.0000000000000002, burn_rate=0.0537, budget_consumed=2.701e-7,
                  time_to_exhaustion_s=1861 * 86400.0)
    evaluation = replace(failing.evaluation, objectives=(odd,))
    rendered = render(Judged(failing.run, evaluation))
    assert fmt.measured(odd) == "> 99.9999%"
    assert fmt.margin(odd) == "+0 pp"
    assert fmt.confidence_interval(odd) == "0% – 100% (95%)"
    assert fmt.burn_rate(odd) == "0.054x"
    assert fmt.budget_consumed(odd) == "< 0.0001%"
    assert fmt.time_to_exhaustion(odd) == "5.1 years"
    for name, text in rendered.all().items():
        if name != "json":  # evaluation.json keeps the exact floats
            found = EXPONENT.search(shown_text(name, text))
            assert found is None, (name, found)
    html = rendered.html
    for figure in ("&gt; 99.9999%", "+0 pp", "0% – 100% (95%)", "0.054x", "5.1 years"):
        assert figure in html, figure
    assert "| &gt; 99.9999% | ≥ 99% | +0 pp |" in rendered.markdown


def test_latency_margins_in_time_and_share_margins_in_points(failing: Judged) -> None:
    by_name = {o.name: o for o in failing.evaluation.objectives}
    assert fmt.margin(by_name["messages-p95"]) == "-15.33ms"
    assert fmt.margin(by_name["error-ratio"]).endswith(" pp")
    assert fmt.margin(by_name["availability"]).endswith(" pp")
    assert fmt.latency_us(0.85) == "0.85µs" and fmt.latency_us(850.0) == "850µs"


def test_derived_stream_series_stay_out_of_all_endpoint_totals(
    rich: Judged, render: Callable[[Judged], Rendered]
) -> None:
    """'POST /v1/messages#ttfb' times requests already counted under 'POST /v1/messages'."""
    rows, overall = series.endpoint_stats(rich.run, rich.evaluation.window_start_s)
    counted = {r.name: r.requests for r in rows}
    assert counted[MESSAGES + "#ttfb"] > 0
    assert overall.requests == counted[MESSAGES] + counted[CONTENT]
    assert "| **all endpoints** | **2,408** |" in render(rich).markdown
    per_second = series.throughput(rich.run).requests_per_s
    slice_s = rich.run.slices[0].duration_s
    assert per_second[0] * slice_s == sum(
        w.requests for name, w in rich.run.slices[0].endpoints.items() if "#" not in name)


def test_errors_are_grouped_per_route_not_per_url(
    failing: Judged, render: Callable[[Judged], Rendered]
) -> None:
    errors = tuple(ErrorGroup(CONTENT, "HTTPError", f"404 Client Error: Not Found for url: /content/{key}",
                              key + 1) for key in range(50))
    errors += (ErrorGroup(MESSAGES, "HTTP 503", "503 Service Unavailable: upstream busy", 10),)
    judged = Judged(replace(failing.run, errors=errors), failing.evaluation)
    groups = series.error_groups(judged.run)
    assert [(g.endpoint, g.kind, g.count, g.similar_messages) for g in groups] == [
        (CONTENT, "HTTPError", sum(range(1, 51)), 49), (MESSAGES, "HTTP 503", 10, 0)]
    assert groups[0].message.endswith("/content/49")  # the most frequent message stands for them
    rendered = render(judged)
    assert "(and 49 similar messages)" in rendered.html and "(and 49 similar messages)" in rendered.markdown
    error_rows = [line for line in rendered.markdown.splitlines() if "Client Error" in line]
    assert len(error_rows) == 1 and "| 1,275 |" in error_rows[0]


CACHE_AND_LLM = {
    "cache_hit": 7000, "cache_miss": 1000, "cache_bypass": 12, "cache_status_hit": 6900,
    "cache_status_stale": 100, "cache_status_miss": 1000,
    "input_tokens": 2280, "output_tokens": 29184, "messages": 456, "stop_reason_max_tokens": 450,
    "stop_reason_end_turn": 6, "stream_error_overloaded_error": 3, "stream_cut": 2, "http_529": 3,
}


def test_run_totals_show_the_hit_ratio_and_llm_tokens(render: Callable[[Judged], Rendered]) -> None:
    assert hit_ratio(CACHE_AND_LLM) == 0.875 and hit_ratio({"cache_bypass": 3}) is None
    totals = {t.label: t.value for t in run_totals(CACHE_AND_LLM)}
    assert totals == {
        "cache hit ratio": "87.5% (7,000 hits, 1,000 misses)",
        "cache results": "hit 7,000 · miss 1,000 · bypass 12",
        "cache statuses sent": "hit 6,900 · miss 1,000 · stale 100",
        "messages": "456", "input tokens": "2,280", "output tokens": "29,184",
        "output tokens per message": "64",
        "stop reasons": "max_tokens 450 · end_turn 6",
        "stream errors": "overloaded_error 3 · cut short 2",
        "other counters": "http_529 3",
    }
    rendered = render(judge(replace(standard_run(), counters=CACHE_AND_LLM)))
    assert '<section id="totals">' in rendered.html
    assert "<dt>Cache hit ratio</dt><dd>87.5% (7,000 hits, 1,000 misses)</dd>" in rendered.html
    assert "<dt>Output tokens</dt><dd>29,184</dd>" in rendered.html
    assert "- cache hit ratio: 87.5% (7,000 hits, 1,000 misses)" in rendered.markdown
    assert "- stream errors: overloaded\\_error 3 · cut short 2" in rendered.markdown


def test_a_run_without_counters_has_no_totals(failing: Judged, render: Callable[[Judged], Rendered]) -> None:
    assert run_totals({}) == []
    rendered = render(failing)
    assert 'id="totals"' not in rendered.html and "**Run totals**" not in rendered.markdown


def test_an_endpoint_the_run_lacks_is_not_a_sample_count(render: Callable[[Judged], Rendered]) -> None:
    judged = judge(standard_run(), SPEC.replace(f"endpoint: {CONTENT}", "endpoint: GET /content/{id}:hit"))
    missing = next(o for o in judged.evaluation.objectives if o.name == "content-p99")
    assert fmt.endpoint_missing(missing)
    assert fmt.samples(missing) == "0: endpoint not in the run" and fmt.more_needed(missing) is None
    rendered = render(judged)
    assert "| endpoint not in the run | ≤ 50ms |" in rendered.markdown
    assert "more needed" not in rendered.html.split('id="objectives"')[1].split("content-p99")[1][:600]


def test_samples_and_more_needed_say_the_same(rich: Judged) -> None:
    """'400 / 3,000 — 3,438 more needed' once: the needed count is what the interval needs."""
    tail = next(o for o in rich.evaluation.objectives if o.name == "tail-p99.9")
    more = tail.more_samples_needed
    assert more is not None
    assert fmt.samples(tail) == f"{fmt.count(tail.samples)} / {fmt.count(tail.samples + more)}"
    assert fmt.more_needed(tail) == f"{fmt.count(more)} more needed"
    enough = next(o for o in rich.evaluation.objectives if o.name == "content-p99")
    assert fmt.samples(enough) == f"{fmt.count(enough.samples)} / {fmt.count(enough.required_samples)}"
    assert fmt.more_needed(enough) is None
