"""Gathering what one monitor window is checked against and with.

The served model version and its reference (the training dataset's profile,
or a chosen dataset version), the serving statistics, and the logged
predictions of the window joined to their feedback labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from werft.deploy.deployments import DeploymentService, deployment_row
from werft.deploy.entities import Segment
from werft.errors import InvalidInputError, NotFoundError
from werft.monitoring.drift import reference_histograms
from werft.monitoring.entities import Monitor, MonitorConfig
from werft.monitoring.histograms import FeatureHistogram
from werft.monitoring.labelled import Task
from werft.monitoring.performance import PerformanceReport, evaluate_performance
from werft.monitoring.windows import read_window
from werft.registry.entities import ModelVersion
from werft.registry.service import ModelRegistry
from werft.store.artifacts import ArtifactStore
from werft.store.db import Database
from werft.store.models import FeedbackRow
from werft.tracking.dataset_versions import DatasetService

PERFORMANCE_COLUMNS = ("request_id", "time", "variant", "prediction")
_TASKS: dict[Any, Task] = {"classifier": "classification", "regressor": "regression"}


@dataclass(frozen=True)
class Served:
    """The model version a window is checked for, and its reference."""

    model: str
    version: ModelVersion | None
    reference: dict[str, FeatureHistogram]
    complete_categories: frozenset[str]
    reference_name: str | None


class WindowSources:
    """Reads the inputs of a monitor window from the other services."""

    def __init__(
        self,
        db: Database,
        store: ArtifactStore,
        *,
        deployments: DeploymentService,
        registry: ModelRegistry,
        datasets: DatasetService,
        cache_dir: Path,
    ) -> None:
        self._db = db
        self._store = store
        self._deployments = deployments
        self._registry = registry
        self._datasets = datasets
        self._cache = cache_dir

    def served(self, monitor: Monitor, segments: Sequence[Segment]) -> Served:
        deployment = self._deployments.get(monitor.deployment)
        model = monitor.config.model or _only_model(monitor, deployment.models, segments)
        version = self._version(model, deployment.models.get(model), segments)
        inputs = None
        if version is not None:
            inputs = [column["name"] for column in version.signature.get("inputs", [])] or None
        profile, reference_name = self._reference_profile(monitor.config, version)
        if profile is None:
            return Served(model, version, {}, frozenset(), None)
        reference = reference_histograms(profile)
        wanted = monitor.config.features or inputs
        if wanted is not None:
            reference = {name: hist for name, hist in reference.items() if name in wanted}
        complete = frozenset(
            column["name"]
            for column in profile.get("columns", [])
            if column.get("categorical")
            and column["categorical"]["distinct"] == len(column["categorical"]["top"])
        )
        return Served(model, version, reference, complete, reference_name)

    def _version(
        self, model: str, entry: Mapping[str, Any] | None, segments: Sequence[Segment]
    ) -> ModelVersion | None:
        alias = (entry or {}).get("alias")
        try:
            if alias:
                return self._registry.get_alias(model, alias)
        except NotFoundError:
            pass
        seen = [v for segment in segments for v in segment.models.get(model, [])]
        if seen:
            try:
                return self._registry.get_version(model, max(seen))
            except NotFoundError:
                return None
        return None

    def _reference_profile(
        self, config: MonitorConfig, version: ModelVersion | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        if config.reference is not None:
            project, rest = config.reference.split("/", 1)
            name, number = rest.rsplit("@", 1)
            dataset = self._datasets.get(project, name, number)
            return dataset.profile, f"{project}/{name}@{dataset.version}"
        if version is None:
            return None, None
        lineage = self._registry.lineage(version.name, version.version)
        training = next((d for d in lineage.datasets if d.context == "training"), None)
        if training is None:
            return None, None
        dataset = self._datasets.get(version.project, training.name, training.version)
        return dataset.profile, f"{version.project}/{training.name}@{training.version}"

    def serving(self, deployment: str, start_ms: int, end_ms: int) -> dict[str, Any] | None:
        window = self._deployments.serving_window(deployment, start_ms, end_ms)
        data = window.model_dump(mode="json")
        return data if data.get("requests") or data.get("rejected") else None

    def performance(
        self,
        monitor: Monitor,
        served: Served,
        segments: Sequence[Segment],
        start_ms: int,
        end_ms: int,
    ) -> PerformanceReport | None:
        if not segments or not self._has_feedback(monitor.deployment):
            return None
        columns = [*PERFORMANCE_COLUMNS, "proba:"]  # the inputs are not needed here
        table = read_window(segments, self._fetch, start_ms, end_ms, columns=columns)
        if table.num_rows == 0:
            return None
        labels = self._deployments.feedback(
            monitor.deployment, table.column("request_id").to_pylist()
        )
        if not labels:
            return None
        task: Task | None = None
        if served.version is not None:
            kind = served.version.signature.get("output", {}).get("kind")
            task = _TASKS.get(kind)
        validation = {
            k: float(v)
            for k, v in (served.version.metrics if served.version else {}).items()
            if isinstance(v, int | float)
        }
        return evaluate_performance(
            table,
            labels,
            task=task,
            positive=monitor.config.positive,
            validation=validation,
            tolerance=monitor.config.tolerance,
        )

    def _has_feedback(self, deployment: str) -> bool:
        with self._db.session(write=False) as session:
            row = deployment_row(session, deployment)
            return (
                session.scalar(
                    select(FeedbackRow.request_id)
                    .where(FeedbackRow.deployment_id == row.id)
                    .limit(1)
                )
                is not None
            )

    def _fetch(self, digest: str) -> Path:
        path = self._cache / digest.replace(":", "-")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            self._store.get_file(digest, path)
        return path


def _only_model(monitor: Monitor, models: Mapping[str, Any], segments: Sequence[Segment]) -> str:
    names = sorted(set(models) | {m for segment in segments for m in segment.models})
    if len(names) == 1:
        return names[0]
    raise InvalidInputError(
        f"deployment {monitor.deployment!r} serves {len(names)} models "
        f"({', '.join(names) or 'none yet'}); "
        f"set the model of monitor {monitor.name!r} with --model"
    )
