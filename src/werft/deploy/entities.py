"""Deployment entities: what serving replicas report and the API returns."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_REJECTED_FIELDS = 1000
"""Most distinct field names one stats interval may report."""


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class Replica(_Entity):
    """One serving process."""

    id: str
    address: str
    host: str
    pid: int
    status: str
    serving: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    heartbeat_at: datetime
    alive: bool


class Deployment(_Entity):
    """A named deployment with the replicas that serve it."""

    id: str
    name: str
    models: dict[str, Any]
    strategy: str
    replicas: list[Replica] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class Segment(_Entity):
    """A shipped prediction-log segment (Parquet blob plus its histograms)."""

    id: str
    digest: str
    size: int
    rows: int
    start_ms: int
    end_ms: int
    request_id_min: str
    request_id_max: str
    models: dict[str, Any]
    histograms: dict[str, Any]


class FeedbackResult(_Entity):
    """What a feedback call stored, and the request ids nobody logged."""

    stored: int
    unknown: list[str] = Field(default_factory=list)


class LatencyHistogram(_Entity):
    """Request latencies in buckets: ``counts[i]`` are in ``(bounds[i-1], bounds[i]]`` seconds.

    ``counts`` has one more entry than ``bounds``: the last counts the requests
    slower than ``bounds[-1]`` (Prometheus' ``+Inf`` bucket).
    """

    bounds: list[float]
    counts: list[int]

    @model_validator(mode="after")
    def _check(self) -> LatencyHistogram:
        if len(self.counts) != len(self.bounds) + 1:
            raise ValueError("latency: counts needs one entry more than bounds (the +Inf bucket)")
        if any(b <= a for a, b in itertools.pairwise(self.bounds)):
            raise ValueError("latency: bounds must increase")
        if self.bounds and self.bounds[0] <= 0:
            raise ValueError("latency: bounds must be positive")
        if any(c < 0 for c in self.counts):
            raise ValueError("latency: counts cannot be negative")
        return self


class ServingStats(_Entity):
    """One replica's requests to one deployment over one heartbeat interval.

    The interval runs from ``start_ms`` (the previous heartbeat) to ``end_ms``
    (this one).  ``errors`` are 5xx answers, ``rejected`` 4xx answers (invalid
    input); ``rejected_fields`` counts rejected requests per input field
    (``request`` for a problem with the request as a whole).
    """

    start_ms: int
    end_ms: int
    requests: int = Field(ge=0)
    errors: int = Field(ge=0)
    rejected: int = Field(ge=0)
    latency: LatencyHistogram
    rejected_fields: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ServingStats:
        if self.end_ms <= self.start_ms:
            raise ValueError("stats: end_ms must be after start_ms")
        if self.errors + self.rejected > self.requests:
            raise ValueError("stats: errors and rejected are part of requests")
        if sum(self.latency.counts) != self.requests:
            raise ValueError("stats: the latency buckets must count every request once")
        if len(self.rejected_fields) > MAX_REJECTED_FIELDS:
            raise ValueError(f"stats: at most {MAX_REJECTED_FIELDS} rejected fields")
        if any(c < 0 for c in self.rejected_fields.values()):
            raise ValueError("stats: rejected field counts cannot be negative")
        return self


class ServingWindow(_Entity):
    """A deployment's requests over a time window, summed over its replicas.

    Every stats interval that overlaps ``[start_ms, end_ms)`` counts in full.
    Latency percentiles are in seconds, interpolated within the summed
    histogram's buckets; ``None`` (like ``error_rate``) without requests.
    """

    start_ms: int
    end_ms: int
    requests: int
    errors: int
    rejected: int
    error_rate: float | None
    rps: float
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    rejected_fields: dict[str, int] = Field(default_factory=dict)
    replicas: int = 0
