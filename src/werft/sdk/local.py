"""The local backend: the domain services in this process, no server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from werft.config import Settings
from werft.deploy.entities import Deployment, Segment, ServingStats, ServingWindow
from werft.gates.entities import GateEvaluation, GateReport
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
from werft.monitoring.entities import Kpi, Monitor, MonitorResult
from werft.monitoring.prometheus_rules import export_rules
from werft.registry.entities import (
    AliasEvent,
    Lineage,
    ModelVersion,
    RegisteredModel,
    VersionStatus,
)
from werft.services import Services, build_services
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


class LocalBackend:
    """Implements :class:`werft.sdk.backend.Backend` on in-process services."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBackend:
        return cls(build_services(settings))

    def close(self) -> None:
        self.services.close()

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

    # registry
    def create_model(self, name: str, project: str, *, description: str = "") -> RegisteredModel:
        return self.services.registry.create_model(name, project, description=description)

    def get_model(self, name: str) -> RegisteredModel:
        return self.services.registry.get_model(name)

    def list_models(
        self, *, project: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> Page[RegisteredModel]:
        return self.services.registry.list_models(project=project, limit=limit, cursor=cursor)

    def create_model_version(self, name: str, **fields: Any) -> ModelVersion:
        return self.services.registry.create_version(name, **fields)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return self.services.registry.get_version(name, version)

    def list_model_versions(
        self, name: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[ModelVersion]:
        return self.services.registry.list_versions(name, limit=limit, cursor=cursor)

    def set_version_status(self, name: str, version: int, status: VersionStatus) -> ModelVersion:
        return self.services.registry.set_status(name, version, status)

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        return self.services.registry.get_alias(name, alias)

    def set_alias(self, name: str, alias: str, version: int, *, actor: str = "") -> ModelVersion:
        return self.services.registry.set_alias(name, alias, version, actor=actor)

    def delete_alias(self, name: str, alias: str, *, actor: str = "") -> None:
        self.services.registry.delete_alias(name, alias, actor=actor)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        return self.services.registry.alias_history(name, alias)

    # promotion and approvals
    def promote(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        reason: str = "",
        override_reason: str | None = None,
    ) -> PromotionResult:
        return self.services.promotions.promote(
            name, version, alias, reason=reason, override_reason=override_reason
        )

    def list_approvals(
        self, *, status: str | None = None, model: str | None = None
    ) -> list[Approval]:
        return self.services.promotions.list_requests(status=status, model=model)

    def get_approval(self, approval_id: int) -> Approval:
        return self.services.promotions.get(approval_id)

    def approve(self, approval_id: int, *, comment: str = "") -> Approval:
        return self.services.promotions.approve(approval_id, comment=comment)

    def reject(self, approval_id: int, *, comment: str) -> Approval:
        return self.services.promotions.reject(approval_id, comment=comment)

    def cancel_approval(self, approval_id: int, *, comment: str = "") -> Approval:
        return self.services.promotions.cancel(approval_id, comment=comment)

    def rollback(self, name: str, alias: str) -> ModelVersion:
        return self.services.promotions.rollback(name, alias)

    def model_card(self, name: str, version: int) -> ModelCard:
        return self.services.cards.build(name, version)

    def model_lineage(self, name: str, version: int) -> Lineage:
        return self.services.registry.lineage(name, version)

    def versions_trained_on(self, dataset_version_id: str) -> list[ModelVersion]:
        return self.services.registry.versions_trained_on(dataset_version_id)

    # use cases and gates
    def sync_use_case(self, spec: UseCase, *, digest: str | None = None) -> UseCaseSync:
        return self.services.use_cases.sync(spec, digest)

    def get_use_case(self, project: str) -> SyncedUseCase:
        return self.services.use_cases.get_synced(project)

    def record_gate_report(self, name: str, version: int, evaluation: GateEvaluation) -> GateReport:
        return self.services.gates.record(name, version, evaluation)

    def list_gate_reports(self, name: str, version: int) -> list[GateReport]:
        return self.services.gates.list_reports(name, version)

    # deployments
    def register_replica(self, deployment: str, **fields: Any) -> Deployment:
        return self.services.deployments.register_replica(deployment, **fields)

    def heartbeat(
        self,
        replica_id: str,
        *,
        status: str,
        serving: Mapping[str, Any],
        stats: ServingStats | None = None,
    ) -> None:
        self.services.deployments.heartbeat(replica_id, status=status, serving=serving, stats=stats)

    def serving_window(self, deployment: str, start_ms: int, end_ms: int) -> ServingWindow:
        return self.services.deployments.serving_window(deployment, start_ms, end_ms)

    def list_deployments(self) -> list[Deployment]:
        return self.services.deployments.list_deployments()

    def get_deployment(self, name: str) -> Deployment:
        return self.services.deployments.get(name)

    def record_segment(self, deployment: str, segment: Mapping[str, Any]) -> None:
        self.services.deployments.record_segment(deployment, segment)

    def list_segments(
        self,
        deployment: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        request_id: str | None = None,
    ) -> list[Segment]:
        return self.services.deployments.segments(
            deployment, start_ms=start_ms, end_ms=end_ms, request_id=request_id
        )

    def store_feedback(self, deployment: str, labels: Sequence[tuple[str, str]]) -> int:
        return self.services.deployments.store_feedback(deployment, labels)

    def get_feedback(self, deployment: str, request_ids: Sequence[str]) -> dict[str, str]:
        return self.services.deployments.feedback(deployment, request_ids)

    # maintenance
    # monitoring
    def create_monitor(
        self,
        name: str,
        *,
        deployment: str,
        window_seconds: int,
        schedule: str,
        config: Mapping[str, Any] | None = None,
    ) -> Monitor:
        return self.services.monitors.create(
            name,
            deployment=deployment,
            window_seconds=window_seconds,
            schedule=schedule,
            config=config,
        )

    def get_monitor(self, name: str) -> Monitor:
        return self.services.monitors.get(name)

    def list_monitors(self, *, deployment: str | None = None) -> list[Monitor]:
        return self.services.monitors.list_monitors(deployment=deployment)

    def update_monitor(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        schedule: str | None = None,
        window_seconds: int | None = None,
    ) -> Monitor:
        return self.services.monitors.update(
            name, enabled=enabled, schedule=schedule, window_seconds=window_seconds
        )

    def delete_monitor(self, name: str) -> None:
        self.services.monitors.delete(name)

    def run_monitor(self, name: str, *, end: datetime | None = None) -> MonitorResult:
        return self.services.monitors.run(name, end=end)

    def monitor_history(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 500,
    ) -> list[MonitorResult]:
        return self.services.monitors.history(name, start=start, end=end, limit=limit)

    def monitor_report(self, name: str, *, last_seconds: int = 7 * 86400) -> dict[str, Any]:
        monitors = self.services.monitors
        start = monitors.now() - timedelta(seconds=last_seconds)
        return monitors.report(name, start=start, alerts=self.services.alerts.list_alerts)

    def log_kpi(
        self, deployment: str, name: str, value: float, time: datetime | None = None
    ) -> Kpi:
        return self.services.kpis.log(deployment, name, value, time)

    def list_kpis(
        self,
        deployment: str,
        *,
        name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Kpi]:
        return self.services.kpis.list_kpis(deployment, name=name, start=start, end=end)

    # alerts
    def create_alert_channel(self, name: str, kind: str, config: Mapping[str, Any]) -> Channel:
        return self.services.alerts.create_channel(name, kind, config)

    def list_alert_channels(self) -> list[Channel]:
        return self.services.alerts.list_channels()

    def get_alert_channel(self, name: str) -> Channel:
        return self.services.alerts.get_channel(name)

    def delete_alert_channel(self, name: str) -> None:
        self.services.alerts.delete_channel(name)

    def test_alert_channel(self, name: str) -> ChannelTest:
        return self.services.alerts.test_channel(name)

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
        return self.services.alerts.create_rule(
            name,
            condition=condition,
            for_seconds=for_seconds,
            severity=severity,
            monitor=monitor,
            channels=channels,
            description=description,
        )

    def list_alert_rules(self) -> list[AlertRule]:
        return self.services.alerts.list_rules()

    def get_alert_rule(self, name: str) -> AlertRule:
        return self.services.alerts.get_rule(name)

    def delete_alert_rule(self, name: str) -> None:
        self.services.alerts.delete_rule(name)

    def set_alert_rule_enabled(self, name: str, enabled: bool) -> AlertRule:
        if enabled:
            return self.services.alerts.enable_rule(name)
        return self.services.alerts.disable_rule(name)

    def list_alerts(
        self,
        *,
        state: str | None = None,
        rule: str | None = None,
        monitor: str | None = None,
        limit: int = 1000,
    ) -> list[Alert]:
        return self.services.alerts.list_alerts(
            state=state, rule=rule, monitor=monitor, limit=limit
        )

    def list_alert_notifications(
        self, *, status: str | None = None, limit: int = 1000
    ) -> list[Notification]:
        return self.services.alerts.list_notifications(status=status, limit=limit)

    def retry_alert_notification(self, notification_id: int) -> Notification:
        return self.services.alerts.retry_notification(notification_id)

    def deliver_alert_notifications(self, *, limit: int = 100) -> DeliveryReport:
        return self.services.alerts.deliver_due(limit=limit)

    def export_prometheus_rules(self, *, window: str = "5m") -> str:
        return export_rules(self.services.alerts.list_rules(), window=window)

    # audit
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
        return self.services.audit.list_events(
            action=action,
            object_type=object_type,
            object_id=object_id,
            project=project,
            actor=actor,
            after_id=after_id,
            limit=limit,
        )

    def verify_audit(self) -> AuditVerification:
        return self.services.audit.verify()

    # users (local mode talks to the database directly: no token, no role check)
    def create_user(
        self, name: str, *, display_name: str = "", email: str = "", admin: bool = False
    ) -> User:
        return self.services.users.create_user(
            name, display_name=display_name, email=email, admin=admin
        )

    def get_user(self, name: str) -> User:
        return self.services.users.get_user(name)

    def list_users(self) -> list[User]:
        return self.services.users.list_users()

    def set_user_disabled(self, name: str, disabled: bool) -> User:
        if disabled:
            return self.services.users.disable_user(name)
        return self.services.users.enable_user(name)

    def grant_role(self, user: str, project: str, role: Role) -> User:
        return self.services.users.grant(user, project, role)

    def revoke_role(self, user: str, project: str) -> User:
        return self.services.users.revoke(user, project)

    def create_token(self, user: str, *, name: str, expires_in: timedelta | None) -> CreatedToken:
        return self.services.users.create_token(user, name=name, expires_in=expires_in)

    def list_tokens(self, user: str) -> list[Token]:
        return self.services.users.list_tokens(user)

    def revoke_token(self, user: str, token_id: str) -> Token:
        return self.services.users.revoke_token(token_id, user=user)

    def whoami(self) -> Identity:
        return self.services.users.identity(None)

    def gc(self, older_than: timedelta | None = None) -> GcReport:
        return self.services.gc.collect(older_than=older_than)
