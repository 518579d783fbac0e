"""The tables of continuous training: a project's pipeline and its runs.

Kept beside :mod:`werft.store.models` (which imports this module, so the
tables are part of ``Base.metadata``) to keep that module a readable size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from werft.store.models import Base


class PipelineRow(Base):
    """A project's training pipeline: the ``training`` section of its werft.yaml and its code."""

    __tablename__ = "pipelines"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    spec: Mapped[dict[str, Any]] = mapped_column()
    code_digest: Mapped[str] = mapped_column(String(80))  # blob: tar.gz of the repository
    code_commit: Mapped[str] = mapped_column(String(64), default="")
    code_dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    # Per trigger, what it has seen: the next schedule time, the last alert fired,
    # the newest dataset version. Claimed by bumping state_version.
    trigger_state: Mapped[dict[str, Any]] = mapped_column()
    state_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class PipelineRunRow(Base):
    """One retraining: trigger → training run → candidate → gate → approval → alias move."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (
        # While a run for a cause is active, a second one for the same cause cannot be
        # inserted; NULL (a finished run, or a manual one) never collides.
        UniqueConstraint("project_id", "active_cause"),
        Index("ix_pipeline_runs_project_created", "project_id", "created_at"),
        Index("ix_pipeline_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))  # manual|schedule|alert|dataset|reproduce
    trigger_detail: Mapped[str] = mapped_column(String(300), default="")
    cause: Mapped[dict[str, Any]] = mapped_column()
    active_cause: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    spec: Mapped[dict[str, Any]] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column()  # role -> NAME@N, pinned
    code_digest: Mapped[str] = mapped_column(String(80))
    code_commit: Mapped[str] = mapped_column(String(64), default="")
    code_dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    executor: Mapped[str] = mapped_column(String(300))
    job_id: Mapped[str] = mapped_column(String(200), default="")
    training_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    model_version_id: Mapped[str | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    gate_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("gate_reports.id", ondelete="SET NULL")
    )
    approval_id: Mapped[int | None] = mapped_column(
        ForeignKey("approval_requests.id", ondelete="SET NULL")
    )
    alias: Mapped[str] = mapped_column(String(100), default="")
    alias_moved_at: Mapped[datetime | None]
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    logs: Mapped[str] = mapped_column(Text, default="")  # the end; the whole log is an artifact
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
