"""Projects, runs, metrics, artifacts, blobs and datasets in process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from werft.sdk.local._base import LocalBase
from werft.store.artifacts import BlobInfo
from werft.tracking.entities import (
    ArtifactInfo,
    DatasetVersion,
    GcReport,
    Metric,
    Page,
    Project,
    Run,
    RunStatus,
)


class LocalTracking(LocalBase):
    """The tracking part of :class:`~werft.sdk.local.LocalBackend`."""

    # projects
    def create_project(
        self, key: str, *, name: str | None = None, description: str = ""
    ) -> Project:
        return self.services.projects.create(key, name=name, description=description)

    def get_or_create_project(self, key: str) -> Project:
        return self.services.projects.get_or_create(key)

    def get_project(self, key: str) -> Project:
        return self.services.projects.get(key)

    def list_projects(
        self, *, limit: int = 100, cursor: str | None = None, include_deleted: bool = False
    ) -> Page[Project]:
        return self.services.projects.list(
            limit=limit, cursor=cursor, include_deleted=include_deleted
        )

    def delete_project(self, key: str) -> Project:
        return self.services.projects.delete(key)

    def restore_project(self, key: str) -> Project:
        return self.services.projects.restore(key)

    # runs
    def create_run(self, project: str, **fields: Any) -> Run:
        return self.services.runs.create(project, **fields)

    def get_run(self, run_id: str) -> Run:
        return self.services.runs.get(run_id)

    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED) -> Run:
        return self.services.runs.end(run_id, status)

    def delete_run(self, run_id: str) -> None:
        self.services.runs.delete(run_id)

    def restore_run(self, run_id: str) -> Run:
        return self.services.runs.restore(run_id)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.services.runs.log_params(run_id, params)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.services.runs.set_tags(run_id, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.services.runs.delete_tag(run_id, key)

    def log_metric_rows(self, run_id: str, rows: Sequence[tuple[str, float, int, int]]) -> int:
        points = [
            Metric.model_construct(key=k, value=v, step=s, timestamp=t) for k, v, s, t in rows
        ]
        return self.services.runs.log_metrics(run_id, points)

    def get_metric_history(
        self, run_id: str, key: str, *, limit: int = 50_000, cursor: str | None = None
    ) -> Page[Metric]:
        return self.services.runs.get_metric_history(run_id, key, limit=limit, cursor=cursor)

    def search_runs(
        self,
        project: str,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        cursor: str | None = None,
    ) -> Page[Run]:
        return self.services.runs.search(
            project, filter=filter, order_by=order_by, max_results=max_results, cursor=cursor
        )

    # artifacts
    def upload_blob(self, path: Path) -> BlobInfo:
        return self.services.store.put_file(path)

    def log_artifact(
        self, run_id: str, local_path: Path, artifact_path: str | None = None
    ) -> ArtifactInfo:
        return self.services.artifacts.log_file(run_id, local_path, artifact_path)

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        return self.services.artifacts.list(run_id, prefix)

    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        return self.services.artifacts.download(run_id, artifact_path, dest)

    # datasets
    def register_dataset(
        self, project: str, name: str, description: dict[str, Any], data_digest: str | None
    ) -> DatasetVersion:
        return self.services.datasets.register(project, name, description, data_digest=data_digest)

    def link_input(self, run_id: str, dataset_version_id: str, context: str) -> None:
        self.services.datasets.link_input(run_id, dataset_version_id, context)

    def get_dataset_version(
        self, project: str, name: str, version: int | str = "latest"
    ) -> DatasetVersion:
        return self.services.datasets.get(project, name, version)

    def list_dataset_versions(self, project: str, name: str | None = None) -> list[DatasetVersion]:
        return self.services.datasets.list(project, name)

    def download_blob(self, digest: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.services.store.get_file(digest, dest)
        return dest

    def gc(self, older_than: timedelta | None = None) -> GcReport:
        return self.services.gc.collect(older_than=older_than)
