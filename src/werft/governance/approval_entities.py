"""Approval requests and what a promotion did."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from werft.registry.entities import ModelVersion


class ApprovalStatus(StrEnum):
    """Where an approval request stands; only ``pending`` can still change."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class Approval(_Entity):
    """A request to move an alias to a version, decided by someone other than the requester.

    ``approvers`` are the people the use case names now (empty: anyone but the
    requester may decide).
    """

    id: int
    model: str
    version: int
    project: str
    alias: str
    status: ApprovalStatus
    requested_by: str
    requested_at: datetime
    reason: str = ""
    gate_report_id: int | None = None
    override_reason: str = ""
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str = ""
    approvers: list[str] = Field(default_factory=list)


class NoticeDelivery(_Entity):
    """How telling someone about an approval went: a channel (or the notifier).

    A channel's notice is ``queued`` in the notification outbox (``notification_id``;
    the worker sends it and retries it with backoff, `werft alerts notifications`
    shows how it went); the notifier plug-in is called at once (``sent``).
    ``failed``: it cannot be sent at all (the channel does not exist, the
    notifier raised), ``error`` says why. ``ok`` is False only then.
    """

    target: str
    ok: bool
    status: Literal["queued", "sent", "failed"] = "queued"
    notification_id: int | None = None
    error: str = ""


class PromotionResult(_Entity):
    """What ``promote`` did.

    ``moved``: the alias points at the version now. ``approval``: the request
    that waits for a decision (``already_pending`` when it existed before this
    call). Neither: the alias already pointed at the version.
    """

    moved: bool
    alias: str
    version: ModelVersion
    previous_version: int | None = None
    approval: Approval | None = None
    already_pending: bool = False
    overridden: bool = False
    notifications: list[NoticeDelivery] = Field(default_factory=list)
