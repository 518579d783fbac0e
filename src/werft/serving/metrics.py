"""Prometheus metrics of a serving process (IT and ML metrics on /metrics)."""

from __future__ import annotations

import collections
import os
from collections.abc import Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
SCORE_BUCKETS = tuple(i / 10 for i in range(1, 11))


def multiprocess_dir() -> str | None:
    """Set (by ``werft serve --workers N``) when several processes share the metrics."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class ServingMetrics:
    """One registry per server, so tests and several servers in a process stay apart.

    With ``--workers N`` every worker writes its values to files in
    ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` (answered by any worker) adds
    them up, so the counts cover all workers.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "werft_requests",
            "Prediction requests by model and HTTP status.",
            ["model", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "werft_request_latency_seconds",
            "Time from request to response.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_rows = Histogram(
            "werft_batch_rows",
            "Rows per vectorised predict call.",
            ["model"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.model_info = Gauge(
            "werft_model_info",
            "The version a model route serves (value 1).",
            ["model", "version", "variant"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.predictions = Counter(
            "werft_predictions",
            "Predicted rows by model, version and predicted class.",
            ["model", "version", "prediction"],
            registry=r,
        )
        self.scores = Histogram(
            "werft_prediction_score",
            "Highest class probability of each prediction.",
            ["model"],
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.validation_failures = Counter(
            "werft_validation_failures",
            "Rejected input fields by model and field.",
            ["model", "field"],
            registry=r,
        )
        self.unseen_categories = Counter(
            "werft_unseen_categories",
            "Category values the model never saw (passed).",
            ["model", "field"],
            registry=r,
        )
        self.swaps = Counter(
            "werft_model_swaps",
            "Hot swaps to a new version.",
            ["model"],
            registry=r,
        )

    def set_version(self, model: str, variant: str, version: int, previous: int | None) -> None:
        if previous is not None:
            # Zero rather than remove: removal does not reach other workers' files.
            self.model_info.labels(model, str(previous), variant).set(0)
        self.model_info.labels(model, str(version), variant).set(1)

    def exposition(self) -> bytes:
        """The text for ``/metrics``: this process, or every worker's when there are several."""
        folder = multiprocess_dir()
        if folder is None:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        MultiProcessCollector(combined, path=folder)  # type: ignore[no-untyped-call]
        return generate_latest(combined)

    def record_outputs(
        self, model: str, version: int, predictions: Sequence[object], scores: Sequence[float]
    ) -> None:
        """Count predicted classes and observe scores, a whole batch at a time."""
        for key, count in collections.Counter(map(str, predictions)).items():
            self.predictions.labels(model, str(version), key).inc(count)
        if scores:
            _observe_many(self.scores.labels(model), np.asarray(scores, dtype=float))


def _observe_many(histogram: Histogram, values: np.ndarray) -> None:
    """``observe`` for every value, with one increment per bucket instead of per value.

    prometheus-client keeps one (non-cumulative) counter per bucket and a sum;
    a batch of 1,000 scores costs one searchsorted instead of 1,000 calls.
    """
    buckets = getattr(histogram, "_buckets", None)
    upper = getattr(histogram, "_upper_bounds", None)
    total = getattr(histogram, "_sum", None)
    if buckets is None or upper is None or total is None:  # another client version
        for value in values:
            histogram.observe(float(value))
        return
    index = np.searchsorted(np.asarray(upper, dtype=float), values, side="left")
    for bucket, count in zip(*np.unique(index, return_counts=True), strict=True):
        buckets[int(bucket)].inc(int(count))
    total.inc(float(values.sum()))
