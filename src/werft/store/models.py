"""The metadata store's tables (SQLAlchemy 2 typed ORM).

The schema is owned by the Alembic migrations in ``werft.store.migrations``;
these classes must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class ProjectRow(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_project_start", "project_id", "start_time"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    user: Mapped[str] = mapped_column(String(250), default="")
    source_file: Mapped[str | None] = mapped_column(String(1000))
    git_commit: Mapped[str | None] = mapped_column(String(64))
    git_dirty: Mapped[bool | None]
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deleted_at: Mapped[datetime | None]


class ParamRow(Base):
    __tablename__ = "params"
    __table_args__ = (Index("ix_params_key_value", "key", "value"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TagRow(Base):
    __tablename__ = "tags"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MetricRow(Base):
    """One point of a metric's history.

    NaN cannot be stored faithfully in SQLite (it becomes NULL), so NaN is
    kept as ``is_nan`` with ``value`` 0; ±inf are stored as they are.
    """

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_key_step", "run_id", "key", "step"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)


class LatestMetricRow(Base):
    """The latest point per (run, key): highest step, then newest timestamp.

    Kept beside the history so that searching 10,000 runs by a metric reads
    one indexed row per run instead of scanning every history.
    """

    __tablename__ = "latest_metrics"
    __table_args__ = (Index("ix_latest_metrics_key_value", "key", "value"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    is_nan: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[int] = mapped_column(BigInteger)
    timestamp: Mapped[int] = mapped_column(BigInteger)


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    digest: Mapped[str] = mapped_column(String(80), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class DatasetVersionRow(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("project_id", "name", "version"),
        UniqueConstraint("project_id", "name", "digest"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(80))
    row_count: Mapped[int] = mapped_column(BigInteger)
    schema_: Mapped[list[Any]] = mapped_column("schema", JSON)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_uri: Mapped[str | None] = mapped_column(String(2000))
    data_digest: Mapped[str | None] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime]


class RunInputRow(Base):
    __tablename__ = "run_inputs"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    dataset_version_id: Mapped[str] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    context: Mapped[str] = mapped_column(String(100), primary_key=True)


class RegisteredModelRow(Base):
    __tablename__ = "registered_models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(250), unique=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    artifact_path: Mapped[str] = mapped_column(String(1000))
    content_hash: Mapped[str] = mapped_column(String(80))
    # Every file of the package (manifest included) -> blob digest: the version
    # keeps its blobs referenced even after its run is purged.
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    flavor: Mapped[str] = mapped_column(String(50))
    model_class: Mapped[str] = mapped_column(String(250))
    signature: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    onnx: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(250), default="")
    created_at: Mapped[datetime]


class AliasRow(Base):
    __tablename__ = "model_aliases"

    model_id: Mapped[str] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime]


class AliasEventRow(Base):
    """History of alias moves: who moved which alias from which version to which."""

    __tablename__ = "model_alias_events"
    __table_args__ = (Index("ix_model_alias_events_model_alias", "model_id", "alias"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    model_id: Mapped[str] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(100))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(250), default="")
    at: Mapped[datetime]


class DeploymentRow(Base):
    """A named deployment: which model alias it serves and how."""

    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(250), unique=True)
    models: Mapped[dict[str, Any]] = mapped_column(JSON)  # name -> {"alias": ..., "canary": ...}
    strategy: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReplicaRow(Base):
    """One serving process of a deployment, alive while its heartbeat is fresh."""

    __tablename__ = "deployment_replicas"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(250))
    host: Mapped[str] = mapped_column(String(250))
    pid: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    serving: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # model -> versions
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class PredictionSegmentRow(Base):
    """A Parquet segment of a deployment's prediction log, with its histograms."""

    __tablename__ = "prediction_segments"
    __table_args__ = (
        Index("ix_prediction_segments_deployment_start", "deployment_id", "start_ms"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(80), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    request_id_min: Mapped[str] = mapped_column(String(64))
    request_id_max: Mapped[str] = mapped_column(String(64))
    models: Mapped[dict[str, Any]] = mapped_column(JSON)
    histograms: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class FeedbackRow(Base):
    """Ground truth for a logged prediction, arriving later."""

    __tablename__ = "feedback"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class ServingStatsRow(Base):
    """One replica's request counts and latency buckets over one heartbeat interval."""

    __tablename__ = "serving_stats"
    __table_args__ = (Index("ix_serving_stats_deployment_end", "deployment_id", "end_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    replica_id: Mapped[str] = mapped_column(String(32))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    requests: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)  # 5xx answers
    rejected: Mapped[int] = mapped_column(BigInteger)  # 4xx answers (invalid input)
    latency: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"bounds": [...], "counts": [...]}
    rejected_fields: Mapped[dict[str, Any]] = mapped_column(JSON)  # field -> count


class KpiRow(Base):
    """A business KPI value of a deployment's use case at a point in time."""

    __tablename__ = "kpis"
    __table_args__ = (Index("ix_kpis_deployment_name_time", "deployment_id", "name", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    value: Mapped[float] = mapped_column(Float)
    time: Mapped[datetime]


class MonitorRow(Base):
    """A scheduled check of a deployment's prediction log against a reference."""

    __tablename__ = "monitors"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(250), unique=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    window_seconds: Mapped[int] = mapped_column(Integer)
    schedule: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # reference, methods, thresholds
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MonitorResultRow(Base):
    """What one evaluation of a monitor found in one window."""

    __tablename__ = "monitor_results"
    __table_args__ = (Index("ix_monitor_results_monitor_end", "monitor_id", "window_end"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor_id: Mapped[str] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    computed_at: Mapped[datetime]
    rows: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # ok | drift | no_data
    drift_share: Mapped[float | None] = mapped_column(Float)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)  # flat name -> number, for rules
    result: Mapped[dict[str, Any]] = mapped_column(JSON)  # the whole report


class ChannelRow(Base):
    """Where alert notifications go: a webhook or an e-mail address list."""

    __tablename__ = "alert_channels"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(250), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | email
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class AlertRuleRow(Base):
    """A condition on monitor results, serving metrics or KPIs, held for a duration."""

    __tablename__ = "alert_rules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(250), unique=True)
    condition: Mapped[str] = mapped_column(Text)
    for_seconds: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    monitor: Mapped[str | None] = mapped_column(String(250))  # None: every monitor
    channels: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"names": [...]}
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class AlertRow(Base):
    """One alert instance of a rule for one monitor: pending, firing, then resolved."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_monitor_state", "rule_id", "monitor", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    monitor: Mapped[str] = mapped_column(String(250))
    state: Mapped[str] = mapped_column(String(16))  # pending | firing | resolved
    value: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    pending_since: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime]


class NotificationRow(Base):
    """A message to a channel about an alert or an approval request; kept until sent or
    given up, never dropped. Exactly one of ``alert_id`` and ``approval_id`` is set."""

    __tablename__ = "alert_notifications"
    __table_args__ = (
        Index("ix_alert_notifications_status_due", "status", "next_attempt_at"),
        CheckConstraint("(alert_id IS NULL) <> (approval_id IS NULL)", name="one_subject"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    approval_id: Mapped[int | None] = mapped_column(
        ForeignKey("approval_requests.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[str] = mapped_column(ForeignKey("alert_channels.id", ondelete="CASCADE"))
    # firing | resolved (alerts); requested | approved | rejected | cancelled (approvals)
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class UserRow(Base):
    """A person (or a CI robot) who signs in with API tokens."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(250), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # admin of every project
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class TokenRow(Base):
    """An API token: only its hash is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)  # to find the row quickly
    hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RoleBindingRow(Base):
    """A user's role in one project: viewer, member, approver or admin."""

    __tablename__ = "role_bindings"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class AuditEventRow(Base):
    """One state change, chained to the one before by its hash; never updated."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(250))
    project: Mapped[str | None] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class UseCaseRow(Base):
    """A project's use case as declared in its werft.yaml (the last synced version)."""

    __tablename__ = "use_cases"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(80))  # sha256 of the file as synced
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class GateReportRow(Base):
    """What `werft check` found for one model version on one evaluation dataset."""

    __tablename__ = "gate_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    passed: Mapped[bool] = mapped_column(Boolean)
    data_digest: Mapped[str] = mapped_column(String(80), default="")
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100), default="")


class ApprovalRow(Base):
    """A request to move an alias to a version, decided by someone other than the requester."""

    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_version_id: Mapped[str] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), index=True
    )
    alias: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))  # pending|approved|rejected|cancelled
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    gate_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("gate_reports.id", ondelete="SET NULL")
    )
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    override_reason: Mapped[str] = mapped_column(Text, default="")


# The pipeline tables live in their own module; importing it here puts them into
# Base.metadata wherever the models are imported (migrations, schema checks).
from werft.store import pipeline_models as _pipeline_models  # noqa: E402, F401
