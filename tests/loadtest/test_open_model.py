"""The open model's arrivals: evenly spaced or Poisson, split across workers, late and dropped
ones counted (the scheduler runs on gevent's loop; no Locust run needed)."""

from __future__ import annotations

import itertools
import random
import statistics
import time

import gevent
import pytest

from slogate.loadtest.arrivals import parse_arrivals
from slogate.loadtest.open_model import ArrivalDispatcher, ArrivalSchedule


def gaps(schedule: ArrivalSchedule, count: int, seed: int = 7) -> list[float]:
    offsets = list(itertools.islice(schedule.offsets(random.Random(seed)), count + 1))
    return [later - earlier for earlier, later in itertools.pairwise(offsets)]


def test_poisson_gaps_are_exponential_at_the_rate() -> None:
    drawn = gaps(ArrivalSchedule(200.0, arrivals="poisson"), 20_000)
    mean = statistics.fmean(drawn)
    # Exponential gaps: mean 1/rate and a coefficient of variation of 1 (evenly spaced: 0).
    assert mean == pytest.approx(1 / 200, rel=0.03)
    assert statistics.pstdev(drawn) / mean == pytest.approx(1.0, abs=0.03)
    assert min(drawn) > 0
    even = gaps(ArrivalSchedule(200.0), 1_000)
    assert statistics.pstdev(even) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("schedule", [
    ArrivalSchedule(100.0, arrivals="poisson"),
    ArrivalSchedule(20.0, rate_to=180.0, ramp_s=60.0, arrivals="poisson"),
])
def test_a_poisson_schedule_sends_the_expected_count_over_a_horizon(schedule: ArrivalSchedule) -> None:
    horizon = 100.0
    expected = schedule.arrivals_until(horizon)  # 10,000 either way
    counts = []
    for seed in range(5):
        offsets = schedule.offsets(random.Random(seed))
        counts.append(sum(1 for _ in itertools.takewhile(lambda t: t < horizon, offsets)))
    # A Poisson count has standard deviation sqrt(expected) = 100: each within 4 of them.
    assert all(abs(count - expected) < 4 * expected**0.5 for count in counts)
    assert len(set(counts)) > 1  # really random, and the seed decides
    again = schedule.offsets(random.Random(0))
    assert sum(1 for _ in itertools.takewhile(lambda t: t < horizon, again)) == counts[0]


def test_a_poisson_ramp_follows_the_rate_curve() -> None:
    schedule = ArrivalSchedule(10.0, rate_to=90.0, ramp_s=100.0, arrivals="poisson")
    offsets = list(itertools.takewhile(lambda t: t < 100.0, schedule.offsets(random.Random(3))))
    first, last = (sum(1 for t in offsets if lo <= t < lo + 10) for lo in (0.0, 90.0))
    assert first == pytest.approx(schedule.arrivals_until(10), rel=0.25)  # ~140
    assert last == pytest.approx(schedule.arrivals_until(100) - schedule.arrivals_until(90), rel=0.1)  # ~860


def test_the_arrival_process_is_named_and_checked() -> None:
    assert ArrivalSchedule(5.0).describe() == {"rate": 5.0, "arrivals": "uniform"}
    assert ArrivalSchedule(5.0, arrivals="poisson").describe()["arrivals"] == "poisson"
    with pytest.raises(ValueError, match="expected one of uniform, poisson, got 'bursty'"):
        parse_arrivals("bursty")
    with pytest.raises(ValueError, match="expected one of"):
        ArrivalSchedule(5.0, arrivals="Poisson")


@pytest.mark.parametrize("arrivals", ["uniform", "poisson"])
def test_a_workers_share_of_the_arrivals_is_kept_and_every_one_unsent_is_dropped(arrivals: str) -> None:
    # 10 s of arrivals already due, nobody taking them: this worker (half of the users) queues its
    # share, and each one older than the lag limit leaves the queue as dropped.
    dropped: list[float] = []
    schedule = ArrivalSchedule(200.0, arrivals=arrivals)
    dispatcher = ArrivalDispatcher(schedule, share=lambda: 0.5, on_dropped=dropped.append, max_lag_s=1.0,
                                   rng=random.Random(11))
    started = time.time() - 10.0
    dispatcher.start(now=started)
    gevent.sleep(0.3)
    dispatcher.stop()
    waiting = dispatcher._queue.qsize()
    kept = len(dropped) + waiting
    due = schedule.arrivals_until(time.time() - started)
    assert kept == pytest.approx(due / 2, rel=0.08)
    assert waiting == pytest.approx(200 * 1.0 / 2, rel=0.35)  # the last second's share still waits
    assert dropped == sorted(dropped) and max(dropped) < time.time() - 1.0


def test_an_arrival_taken_after_its_time_is_late_and_counts_from_it() -> None:
    late: list[float] = []
    dispatcher = ArrivalDispatcher(ArrivalSchedule(50.0, arrivals="poisson"), on_late=late.append,
                                   rng=random.Random(5))
    dispatcher.start(now=time.time() - 0.5)
    gevent.sleep(0.05)
    intended = dispatcher.take()
    assert late == [intended] and dispatcher.sent == 1
    assert dispatcher.claim_intended() == intended and dispatcher.claim_intended() is None
    dispatcher.stop()
