"""HTTP client for a werft server: the SDK's and CLI's remote backend.

Problem documents from the server become the same ``WerftError`` kinds the
services raise, so callers handle errors identically in local and remote
mode.  Uploads and downloads stream in chunks and never hold a file in memory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from werft import __version__
from werft.deploy.entities import Deployment, Segment, ServingStats, ServingWindow
from werft.errors import ERROR_KINDS, IntegrityError, UnavailableError, WerftError
from werft.gates.entities import GateEvaluation, GateReport
from werft.governance.actor import ACTOR_HEADER, current_actor
from werft.governance.approval_entities import Approval, PromotionResult
from werft.governance.audit import AuditEvent, AuditVerification
from werft.governance.card import ModelCard
from werft.governance.roles import Role
from werft.governance.usecases import SyncedUseCase, UseCase, UseCaseSync
from werft.governance.user_entities import CreatedToken, Identity, Token, User
from werft.monitoring.alert_entities import (
    Alert,
    AlertRule,
    Channel,
    ChannelTest,
    DeliveryReport,
    Notification,
)
from werft.monitoring.entities import (
    Kpi,
    Monitor,
    MonitorResult,
    check_kpi_name,
    check_kpi_value,
)
from werft.registry.entities import (
    AliasEvent,
    Lineage,
    ModelVersion,
    RegisteredModel,
    VersionStatus,
)
from werft.registry.uris import check_model_name
from werft.store.artifacts import CHUNK_SIZE, BlobInfo, validate_artifact_path
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

API = "/api/v1"


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            yield chunk


def _q(segment: str) -> str:
    return quote(segment, safe="")


class WerftClient:
    """Typed access to ``/api/v1`` of a werft server."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        """Connect to ``url``.

        Args:
            url: Base URL of the server, e.g. ``http://127.0.0.1:8080``.
            token: API token sent as a bearer token.
            timeout: Seconds to wait for each network operation (not the
                whole transfer, so large uploads do not time out).
            transport: An httpx transport, e.g. for tests against an app in process.
            http: A ready httpx client (e.g. Starlette's TestClient); wins over the rest.
        """
        self.url = url.rstrip("/")
        headers = {"user-agent": f"werft/{__version__}"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = http or httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        if http is not None:
            self._http.headers.update(headers)

    def close(self) -> None:
        self._http.close()

    # --- plumbing -------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # Who acts: the server records it when auth is off; with auth on the token decides.
        headers = {ACTOR_HEADER: quote(current_actor(), safe=""), **kwargs.pop("headers", {})}
        try:
            response = self._http.request(method, API + path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise UnavailableError(
                f"werft server at {self.url} is unreachable ({exc.__class__.__name__}: {exc}); "
                "is `werft server` running and WERFT_URL right?"
            ) from exc
        if response.is_error:
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> WerftError:
        try:
            problem = response.json()
            kind = ERROR_KINDS.get(str(problem.get("code")), WerftError)
            return kind(str(problem.get("detail") or problem.get("title")))
        except (ValueError, AttributeError):
            return WerftError(
                f"werft server answered {response.status_code}: {response.text[:200]}"
            )

    def _json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["content"] = orjson.dumps(body)
            kwargs["headers"] = {"content-type": "application/json"}
        response = self._request(method, path, **kwargs)
        return None if response.status_code == 204 else response.json()

    # --- server -----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/health")
        return result

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

    def _download(self, path: str, dest: Path, expected: str | None = None) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".werft-download-")
        try:
            with os.fdopen(fd, "wb") as out, self._http.stream("GET", API + path) as response:
                if response.is_error:
                    response.read()
                    raise self._error(response)
                expected = expected or response.headers.get("x-werft-digest", "")
                hasher = hashlib.sha256()
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    hasher.update(chunk)
                    out.write(chunk)
            if expected and expected != f"sha256:{hasher.hexdigest()}":
                raise IntegrityError(f"{path} arrived corrupt: its hash is not {expected}")
            os.replace(tmp_name, dest)
        except httpx.TransportError as exc:
            raise UnavailableError(f"download from {self.url} failed: {exc}") from exc
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        return dest

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

    # --- registry ---------------------------------------------------------------------

    def create_model(self, name: str, project: str, *, description: str = "") -> RegisteredModel:
        body = {"name": name, "project": project, "description": description}
        return RegisteredModel.model_validate(self._json("POST", "/models", body))

    def get_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.model_validate(self._json("GET", f"/models/{_q(name)}"))

    def list_models(
        self, *, project: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page[RegisteredModel]:
        params: dict[str, Any] = {"limit": limit}
        if project:
            params["project"] = project
        if cursor:
            params["cursor"] = cursor
        return Page[RegisteredModel].model_validate(self._json("GET", "/models", params=params))

    def create_model_version(self, name: str, **fields: Any) -> ModelVersion:
        check_model_name(name)  # a '/' in the name would otherwise change the URL
        data = self._json("POST", f"/models/{_q(name)}/versions", fields)
        return ModelVersion.model_validate(data)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        data = self._json("GET", f"/models/{_q(name)}/versions/{int(version)}")
        return ModelVersion.model_validate(data)

    def list_model_versions(
        self, name: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[ModelVersion]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        data = self._json("GET", f"/models/{_q(name)}/versions", params=params)
        return Page[ModelVersion].model_validate(data)

    def set_version_status(self, name: str, version: int, status: VersionStatus) -> ModelVersion:
        url = f"/models/{_q(name)}/versions/{int(version)}"
        return ModelVersion.model_validate(self._json("PATCH", url, {"status": status.value}))

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        data = self._json("GET", f"/models/{_q(name)}/aliases/{_q(alias)}")
        return ModelVersion.model_validate(data)

    def set_alias(self, name: str, alias: str, version: int, *, actor: str = "") -> ModelVersion:
        body = {"version": version, "actor": actor}
        data = self._json("PUT", f"/models/{_q(name)}/aliases/{_q(alias)}", body)
        return ModelVersion.model_validate(data)

    def delete_alias(self, name: str, alias: str, *, actor: str = "") -> None:
        url = f"/models/{_q(name)}/aliases/{_q(alias)}"
        self._json("DELETE", url, params={"actor": actor})

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        params = {"alias": alias} if alias else {}
        data = self._json("GET", f"/models/{_q(name)}/alias-history", params=params)
        return [AliasEvent.model_validate(item) for item in data]

    # --- promotion and approvals -----------------------------------------------------

    def promote(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        reason: str = "",
        override_reason: str | None = None,
    ) -> PromotionResult:
        body = {"alias": alias, "reason": reason, "override_reason": override_reason}
        data = self._json("POST", f"/models/{_q(name)}/versions/{int(version)}/promote", body)
        return PromotionResult.model_validate(data)

    def list_approvals(
        self, *, status: str | None = None, model: str | None = None
    ) -> list[Approval]:
        params = {k: v for k, v in (("status", status), ("model", model)) if v is not None}
        data = self._json("GET", "/approvals", params=params)
        return [Approval.model_validate(item) for item in data]

    def get_approval(self, approval_id: int) -> Approval:
        return Approval.model_validate(self._json("GET", f"/approvals/{int(approval_id)}"))

    def _decide(self, approval_id: int, action: str, comment: str) -> Approval:
        data = self._json("POST", f"/approvals/{int(approval_id)}/{action}", {"comment": comment})
        return Approval.model_validate(data)

    def approve(self, approval_id: int, *, comment: str = "") -> Approval:
        return self._decide(approval_id, "approve", comment)

    def reject(self, approval_id: int, *, comment: str) -> Approval:
        return self._decide(approval_id, "reject", comment)

    def cancel_approval(self, approval_id: int, *, comment: str = "") -> Approval:
        return self._decide(approval_id, "cancel", comment)

    def rollback(self, name: str, alias: str) -> ModelVersion:
        data = self._json("POST", f"/models/{_q(name)}/aliases/{_q(alias)}/rollback")
        return ModelVersion.model_validate(data)

    def model_card(self, name: str, version: int) -> ModelCard:
        url = f"/models/{_q(name)}/versions/{int(version)}/card"
        return ModelCard.model_validate(self._json("GET", url, params={"format": "json"}))

    def model_lineage(self, name: str, version: int) -> Lineage:
        data = self._json("GET", f"/models/{_q(name)}/versions/{int(version)}/lineage")
        return Lineage.model_validate(data)

    def versions_trained_on(self, dataset_version_id: str) -> list[ModelVersion]:
        data = self._json("GET", f"/dataset-versions/{_q(dataset_version_id)}/model-versions")
        return [ModelVersion.model_validate(item) for item in data]

    # --- use cases and gates ----------------------------------------------------------

    def sync_use_case(self, spec: UseCase, *, digest: str | None = None) -> UseCaseSync:
        params = {"digest": digest} if digest else {}
        url = f"/projects/{_q(spec.key)}/use-case"
        data = self._json("PUT", url, spec.model_dump(mode="json"), params=params)
        return UseCaseSync.model_validate(data)

    def get_use_case(self, project: str) -> SyncedUseCase:
        return SyncedUseCase.model_validate(self._json("GET", f"/projects/{_q(project)}/use-case"))

    def record_gate_report(self, name: str, version: int, evaluation: GateEvaluation) -> GateReport:
        check_model_name(name)
        url = f"/models/{_q(name)}/versions/{int(version)}/gate-reports"
        return GateReport.model_validate(
            self._json("POST", url, evaluation.model_dump(mode="json"))
        )

    def list_gate_reports(self, name: str, version: int) -> list[GateReport]:
        url = f"/models/{_q(name)}/versions/{int(version)}/gate-reports"
        return [GateReport.model_validate(item) for item in self._json("GET", url)]

    # --- deployments ------------------------------------------------------------------

    def register_replica(self, deployment: str, **fields: Any) -> Deployment:
        data = self._json("POST", f"/deployments/{_q(deployment)}/replicas", fields)
        return Deployment.model_validate(data)

    def heartbeat(
        self,
        replica_id: str,
        *,
        status: str,
        serving: Mapping[str, Any],
        stats: ServingStats | None = None,
    ) -> None:
        body: dict[str, Any] = {"status": status, "serving": dict(serving)}
        if stats is not None:
            body["stats"] = stats.model_dump(mode="json")
        self._json("PUT", f"/replicas/{_q(replica_id)}/heartbeat", body)

    def serving_window(self, deployment: str, start_ms: int, end_ms: int) -> ServingWindow:
        params = {"start_ms": start_ms, "end_ms": end_ms}
        data = self._json("GET", f"/deployments/{_q(deployment)}/stats", params=params)
        return ServingWindow.model_validate(data)

    def list_deployments(self) -> list[Deployment]:
        return [Deployment.model_validate(d) for d in self._json("GET", "/deployments")]

    def get_deployment(self, name: str) -> Deployment:
        return Deployment.model_validate(self._json("GET", f"/deployments/{_q(name)}"))

    def record_segment(self, deployment: str, segment: Mapping[str, Any]) -> None:
        body = {"segment": dict(segment)}
        self._json("POST", f"/deployments/{_q(deployment)}/segments", body)

    def list_segments(
        self,
        deployment: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        request_id: str | None = None,
    ) -> list[Segment]:
        params = {
            k: v
            for k, v in {"start_ms": start_ms, "end_ms": end_ms, "request_id": request_id}.items()
            if v is not None
        }
        data = self._json("GET", f"/deployments/{_q(deployment)}/segments", params=params)
        return [Segment.model_validate(item) for item in data]

    def store_feedback(self, deployment: str, labels: Sequence[tuple[str, str]]) -> int:
        body = {"labels": [list(pair) for pair in labels]}
        return int(self._json("POST", f"/deployments/{_q(deployment)}/feedback", body)["stored"])

    def get_feedback(self, deployment: str, request_ids: Sequence[str]) -> dict[str, str]:
        body = {"request_ids": list(request_ids)}
        url = f"/deployments/{_q(deployment)}/feedback/lookup"
        result: dict[str, str] = self._json("POST", url, body)
        return result

    # --- monitoring -------------------------------------------------------------------

    def create_monitor(
        self,
        name: str,
        *,
        deployment: str,
        window_seconds: int,
        schedule: str,
        config: Mapping[str, Any] | None = None,
    ) -> Monitor:
        body = {
            "name": name,
            "deployment": deployment,
            "window": window_seconds,
            "schedule": schedule,
            "config": dict(config or {}),
        }
        return Monitor.model_validate(self._json("POST", "/monitors", body))

    def get_monitor(self, name: str) -> Monitor:
        return Monitor.model_validate(self._json("GET", f"/monitors/{_q(name)}"))

    def list_monitors(self, *, deployment: str | None = None) -> list[Monitor]:
        params = {"deployment": deployment} if deployment else {}
        return [Monitor.model_validate(m) for m in self._json("GET", "/monitors", params=params)]

    def update_monitor(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        schedule: str | None = None,
        window_seconds: int | None = None,
    ) -> Monitor:
        body = {"enabled": enabled, "schedule": schedule, "window": window_seconds}
        return Monitor.model_validate(self._json("PATCH", f"/monitors/{_q(name)}", body))

    def delete_monitor(self, name: str) -> None:
        self._json("DELETE", f"/monitors/{_q(name)}")

    def run_monitor(self, name: str, *, end: datetime | None = None) -> MonitorResult:
        body = {"end": end.isoformat() if end else None}
        return MonitorResult.model_validate(self._json("POST", f"/monitors/{_q(name)}/run", body))

    def monitor_history(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 500,
    ) -> list[MonitorResult]:
        params: dict[str, Any] = {"limit": limit}
        if start is not None:
            params["start"] = start.isoformat()
        if end is not None:
            params["end"] = end.isoformat()
        found = self._json("GET", f"/monitors/{_q(name)}/results", params=params)
        return [MonitorResult.model_validate(r) for r in found]

    def monitor_report(self, name: str, *, last_seconds: int = 7 * 86400) -> dict[str, Any]:
        params = {"last": f"{last_seconds}s", "format": "json"}
        report: dict[str, Any] = self._json("GET", f"/monitors/{_q(name)}/report", params=params)
        return report

    def log_kpi(
        self, deployment: str, name: str, value: float, time: datetime | None = None
    ) -> Kpi:
        check_kpi_name(name)  # JSON has no infinity: refuse here with the server's words
        value = check_kpi_value(name, value)
        body = {"name": name, "value": value, "time": time.isoformat() if time else None}
        return Kpi.model_validate(self._json("POST", f"/deployments/{_q(deployment)}/kpis", body))

    def list_kpis(
        self,
        deployment: str,
        *,
        name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Kpi]:
        params: dict[str, Any] = {}
        if name is not None:
            params["name"] = name
        if start is not None:
            params["start"] = start.isoformat()
        if end is not None:
            params["end"] = end.isoformat()
        found = self._json("GET", f"/deployments/{_q(deployment)}/kpis", params=params)
        return [Kpi.model_validate(k) for k in found]

    # --- alerts -----------------------------------------------------------------------

    def create_alert_channel(self, name: str, kind: str, config: Mapping[str, Any]) -> Channel:
        body = {"name": name, "kind": kind, "config": dict(config)}
        return Channel.model_validate(self._json("POST", "/alerts/channels", body))

    def list_alert_channels(self) -> list[Channel]:
        return [Channel.model_validate(c) for c in self._json("GET", "/alerts/channels")]

    def get_alert_channel(self, name: str) -> Channel:
        return Channel.model_validate(self._json("GET", f"/alerts/channels/{_q(name)}"))

    def delete_alert_channel(self, name: str) -> None:
        self._json("DELETE", f"/alerts/channels/{_q(name)}")

    def test_alert_channel(self, name: str) -> ChannelTest:
        data = self._json("POST", f"/alerts/channels/{_q(name)}/test")
        return ChannelTest.model_validate(data)

    def create_alert_rule(
        self,
        name: str,
        *,
        condition: str,
        for_seconds: int = 0,
        severity: str = "warning",
        monitor: str | None = None,
        channels: Sequence[str] = (),
        description: str = "",
    ) -> AlertRule:
        body = {
            "name": name,
            "condition": condition,
            "for_seconds": for_seconds,
            "severity": severity,
            "monitor": monitor,
            "channels": list(channels),
            "description": description,
        }
        return AlertRule.model_validate(self._json("POST", "/alerts/rules", body))

    def list_alert_rules(self) -> list[AlertRule]:
        return [AlertRule.model_validate(r) for r in self._json("GET", "/alerts/rules")]

    def get_alert_rule(self, name: str) -> AlertRule:
        return AlertRule.model_validate(self._json("GET", f"/alerts/rules/{_q(name)}"))

    def delete_alert_rule(self, name: str) -> None:
        self._json("DELETE", f"/alerts/rules/{_q(name)}")

    def set_alert_rule_enabled(self, name: str, enabled: bool) -> AlertRule:
        data = self._json("PATCH", f"/alerts/rules/{_q(name)}", {"enabled": enabled})
        return AlertRule.model_validate(data)

    def list_alerts(
        self,
        *,
        state: str | None = None,
        rule: str | None = None,
        monitor: str | None = None,
        limit: int = 1000,
    ) -> list[Alert]:
        params = {
            k: v
            for k, v in {"state": state, "rule": rule, "monitor": monitor, "limit": limit}.items()
            if v is not None
        }
        return [Alert.model_validate(a) for a in self._json("GET", "/alerts", params=params)]

    def list_alert_notifications(
        self, *, status: str | None = None, limit: int = 1000
    ) -> list[Notification]:
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        found = self._json("GET", "/alerts/notifications", params=params)
        return [Notification.model_validate(n) for n in found]

    def retry_alert_notification(self, notification_id: int) -> Notification:
        data = self._json("POST", f"/alerts/notifications/{notification_id}/retry")
        return Notification.model_validate(data)

    def deliver_alert_notifications(self, *, limit: int = 100) -> DeliveryReport:
        data = self._json("POST", "/alerts/notifications/deliver", {"limit": limit})
        return DeliveryReport.model_validate(data)

    def export_prometheus_rules(self, *, window: str = "5m") -> str:
        response = self._request(
            "GET", "/alerts/rules/export/prometheus", params={"window": window}
        )
        return response.text

    # --- audit ------------------------------------------------------------------------

    def list_audit_events(
        self,
        *,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        project: str | None = None,
        actor: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[AuditEvent]:
        filters = {
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "project": project,
            "actor": actor,
        }
        params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        params.update(after_id=after_id, limit=limit)
        return [AuditEvent.model_validate(e) for e in self._json("GET", "/audit", params=params)]

    def verify_audit(self) -> AuditVerification:
        return AuditVerification.model_validate(self._json("GET", "/audit/verify"))

    # --- users and tokens -------------------------------------------------------------

    def create_user(
        self, name: str, *, display_name: str = "", email: str = "", admin: bool = False
    ) -> User:
        body = {"name": name, "display_name": display_name, "email": email, "admin": admin}
        return User.model_validate(self._json("POST", "/users", body))

    def get_user(self, name: str) -> User:
        return User.model_validate(self._json("GET", f"/users/{_q(name)}"))

    def list_users(self) -> list[User]:
        return [User.model_validate(u) for u in self._json("GET", "/users")]

    def set_user_disabled(self, name: str, disabled: bool) -> User:
        return User.model_validate(
            self._json("PATCH", f"/users/{_q(name)}", {"disabled": disabled})
        )

    def grant_role(self, user: str, project: str, role: Role) -> User:
        path = f"/users/{_q(user)}/roles/{_q(project)}"
        return User.model_validate(self._json("PUT", path, {"role": Role(role).value}))

    def revoke_role(self, user: str, project: str) -> User:
        return User.model_validate(self._json("DELETE", f"/users/{_q(user)}/roles/{_q(project)}"))

    def create_token(self, user: str, *, name: str, expires_in: timedelta | None) -> CreatedToken:
        seconds = None if expires_in is None else max(1, int(expires_in.total_seconds()))
        body = {"name": name, "expires_in_seconds": seconds}
        return CreatedToken.model_validate(self._json("POST", f"/users/{_q(user)}/tokens", body))

    def list_tokens(self, user: str) -> list[Token]:
        return [Token.model_validate(t) for t in self._json("GET", f"/users/{_q(user)}/tokens")]

    def revoke_token(self, user: str, token_id: str) -> Token:
        path = f"/users/{_q(user)}/tokens/{_q(token_id)}"
        return Token.model_validate(self._json("DELETE", path))

    def whoami(self) -> Identity:
        """Who the server takes this client for (``GET /me``): checks the token, too."""
        return Identity.model_validate(self._json("GET", "/me"))

    # --- maintenance ------------------------------------------------------------------

    def gc(self, older_than: timedelta | None = None) -> GcReport:
        body = {"older_than_seconds": None if older_than is None else older_than.total_seconds()}
        return GcReport.model_validate(self._json("POST", "/gc", body))
