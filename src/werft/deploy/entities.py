"""Deployment entities: what serving replicas report and the API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class Replica(_Entity):
    """One serving process."""

    id: str
    address: str
    host: str
    pid: int
    status: str
    serving: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    heartbeat_at: datetime
    alive: bool


class Deployment(_Entity):
    """A named deployment with the replicas that serve it."""

    id: str
    name: str
    models: dict[str, Any]
    strategy: str
    replicas: list[Replica] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class Segment(_Entity):
    """A shipped prediction-log segment (Parquet blob plus its histograms)."""

    id: str
    digest: str
    size: int
    rows: int
    start_ms: int
    end_ms: int
    request_id_min: str
    request_id_max: str
    models: dict[str, Any]
    histograms: dict[str, Any]


class FeedbackResult(_Entity):
    """What a feedback call stored, and the request ids nobody logged."""

    stored: int
    unknown: list[str] = Field(default_factory=list)
