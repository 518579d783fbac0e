"""Serving statistics: percentiles of bucketed latencies, and windows over the store."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from werft.deploy.entities import LatencyHistogram, ServingStats
from werft.deploy.serving_stats import merge_latency, quantile, summarize
from werft.errors import InvalidInputError, NotFoundError
from werft.sdk.backend import Backend
from werft.services import Services

BOUNDS = [0.01, 0.02, 0.05, 0.1]


def _hist(counts: list[int], bounds: list[float] = BOUNDS) -> LatencyHistogram:
    return LatencyHistogram(bounds=bounds, counts=counts)


def _stats(start_ms: int, end_ms: int, counts: list[int], **fields: Any) -> ServingStats:
    values: dict[str, Any] = {"errors": 0, "rejected": 0, "rejected_fields": {}} | fields
    return ServingStats(
        start_ms=start_ms,
        end_ms=end_ms,
        requests=sum(counts),
        latency=_hist(counts),
        **values,
    )


# --- percentiles (pure) --------------------------------------------------------------


def test_quantile_interpolates_within_the_bucket() -> None:
    one_bucket = _hist([0, 100, 0, 0, 0])  # all in (0.01, 0.02]
    assert quantile(one_bucket, 0.5) == pytest.approx(0.015)
    assert quantile(one_bucket, 0.99) == pytest.approx(0.0199)
    assert quantile(one_bucket, 0.0) == pytest.approx(0.01)
    spread = _hist([50, 30, 15, 5, 0])
    assert quantile(spread, 0.5) == pytest.approx(0.01)  # exactly the first bucket's top
    assert quantile(spread, 0.8) == pytest.approx(0.02)
    assert quantile(spread, 0.9) == pytest.approx(0.02 + 0.03 * 10 / 15)
    assert quantile(spread, 0.99) == pytest.approx(0.05 + 0.05 * 4 / 5)
    assert quantile(_hist([10, 0, 0, 0, 0]), 0.5) == pytest.approx(0.005)  # from 0


def test_quantile_in_the_open_bucket_is_its_lower_bound() -> None:
    slow = _hist([90, 0, 0, 0, 10])
    assert quantile(slow, 0.95) == 0.1
    assert quantile(slow, 0.5) == pytest.approx(0.01 * 50 / 90)


def test_quantile_of_nothing_is_none() -> None:
    assert quantile(_hist([0] * 5), 0.5) is None
    with pytest.raises(ValueError, match="within"):
        quantile(_hist([1, 0, 0, 0, 0]), 1.5)


def test_quantile_matches_numpy_on_uniform_samples() -> None:
    """Uniform latencies within buckets: interpolation is close to the exact quantile."""
    rng = np.random.default_rng(7)
    samples = rng.uniform(0.0, 0.1, 100_000)
    counts = np.bincount(np.searchsorted(BOUNDS, samples, side="left"), minlength=5)
    histogram = _hist([int(c) for c in counts])
    for q in (0.5, 0.95, 0.99):
        assert quantile(histogram, q) == pytest.approx(np.quantile(samples, q), abs=1e-3)


def test_merge_adds_same_bounds_and_rebuckets_others() -> None:
    merged = merge_latency([_hist([1, 2, 3, 4, 5]), _hist([5, 4, 3, 2, 1])])
    assert merged.counts == [6, 6, 6, 6, 6] and merged.bounds == BOUNDS
    other = LatencyHistogram(bounds=[0.02, 0.2], counts=[3, 2, 1])
    mixed = merge_latency([_hist([1, 1, 1, 1, 1]), other])
    assert mixed.bounds == [0.01, 0.02, 0.05, 0.1, 0.2]
    assert mixed.counts == [1, 1 + 3, 1, 1, 2, 1 + 1]
    assert sum(mixed.counts) == 11


def test_summarize_adds_up_intervals() -> None:
    window = summarize(
        [
            _stats(0, 5_000, [10, 5, 0, 0, 0], errors=1, rejected=2, rejected_fields={"a": 2}),
            _stats(5_000, 10_000, [0, 5, 0, 0, 0], rejected=1, rejected_fields={"a": 1, "b": 1}),
        ],
        0,
        10_000,
        replicas=2,
    )
    assert (window.requests, window.errors, window.rejected) == (20, 1, 3)
    assert window.error_rate == pytest.approx(0.05)
    assert window.rps == pytest.approx(2.0)
    assert window.latency_p50 == pytest.approx(0.01)
    assert window.latency_p95 == pytest.approx(0.01 + 0.01 * 9 / 10)
    assert window.rejected_fields == {"a": 3, "b": 1} and window.replicas == 2
    empty = summarize([], 0, 10_000)
    assert (empty.requests, empty.rps, empty.error_rate, empty.latency_p99) == (0, 0.0, None, None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end_ms": 0}, "end_ms"),
        ({"errors": 30}, "part of requests"),
        ({"requests": 3}, "every request once"),
        ({"latency": {"bounds": [0.1], "counts": [1]}}, "one entry more"),
        ({"latency": {"bounds": [0.2, 0.1], "counts": [1, 0, 0]}}, "increase"),
    ],
)
def test_inconsistent_stats_are_refused(change: dict[str, Any], message: str) -> None:
    good = _stats(0, 1_000, [1, 0, 0, 0, 0]).model_dump()
    with pytest.raises(ValidationError, match=message):
        ServingStats.model_validate(good | change)


# --- stored windows (service on SQLite and PostgreSQL) -------------------------------


def _replica(services: Services, replica_id: str, deployment: str = "churn") -> None:
    services.deployments.register_replica(
        deployment,
        models={"churn": {"alias": "production"}},
        strategy="single",
        replica_id=replica_id,
        address="",
        host="h",
        pid=os.getpid(),
    )


def _beat(target: Services | Backend, replica_id: str, stats: ServingStats | None) -> None:
    heartbeat = target.deployments.heartbeat if isinstance(target, Services) else target.heartbeat
    heartbeat(replica_id, status="ready", serving={"churn": {"primary": 1}}, stats=stats)


def test_window_sums_overlapping_intervals_of_every_replica(services: Services) -> None:
    _replica(services, "a" * 32)
    _replica(services, "b" * 32)
    _replica(services, "c" * 32, deployment="other")
    _beat(services, "a" * 32, _stats(0, 5_000, [4, 0, 0, 0, 0]))
    _beat(services, "a" * 32, _stats(5_000, 10_000, [0, 6, 0, 0, 0], errors=2))
    _beat(services, "a" * 32, None)  # an idle interval sends nothing
    rejections = {"rejected": 3, "rejected_fields": {"plan": 3}}
    _beat(services, "b" * 32, _stats(2_000, 7_000, [0, 0, 10, 0, 0], **rejections))
    _beat(services, "a" * 32, _stats(10_000, 15_000, [0, 0, 0, 100, 0]))
    _beat(services, "c" * 32, _stats(0, 10_000, [50, 0, 0, 0, 0]))

    window = services.deployments.serving_window("churn", 0, 10_000)

    assert (window.requests, window.errors, window.rejected) == (20, 2, 3)
    assert window.rejected_fields == {"plan": 3} and window.replicas == 2
    assert window.error_rate == pytest.approx(0.1) and window.rps == pytest.approx(2.0)
    assert window.latency_p50 == pytest.approx(0.02)
    assert window.latency_p99 == pytest.approx(0.02 + 0.03 * 9.8 / 10)
    edge = services.deployments.serving_window("churn", 10_000, 20_000)
    assert edge.requests == 100  # the interval ending at 10 000 belongs to the window before
    assert services.deployments.serving_window("churn", 20_000, 30_000).requests == 0
    with pytest.raises(InvalidInputError, match="before it starts"):
        services.deployments.serving_window("churn", 10, 10)
    with pytest.raises(NotFoundError):
        services.deployments.serving_window("ghost", 0, 10)


def test_a_resent_interval_replaces_the_one_stored(services: Services) -> None:
    """A heartbeat stored whose answer got lost is resent grown; it must count once."""
    _replica(services, "a" * 32)
    _beat(services, "a" * 32, _stats(0, 5_000, [4, 0, 0, 0, 0]))
    _beat(services, "a" * 32, _stats(0, 10_000, [4, 3, 0, 0, 0]))
    window = services.deployments.serving_window("churn", 0, 10_000)
    assert window.requests == 7


def test_both_backends_carry_stats_and_windows(services: Services, backend: Backend) -> None:
    _replica(services, "r" * 32)
    stats = _stats(1_000, 3_000, [1, 1, 0, 0, 0], rejected=1, rejected_fields={"tenure": 1})
    _beat(backend, "r" * 32, stats)
    window = backend.serving_window("churn", 0, 4_000)
    assert (window.requests, window.rejected, window.rejected_fields) == (2, 1, {"tenure": 1})
    assert window.rps == pytest.approx(0.5) and window.latency_p50 == pytest.approx(0.01)
    with pytest.raises(NotFoundError):
        backend.serving_window("ghost", 0, 10)
    with pytest.raises(InvalidInputError):
        backend.serving_window("churn", 10, 0)
