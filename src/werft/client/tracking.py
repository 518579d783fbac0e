"""Projects, runs, metrics, artifacts, blobs and datasets over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werft.client._base import ClientBase, _file_chunks, _q
from werft.store.artifacts import BlobInfo, validate_artifact_path
from werft.tracking.entities import (
    ArtifactInfo,
    DatasetVersion,
    GcReport,
    Metric,
    Page,
    Project,
    Run,
    RunStatus,
    encode_float,
)


class TrackingClient(ClientBase):
    """The tracking part of :class:`~werft.client.http.WerftClient`."""

    # --- projects ---------------------------------------------------------------------

    def create_project(
        self, key: str, *, name: str | None = None, description: str = ""
    ) -> Project:
        body = {"key": key, "name": name, "description": description}
        return Project.model_validate(self._json("POST", "/projects", body))

    def get_or_create_project(self, key: str) -> Project:
        return Project.model_validate(self._json("PUT", f"/projects/{_q(key)}", {}))

    def get_project(self, key: str) -> Project:
        return Project.model_validate(self._json("GET", f"/projects/{_q(key)}"))

    def list_projects(
        self, *, limit: int = 100, cursor: str | None = None, include_deleted: bool = False
    ) -> Page[Project]:
        params: dict[str, Any] = {"limit": limit, "include_deleted": include_deleted}
        if cursor:
            params["cursor"] = cursor
        return Page[Project].model_validate(self._json("GET", "/projects", params=params))

    def delete_project(self, key: str) -> Project:
        return Project.model_validate(self._json("DELETE", f"/projects/{_q(key)}"))

    def restore_project(self, key: str) -> Project:
        return Project.model_validate(self._json("POST", f"/projects/{_q(key)}/restore"))

    # --- runs -------------------------------------------------------------------------

    def create_run(self, project: str, **fields: Any) -> Run:
        # Tags are text, as in local mode, where the service stringifies them.
        tags = fields.get("tags") or {}
        fields["tags"] = {k: v if isinstance(v, str) else str(v) for k, v in tags.items()}
        return Run.model_validate(self._json("POST", f"/projects/{_q(project)}/runs", fields))

    def get_run(self, run_id: str) -> Run:
        return Run.model_validate(self._json("GET", f"/runs/{_q(run_id)}"))

    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED) -> Run:
        return Run.model_validate(
            self._json("PATCH", f"/runs/{_q(run_id)}", {"status": status.value})
        )

    def delete_run(self, run_id: str) -> None:
        self._json("DELETE", f"/runs/{_q(run_id)}")

    def restore_run(self, run_id: str) -> Run:
        return Run.model_validate(self._json("POST", f"/runs/{_q(run_id)}/restore"))

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        body = {"params": {k: v if isinstance(v, str) else str(v) for k, v in params.items()}}
        self._json("POST", f"/runs/{_q(run_id)}/params", body)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        body = {"tags": {k: v if isinstance(v, str) else str(v) for k, v in tags.items()}}
        self._json("POST", f"/runs/{_q(run_id)}/tags", body)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._json("DELETE", f"/runs/{_q(run_id)}/tags/{_q(key)}")

    def log_metric_rows(self, run_id: str, rows: Sequence[tuple[str, float, int, int]]) -> int:
        """Send buffered ``(key, value, step, timestamp_ms)`` points in one request."""
        body = {
            "metrics": [
                {"key": k, "value": encode_float(v), "step": s, "timestamp": t}
                for k, v, s, t in rows
            ]
        }
        result = self._json("POST", f"/runs/{_q(run_id)}/metrics", body)
        return int(result["logged"])

    def get_metric_history(
        self, run_id: str, key: str, *, limit: int = 50_000, cursor: str | None = None
    ) -> Page[Metric]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        data = self._json("GET", f"/runs/{_q(run_id)}/metrics/{_q(key)}/history", params=params)
        return Page[Metric].model_validate(data)

    def search_runs(
        self,
        project: str,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        cursor: str | None = None,
    ) -> Page[Run]:
        body = {
            "filter": filter,
            "order_by": list(order_by or []),
            "max_results": max_results,
            "cursor": cursor,
        }
        data = self._json("POST", f"/projects/{_q(project)}/runs/search", body)
        return Page[Run].model_validate(data)

    # --- artifacts and blobs ----------------------------------------------------------

    def upload_blob(self, path: Path) -> BlobInfo:
        data = self._json("POST", "/blobs", content=_file_chunks(path))
        return BlobInfo(digest=data["digest"], size=data["size"])

    def log_artifact(
        self, run_id: str, local_path: Path, artifact_path: str | None = None
    ) -> ArtifactInfo:
        path = validate_artifact_path(artifact_path or local_path.name)
        url = f"/runs/{_q(run_id)}/artifacts/{quote(path)}"
        response = self._request("PUT", url, content=_file_chunks(local_path))
        return ArtifactInfo.model_validate(response.json())

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        params = {"prefix": prefix} if prefix else {}
        data = self._json("GET", f"/runs/{_q(run_id)}/artifacts", params=params)
        return [ArtifactInfo.model_validate(item) for item in data]

    def download_artifact(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        """Stream an artifact to ``dest``, checking its hash before it appears there."""
        path = validate_artifact_path(artifact_path)
        return self._download(f"/runs/{_q(run_id)}/artifacts/{quote(path)}", dest)

    def download_blob(self, digest: str, dest: Path) -> Path:
        """Stream a blob by content hash to ``dest``, verified against the hash."""
        return self._download(f"/blobs/{_q(digest)}", dest, expected=digest)

    # --- datasets ---------------------------------------------------------------------

    def register_dataset(
        self, project: str, name: str, description: dict[str, Any], data_digest: str | None
    ) -> DatasetVersion:
        body = {"name": name, "description": description, "data_digest": data_digest}
        data = self._json("POST", f"/projects/{_q(project)}/datasets", body)
        return DatasetVersion.model_validate(data)

    def link_input(self, run_id: str, dataset_version_id: str, context: str) -> None:
        body = {"dataset_version_id": dataset_version_id, "context": context}
        self._json("POST", f"/runs/{_q(run_id)}/inputs", body)

    def get_dataset_version(
        self, project: str, name: str, version: int | str = "latest"
    ) -> DatasetVersion:
        url = f"/projects/{_q(project)}/datasets/{_q(name)}/versions/{version}"
        return DatasetVersion.model_validate(self._json("GET", url))

    def list_dataset_versions(self, project: str, name: str | None = None) -> list[DatasetVersion]:
        params = {"name": name} if name else {}
        data = self._json("GET", f"/projects/{_q(project)}/datasets", params=params)
        return [DatasetVersion.model_validate(item) for item in data]

    # --- maintenance ------------------------------------------------------------------

    def gc(self, older_than: timedelta | None = None) -> GcReport:
        body = {"older_than_seconds": None if older_than is None else older_than.total_seconds()}
        return GcReport.model_validate(self._json("POST", "/gc", body))
