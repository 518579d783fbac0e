"""Audit log entities: what the API returns and the SDK's backends pass around (no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEvent(BaseModel):
    """One audit log entry."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    project: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class AuditVerification(BaseModel):
    """The result of walking the chain: ``ok``, or the first entry that breaks it and why."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""
