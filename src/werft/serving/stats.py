"""Request counts a serving replica ships to the metadata store with each heartbeat.

Prometheus' counters on ``/metrics`` are for a scraper; monitors and alert
rules read the metadata store instead, so each route also adds its requests
up here and the heartbeat drains the deltas.  The hot path takes one lock and
does a few integer additions; the latency bucket is found before the lock.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Collection, Sequence

from werft.deploy.entities import LatencyHistogram, ServingStats
from werft.serving.metrics import LATENCY_BUCKETS

MAX_FIELDS = 100
"""Distinct rejected field names an interval keeps; the rest count as ``(other)``.

Unknown column names come from clients, so their number has no bound of its own.
"""
OTHER_FIELDS = "(other)"
MAX_FIELD_LENGTH = 200


def now_ms() -> int:
    """The default clock: wall-clock milliseconds, as the prediction log uses."""
    return time.time_ns() // 1_000_000


class RequestStats:
    """One route's requests since the last heartbeat took them; thread-safe.

    Args:
        bounds: Upper bounds of the latency buckets, in seconds.
        clock: Milliseconds since the epoch; tests pass a fake.
    """

    def __init__(
        self,
        *,
        bounds: Sequence[float] = LATENCY_BUCKETS,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._bounds = tuple(bounds)
        self._clock = clock
        self._lock = threading.Lock()
        self._start_ms = clock()
        self._reset()

    def _reset(self) -> None:
        self._requests = self._errors = self._rejected = 0
        self._counts = [0] * (len(self._bounds) + 1)
        self._fields: dict[str, int] = {}

    def record(self, status: int, seconds: float, fields: Collection[str] = ()) -> None:
        """Count one answered request.

        Args:
            status: The HTTP status it got: 5xx counts as an error, 4xx as rejected.
            seconds: Its latency.
            fields: The input fields its rejection named (each counts once per request).
        """
        bucket = bisect.bisect_left(self._bounds, seconds)
        with self._lock:
            self._requests += 1
            self._counts[bucket] += 1
            if status >= 500:
                self._errors += 1
            elif status >= 400:
                self._rejected += 1
                for name in fields:
                    self._count_field(name, 1)

    def _count_field(self, name: str, count: int) -> None:
        name = name[:MAX_FIELD_LENGTH]
        if name not in self._fields and len(self._fields) >= MAX_FIELDS:
            name = OTHER_FIELDS
        self._fields[name] = self._fields.get(name, 0) + count

    def drain(self) -> ServingStats | None:
        """The counts since the previous drain, and start over; ``None`` without requests."""
        with self._lock:
            start = self._start_ms
            end = max(self._clock(), start + 1)  # intervals never empty, never backwards
            requests, errors, rejected = self._requests, self._errors, self._rejected
            counts, fields = self._counts, self._fields
            self._start_ms = end
            self._reset()
        if not requests:
            return None
        return ServingStats(
            start_ms=start,
            end_ms=end,
            requests=requests,
            errors=errors,
            rejected=rejected,
            latency=LatencyHistogram(bounds=list(self._bounds), counts=counts),
            rejected_fields=fields,
        )

    def restore(self, stats: ServingStats) -> None:
        """Put back what a failed heartbeat could not send: the next drain includes it.

        The next interval then starts where the failed one started, which is
        how the store recognises a resent interval.
        """
        if len(stats.latency.counts) != len(self._counts):
            raise ValueError("stats from another bucket layout cannot be restored here")
        with self._lock:
            self._start_ms = min(self._start_ms, stats.start_ms)
            self._requests += stats.requests
            self._errors += stats.errors
            self._rejected += stats.rejected
            for index, count in enumerate(stats.latency.counts):
                self._counts[index] += count
            for name, count in stats.rejected_fields.items():
                self._count_field(name, count)
