"""What a serving process holds: the models it serves and how a request reaches them.

Each served model name is a :class:`ModelRoute`.  A route follows its alias:
a new version is loaded and warmed in the background, then swapped in with one
attribute assignment, so requests in flight finish on the version they
started with and every response names the version that answered.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werft.errors import WerftError
from werft.registry.package import PackagedModel
from werft.sdk.backend import Backend
from werft.sdk.models import load_from
from werft.serving.batcher import MicroBatcher
from werft.serving.metrics import ServingMetrics
from werft.serving.predlog import PredictionBatch, PredictionLog
from werft.serving.stats import RequestStats
from werft.serving.validation import RequestValidator, UnseenPolicy, ValidatedRows

log = logging.getLogger("werft.serving")


def new_request_id() -> str:
    """Time-ordered ids (milliseconds first), so a log segment covers an id range."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


@dataclass(frozen=True)
class ServedModel:
    """One loaded version, ready to predict."""

    name: str
    version: int
    model: PackagedModel
    validator: RequestValidator

    @property
    def classes(self) -> list[Any] | None:
        output = self.model.signature.output
        return list(output.classes) if output.kind == "classifier" and output.classes else None


@dataclass(frozen=True)
class Job:
    """One request's rows for one served version."""

    served: ServedModel
    rows: ValidatedRows
    request_id: str
    variant: str


@dataclass(frozen=True)
class Outcome:
    """What one request gets back."""

    version: int
    predictions: list[Any]
    probabilities: list[list[float]] | None


@dataclass(frozen=True)
class RouteOptions:
    """How a route loads and serves its model."""

    trust: bool = False
    prefer_onnx: bool = False
    unseen_categories: UnseenPolicy = "reject"
    max_batch_rows: int = 256
    max_wait_ms: float = 0.0


@dataclass(frozen=True)
class Variant:
    """A second alias served beside the primary: a canary share or a shadow."""

    alias: str
    share: float = 0.0


class ModelRoute:
    """A model name served under ``/models/{name}/predict``, following its alias."""

    def __init__(
        self,
        name: str,
        alias: str,
        *,
        backend: Backend,
        cache: Path,
        metrics: ServingMetrics,
        predlog: PredictionLog,
        executor: ThreadPoolExecutor,
        options: RouteOptions,
        deployment: str | None = None,
        canary: Variant | None = None,
        shadow: Variant | None = None,
    ) -> None:
        self.name, self.alias = name, alias
        self.deployment = deployment or name
        self._backend, self._cache = backend, cache
        self.metrics = metrics
        self.stats = RequestStats()  # drained by the heartbeat into the metadata store
        self.predlog = predlog
        self.options = options
        self.canary, self.shadow = canary, shadow
        self.served: dict[str, ServedModel] = {}  # variant -> loaded version
        self.error: str | None = None
        self._batcher: MicroBatcher[Job, Outcome] = MicroBatcher(
            self._process,
            executor=executor,
            max_batch_rows=options.max_batch_rows,
            max_wait_ms=options.max_wait_ms,
        )

    # --- loading and following the alias -------------------------------------------

    @property
    def ready(self) -> bool:
        return "primary" in self.served

    def versions(self) -> dict[str, int]:
        return {variant: served.version for variant, served in self.served.items()}

    def _aliases(self) -> dict[str, str]:
        aliases = {"primary": self.alias}
        if self.canary:
            aliases["canary"] = self.canary.alias
        if self.shadow:
            aliases["shadow"] = self.shadow.alias
        return aliases

    def refresh(self) -> None:
        """Load and swap in whatever version each followed alias points at now."""
        errors = []
        for variant, alias in self._aliases().items():
            try:
                self._follow(variant, alias)
            except WerftError as exc:
                errors.append(f"{self.name}@{alias}: {exc.message}")
                log.warning("cannot load %s@%s: %s", self.name, alias, exc.message)
        self.error = "; ".join(errors) or None

    def _follow(self, variant: str, alias: str) -> None:
        target = self._backend.get_alias(self.name, alias)
        current = self.served.get(variant)
        if current is not None and current.version == target.version:
            return
        served = self._load(f"models:/{self.name}/{target.version}", target.version)
        self.served[variant] = served  # the swap: one assignment, in-flight jobs keep theirs
        self.metrics.set_version(
            self.name, variant, served.version, current.version if current else None
        )
        if current is not None:
            self.metrics.swaps.labels(self.name).inc()
            log.info("%s %s: version %s -> %s", self.name, variant, current.version, served.version)

    def _load(self, uri: str, version: int) -> ServedModel:
        packaged, _ = load_from(
            self._backend,
            uri,
            self._cache,
            trust=self.options.trust,
            prefer_onnx=self.options.prefer_onnx,
        )
        validator = RequestValidator(
            packaged.signature, unseen_categories=self.options.unseen_categories
        )
        served = ServedModel(self.name, version, packaged, validator)
        example = packaged.input_example()
        packaged.predict_with_proba(example)  # warm up before the first request sees it
        return served

    # --- predicting -----------------------------------------------------------------

    def choose(self) -> tuple[str, ServedModel]:
        """The variant that answers this request (a canary takes its share)."""
        if self.canary and "canary" in self.served and random.random() < self.canary.share:
            return "canary", self.served["canary"]
        return "primary", self.served["primary"]

    async def predict(
        self, served: ServedModel, variant: str, rows: ValidatedRows
    ) -> tuple[str, Outcome]:
        """Predict through the batcher; a shadow gets a copy whose answer is only logged."""
        request_id = new_request_id()
        outcome = await self._batcher.submit(Job(served, rows, request_id, variant), rows.n_rows)
        shadow = self.served.get("shadow")
        if shadow is not None:
            await self._shadow(shadow, rows, request_id)
        return request_id, outcome

    async def _shadow(self, shadow: ServedModel, rows: ValidatedRows, request_id: str) -> None:
        try:
            await self._batcher.submit(Job(shadow, rows, request_id, "shadow"), rows.n_rows)
        except Exception as exc:  # a shadow's failure must never touch the primary's answer
            log.warning("shadow %s v%s failed: %s", self.name, shadow.version, exc)

    def _process(self, jobs: Sequence[Job]) -> list[Outcome | BaseException]:
        """Runs in the worker thread: one vectorised predict per served version."""
        results: list[Outcome | BaseException] = [RuntimeError("not processed")] * len(jobs)
        groups: dict[int, list[int]] = {}
        for index, job in enumerate(jobs):
            groups.setdefault(id(job.served), []).append(index)
        for indexes in groups.values():
            try:
                outcomes = self._predict_group([jobs[i] for i in indexes])
            except Exception as exc:  # a model error fails this group's requests only
                log.exception("predict failed for %s", self.name)
                outcomes = [exc] * len(indexes)
            for i, outcome in zip(indexes, outcomes, strict=True):
                results[i] = outcome
        return results

    def _predict_group(self, jobs: Sequence[Job]) -> Sequence[Outcome | BaseException]:
        served = jobs[0].served
        frame = served.validator.to_frame([job.rows for job in jobs])
        predicted, probabilities = served.model.predict_with_proba(frame)
        predictions = predicted.tolist()  # numpy -> Python in one C call, not per value
        probs = probabilities.tolist() if probabilities is not None else None
        classes = [str(c) for c in served.classes] if served.classes else None
        self.metrics.batch_rows.labels(self.name).observe(len(frame))
        batches: list[PredictionBatch] = []
        outcomes: list[Outcome] = []
        now = time.time_ns() // 1_000_000
        start = 0
        for job in jobs:
            stop = start + job.rows.n_rows
            preds, job_probs = predictions[start:stop], probs[start:stop] if probs else None
            outcomes.append(Outcome(served.version, preds, job_probs))
            batches.append(self._batch(job, preds, job_probs, classes, now))
            start = stop
        self.predlog.append_batches(batches)  # in the OS before any response is sent
        served_rows = [o for o, job in zip(outcomes, jobs, strict=True) if job.variant != "shadow"]
        if served_rows:
            self.metrics.record_outputs(
                self.name,
                served.version,
                [p for o in served_rows for p in o.predictions],
                [max(p) for o in served_rows for p in (o.probabilities or [])],
            )
        return outcomes

    def _batch(
        self,
        job: Job,
        preds: list[Any],
        probs: list[list[float]] | None,
        classes: list[str] | None,
        now: int,
    ) -> PredictionBatch:
        rows = job.rows.n_rows
        ids = [job.request_id] if rows == 1 else [f"{job.request_id}/{row}" for row in range(rows)]
        by_class = (
            dict(zip(classes, zip(*probs, strict=True), strict=True))
            if probs is not None and classes is not None
            else None
        )
        return PredictionBatch(
            ids,
            now,
            self.name,
            job.served.version,
            job.variant,
            job.rows.columns,
            preds,
            by_class,
        )

    async def close(self) -> None:
        await self._batcher.close()


def response_body(name: str, request_id: str, outcome: Outcome, rows: int) -> Mapping[str, Any]:
    """The JSON a client gets: which model and version answered, and what it said."""
    body: dict[str, Any] = {
        "model": name,
        "version": outcome.version,
        "predictions": outcome.predictions,
        "request_id": request_id,
    }
    if outcome.probabilities is not None:
        body["probabilities"] = outcome.probabilities
    if rows > 1:
        body["row_ids"] = [f"{request_id}/{i}" for i in range(rows)]
    return body
