"""Registry entities: registered models, versions, aliases, lineage."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from werft.tracking.entities import DatasetInput


class VersionStatus(StrEnum):
    """Where a version stands on its way to production."""

    CANDIDATE = "candidate"
    VALIDATED = "validated"
    APPROVED = "approved"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class RegisteredModel(_Entity):
    """A named model of a project; its versions are numbered 1, 2, ..."""

    id: str
    name: str
    project: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: dict[str, int] = Field(default_factory=dict)
    latest_version: int | None = None
    created_at: datetime
    updated_at: datetime


class ModelVersion(_Entity):
    """One registered package of a model, traceable to its run."""

    id: str
    name: str
    version: int
    project: str
    run_id: str | None
    artifact_path: str
    content_hash: str
    files: dict[str, str]
    flavor: str
    model_class: str
    signature: dict[str, Any]
    metrics: dict[str, Any] = Field(default_factory=dict)
    onnx: dict[str, Any] | None = None
    status: VersionStatus
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    created_by: str = ""
    created_at: datetime

    @property
    def uri(self) -> str:
        """``models:/name/version``."""
        return f"models:/{self.name}/{self.version}"


class AliasEvent(_Entity):
    """One move of an alias (``from_version`` None: set first; ``to_version`` None: deleted)."""

    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    at: datetime


class SourceCode(_Entity):
    """The code version a run was trained with."""

    source_file: str | None
    git_commit: str | None
    git_dirty: bool | None


class PipelineLink(_Entity):
    """The pipeline run that trained a version: what triggered it and where it led."""

    id: int
    trigger: str
    trigger_detail: str = ""
    status: str
    code_digest: str
    gate_report_id: int | None = None
    approval_id: int | None = None
    alias: str = ""


class Lineage(_Entity):
    """From a version back to the run, its params and metrics, data and code.

    ``pipeline_run`` is set when a training pipeline produced the version
    (``werft train`` or a trigger).
    """

    version: ModelVersion
    run_id: str | None
    run_name: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    datasets: list[DatasetInput] = Field(default_factory=list)
    code: SourceCode | None = None
    environment: dict[str, Any] = Field(default_factory=dict)
    pipeline_run: PipelineLink | None = None
