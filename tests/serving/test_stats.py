"""The per-route request accumulator the heartbeat drains."""

from __future__ import annotations

import itertools
import threading

import pytest

from werft.serving.metrics import LATENCY_BUCKETS
from werft.serving.stats import MAX_FIELDS, OTHER_FIELDS, RequestStats


class FakeClock:
    def __init__(self, now: int = 1_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_drain_returns_the_deltas_and_starts_over() -> None:
    clock = FakeClock()
    stats = RequestStats(bounds=(0.01, 0.1, 1.0), clock=clock)
    stats.record(200, 0.005)
    stats.record(200, 0.01)  # on a bound: that bucket (Prometheus' "le")
    stats.record(200, 0.05)
    stats.record(422, 0.002, {"tenure", "plan"})
    stats.record(422, 0.003, {"tenure"})
    stats.record(400, 0.001)
    stats.record(503, 2.5)
    clock.now = 6_000

    delta = stats.drain()

    assert delta is not None
    assert (delta.start_ms, delta.end_ms) == (1_000, 6_000)
    assert (delta.requests, delta.errors, delta.rejected) == (7, 1, 3)
    assert delta.latency.bounds == [0.01, 0.1, 1.0]
    assert delta.latency.counts == [5, 1, 0, 1]
    assert delta.rejected_fields == {"tenure": 2, "plan": 1}
    clock.now = 7_000
    assert stats.drain() is None  # nothing since: nothing to send
    stats.record(200, 0.2)
    clock.now = 8_000
    later = stats.drain()
    assert later is not None and (later.start_ms, later.end_ms, later.requests) == (7_000, 8_000, 1)


def test_the_default_buckets_are_the_prometheus_ones() -> None:
    stats = RequestStats()
    stats.record(200, 0.0001)
    delta = stats.drain()
    assert delta is not None
    assert delta.latency.bounds == list(LATENCY_BUCKETS)
    assert delta.latency.counts == [1] + [0] * len(LATENCY_BUCKETS)


def test_a_restored_interval_is_sent_with_the_next() -> None:
    clock = FakeClock()
    stats = RequestStats(bounds=(0.1,), clock=clock)
    stats.record(200, 0.05)
    stats.record(422, 0.05, {"age"})
    clock.now = 2_000
    failed = stats.drain()
    assert failed is not None
    stats.record(500, 0.5)
    stats.record(422, 0.01, {"age", "city"})
    stats.restore(failed)  # the heartbeat did not get through
    clock.now = 3_000

    merged = stats.drain()

    assert merged is not None
    assert (merged.start_ms, merged.end_ms) == (1_000, 3_000)  # starts where the failed one did
    assert (merged.requests, merged.errors, merged.rejected) == (4, 1, 2)
    assert merged.latency.counts == [3, 1]
    assert merged.rejected_fields == {"age": 2, "city": 1}


def test_intervals_never_run_backwards_or_empty() -> None:
    clock = FakeClock(5_000)
    stats = RequestStats(clock=clock)
    stats.record(200, 0.01)
    clock.now = 4_000  # the wall clock stepped back
    delta = stats.drain()
    assert delta is not None and (delta.start_ms, delta.end_ms) == (5_000, 5_001)
    stats.record(200, 0.01)
    again = stats.drain()
    assert again is not None and again.start_ms == 5_001 < again.end_ms


def test_rejected_field_names_are_bounded() -> None:
    stats = RequestStats()
    for i in range(MAX_FIELDS + 50):
        stats.record(422, 0.001, {f"junk{i}"})
    stats.record(422, 0.001, {"x" * 1000})
    delta = stats.drain()
    assert delta is not None
    assert len(delta.rejected_fields) == MAX_FIELDS + 1
    assert delta.rejected_fields[OTHER_FIELDS] == 51
    assert delta.rejected == MAX_FIELDS + 51


def test_concurrent_recording_loses_no_request() -> None:
    stats = RequestStats(bounds=(0.01,))
    drained = []

    def hammer() -> None:
        for i in range(5_000):
            stats.record(200 if i % 10 else 500, 0.001)

    def drain() -> None:
        for _ in range(200):
            delta = stats.drain()
            if delta is not None:
                drained.append(delta)

    threads = [threading.Thread(target=hammer) for _ in range(4)] + [threading.Thread(target=drain)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    last = stats.drain()
    drained += [last] if last is not None else []
    assert sum(d.requests for d in drained) == 20_000
    assert sum(d.errors for d in drained) == 2_000
    assert sum(sum(d.latency.counts) for d in drained) == 20_000
    ends = [(d.start_ms, d.end_ms) for d in drained]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ends))


def test_stats_of_another_layout_are_not_restored() -> None:
    stats = RequestStats(bounds=(0.1,))
    other = RequestStats(bounds=(0.1, 1.0))
    other.record(200, 0.5)
    delta = other.drain()
    assert delta is not None
    with pytest.raises(ValueError, match="bucket layout"):
        stats.restore(delta)
