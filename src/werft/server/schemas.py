"""Request bodies of the REST API (responses are the domain entities)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from werft.tracking.entities import RunStatus


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectCreate(_Body):
    key: str = Field(description="Unique key, e.g. 'churn'.")
    name: str | None = None
    description: str = ""


class RunCreate(_Body):
    name: str | None = None
    user: str = ""
    source_file: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    environment: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


class RunUpdate(_Body):
    status: RunStatus = Field(description="finished, failed or killed: ends the run.")


class ParamsIn(_Body):
    params: dict[str, str]


class TagsIn(_Body):
    tags: dict[str, str]


class RunSearch(_Body):
    filter: str | None = Field(default=None, examples=["metrics.auc > 0.8 and params.depth = '3'"])
    order_by: list[str] = Field(default_factory=list, examples=[["metrics.auc DESC"]])
    max_results: int = Field(default=1000, ge=1, le=50_000)
    cursor: str | None = None


class InputLink(_Body):
    dataset_version_id: str
    context: str = "training"


class DatasetRegister(_Body):
    name: str
    description: dict[str, Any] = Field(
        description="digest, row_count, schema, profile and source_uri of the data."
    )
    data_digest: str | None = None


class MetricsLogged(BaseModel):
    logged: int


class BlobOut(BaseModel):
    digest: str
    size: int


class GcRequest(_Body):
    older_than_seconds: float | None = Field(
        default=None, ge=0, description="Purge what was deleted this long ago; default retention."
    )


class Health(BaseModel):
    status: str
    version: str
    database: str
