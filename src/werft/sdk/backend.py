"""One API, two backends: in-process services (local) or a werft server (remote).

The SDK and the CLI talk to a :class:`Backend` and never care which one it is;
the test suite runs the same tests against both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from werft.config import Settings
from werft.store.artifacts import BlobInfo
from werft.tracking.entities import (
    ArtifactInfo,
    DatasetVersion,
    Metric,
    Page,
    Project,
    Run,
    RunStatus,
)
from werft.tracking.gc import GcReport


class Backend(Protocol):
    """What the SDK and CLI need from werft, local or remote."""

    def create_project(
        self, key: str, *, name: str | None = None, description: str = ""
    ) -> Project: ...
    def get_or_create_project(self, key: str) -> Project: ...
    def get_project(self, key: str) -> Project: ...
    def list_projects(
        self, *, limit: int = 100, cursor: str | None = None, include_deleted: bool = False
    ) -> Page[Project]: ...
    def delete_project(self, key: str) -> Project: ...
    def restore_project(self, key: str) -> Project: ...

    def create_run(self, project: str, **fields: Any) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED) -> Run: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> Run: ...
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_metric_rows(self, run_id: str, rows: Sequence[tuple[str, float, int, int]]) -> int: ...
    def get_metric_history(
        self, run_id: str, key: str, *, limit: int = 50_000, cursor: str | None = None
    ) -> Page[Metric]: ...
    def search_runs(
        self,
        project: str,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        cursor: str | None = None,
    ) -> Page[Run]: ...

    def upload_blob(self, path: Path) -> BlobInfo: ...
    def log_artifact(
        self, run_id: str, local_path: Path, artifact_path: str | None = None
    ) -> ArtifactInfo: ...
    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]: ...
    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path: ...

    def register_dataset(
        self, project: str, name: str, description: dict[str, Any], data_digest: str | None
    ) -> DatasetVersion: ...
    def link_input(self, run_id: str, dataset_version_id: str, context: str) -> None: ...
    def get_dataset_version(
        self, project: str, name: str, version: int | str = "latest"
    ) -> DatasetVersion: ...
    def list_dataset_versions(
        self, project: str, name: str | None = None
    ) -> list[DatasetVersion]: ...

    def gc(self, older_than: timedelta | None = None) -> GcReport: ...
    def close(self) -> None: ...


def open_backend(settings: Settings) -> Backend:
    """The remote backend when a server URL is configured, else the local one."""
    if settings.url:
        from werft.client.http import WerftClient

        token = settings.token.get_secret_value() if settings.token else None
        return WerftClient(settings.url, token=token, timeout=settings.http_timeout)
    from werft.sdk.local import LocalBackend

    return LocalBackend.from_settings(settings)
