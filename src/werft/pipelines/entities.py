"""Pipelines and pipeline runs as the API and the CLI show them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Trigger(StrEnum):
    """What started a pipeline run."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    ALERT = "alert"
    DATASET = "dataset"
    REPRODUCE = "reproduce"


class PipelineStatus(StrEnum):
    """Where a pipeline run stands.

    ``queued`` → ``training`` → ``gating`` → ``promoting`` → one of the ends:
    ``succeeded`` (candidate validated, nothing to promote), ``promoted`` (the
    alias moved), ``awaiting_approval`` (a request is open — it becomes
    ``promoted`` or ``rejected`` when decided), ``gate_failed``, ``failed``,
    ``cancelled``, ``timed_out``.
    """

    QUEUED = "queued"
    TRAINING = "training"
    GATING = "gating"
    PROMOTING = "promoting"
    SUCCEEDED = "succeeded"
    PROMOTED = "promoted"
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    GATE_FAILED = "gate_failed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def is_active(self) -> bool:
        """Still working: a second run for the same cause is not started meanwhile."""
        return self in (
            PipelineStatus.QUEUED,
            PipelineStatus.TRAINING,
            PipelineStatus.GATING,
            PipelineStatus.PROMOTING,
        )


def decided_status(status: PipelineStatus, approval_status: str | None) -> PipelineStatus:
    """Where a run ended once its approval request is decided (later, elsewhere):
    ``awaiting_approval`` reads ``promoted`` when approved, ``rejected`` when
    rejected or cancelled; every other status stays."""
    if status is not PipelineStatus.AWAITING_APPROVAL:
        return status
    if approval_status == "approved":
        return PipelineStatus.PROMOTED
    if approval_status in ("rejected", "cancelled"):
        return PipelineStatus.REJECTED
    return status


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class CodeVersion(_Entity):
    """The code a pipeline runs: a snapshot of the repository in the blob store.

    Attributes:
        digest: ``sha256:<hex>`` of the snapshot (a tar.gz of the repository).
        commit: The git commit it was taken at ("" outside git).
        dirty: Whether the work tree had uncommitted changes (then the snapshot,
            not the commit, is what ran).
    """

    digest: str
    commit: str = ""
    dirty: bool = False


class Pipeline(_Entity):
    """A project's training pipeline as last synced."""

    project: str
    spec: dict[str, Any]
    code: CodeVersion
    trigger_state: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime
    updated_by: str = ""


class PipelineRun(_Entity):
    """One retraining and every link it made.

    Attributes:
        id: The run's number.
        project: The use case (project key).
        trigger: What started it; ``trigger_detail`` says which (the cron expression,
            the alert rule, ``customers@7``, the reproduced run id).
        cause: Details of the trigger (the alert's id and value, the dataset version).
        status: See :class:`PipelineStatus`.
        params: The params the entrypoint got.
        data: Role → pinned dataset reference (``customers@7``).
        spec: The ``training`` section it ran with (as synced; ``data`` unpinned).
        code: The code snapshot it ran.
        training_run_id: The tracked run.
        model / version: The candidate version it registered.
        gate_report_id / gate_passed: The gate's report and verdict.
        approval_id / approval_status: The approval request, where the policy asks for one.
        alias / alias_moved_at: The alias it moved (directly or once approved).
    """

    id: int
    project: str
    trigger: Trigger
    trigger_detail: str = ""
    cause: dict[str, Any] = Field(default_factory=dict)
    status: PipelineStatus
    params: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, str] = Field(default_factory=dict)
    code: CodeVersion
    spec: dict[str, Any] = Field(default_factory=dict)
    executor: str
    job_id: str = ""
    training_run_id: str | None = None
    model: str | None = None
    version: int | None = None
    gate_report_id: int | None = None
    gate_passed: bool | None = None
    approval_id: int | None = None
    approval_status: str | None = None
    alias: str = ""
    alias_moved_at: datetime | None = None
    exit_code: int | None = None
    error: str = ""
    logs: str = ""
    cancel_requested: bool = False
    created_by: str = ""
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def entrypoint(self) -> str:
        """The entrypoint it ran (``train.py:main``)."""
        return str(self.spec.get("entrypoint", ""))


class PipelineRunUpdate(BaseModel):
    """What the process executing a run reports; fields left None stay as they are."""

    model_config = ConfigDict(extra="forbid")

    status: PipelineStatus | None = None
    job_id: str | None = None
    training_run_id: str | None = None
    model: str | None = None
    version: int | None = None
    gate_report_id: int | None = None
    approval_id: int | None = None
    alias: str | None = None
    alias_moved: bool | None = None
    exit_code: int | None = None
    error: str | None = Field(default=None, max_length=100_000)
    logs: str | None = Field(default=None, max_length=1_000_000)


class NewPipelineRun(BaseModel):
    """A run to create (manual ``werft train`` or ``werft reproduce``)."""

    model_config = ConfigDict(extra="forbid")

    trigger: Trigger = Trigger.MANUAL
    trigger_detail: str = Field(default="", max_length=300)
    cause: dict[str, Any] = Field(default_factory=dict)
    cause_key: str | None = Field(default=None, max_length=300)
    spec: dict[str, Any]
    data: dict[str, str] = Field(default_factory=dict)
    code: CodeVersion
    start: bool = True
