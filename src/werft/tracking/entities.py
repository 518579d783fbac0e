"""Tracking entities: what services return and the API sends.

These are the contract between the domain, the REST API and the SDK: the
server serialises them, the HTTP client parses them back into the same types,
so local and remote mode hand users identical objects.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_serializer

T = TypeVar("T")

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 250


class RunStatus(StrEnum):
    """Lifecycle of a run."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    KILLED = "killed"


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


def encode_float(value: float) -> float | str:
    """JSON has no NaN or infinity; send them as the strings Python parses back."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


class Project(_Entity):
    """A use case: the unit runs, models and deployments belong to."""

    id: str
    key: str
    name: str
    description: str = ""
    created_at: datetime
    deleted_at: datetime | None = None


class Metric(_Entity):
    """One point of a metric: value, step and time (epoch milliseconds)."""

    key: str
    value: float
    step: int = 0
    timestamp: int

    @field_serializer("value")
    def _serialize_value(self, value: float) -> float | str:
        return encode_float(value)


class DatasetInput(_Entity):
    """A dataset version a run used, and in which role (training, validation...)."""

    dataset_version_id: str
    name: str
    version: int
    digest: str
    context: str


class Run(_Entity):
    """A run with its latest metric values, params and tags."""

    id: str
    project: str
    name: str
    status: RunStatus
    start_time: datetime
    end_time: datetime | None = None
    user: str = ""
    source_file: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    environment: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: list[DatasetInput] = Field(default_factory=list)
    deleted_at: datetime | None = None

    @field_serializer("metrics")
    def _serialize_metrics(self, metrics: dict[str, float]) -> dict[str, float | str]:
        return {key: encode_float(value) for key, value in metrics.items()}

    @property
    def is_active(self) -> bool:
        """True while the run accepts new data."""
        return self.status is RunStatus.RUNNING


class ArtifactInfo(_Entity):
    """A file a run logged: its path in the run and the blob behind it."""

    path: str
    digest: str
    size: int
    created_at: datetime


class DatasetVersion(_Entity):
    """A named, numbered, content-hashed version of a table."""

    id: str
    project: str
    name: str
    version: int
    digest: str
    row_count: int
    schema_: list[dict[str, Any]] = Field(alias="schema")
    profile: dict[str, Any]
    source_uri: str | None = None
    data_digest: str | None = None
    created_at: datetime

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)


class Page(_Entity, Generic[T]):
    """One page of a listing; pass ``next_cursor`` to get the next one."""

    items: list[T]
    next_cursor: str | None = None


class MetricBatch(BaseModel):
    """Metric points sent in one request (the SDK's buffered flush)."""

    metrics: list[Metric] = Field(max_length=100_000)


class GcReport(BaseModel):
    """What one `werft gc` removed."""

    projects_purged: list[str]
    runs_purged: int
    blobs_deleted: int
    bytes_freed: int
