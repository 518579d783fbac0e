"""Prometheus metrics of a serving process (IT and ML metrics on /metrics)."""

from __future__ import annotations

import os
from collections.abc import Sequence

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
        counts: dict[str, int] = {}
        for value in predictions:
            key = str(value)
            counts[key] = counts.get(key, 0) + 1
        for key, count in counts.items():
            self.predictions.labels(model, str(version), key).inc(count)
        histogram = self.scores.labels(model)
        for score in scores:
            histogram.observe(score)
