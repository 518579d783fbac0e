"""Alerting entities: channels, rules, alerts, notifications — what the API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["info", "warning", "critical"]
AlertState = Literal["pending", "firing", "resolved"]
ChannelKind = Literal["webhook", "email"]
NotificationStatus = Literal["pending", "sent", "failed"]
NotificationEvent = Literal["firing", "resolved", "requested", "approved", "rejected", "cancelled"]

SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
ALERT_STATES: tuple[AlertState, ...] = ("pending", "firing", "resolved")
NOTIFICATION_STATUSES: tuple[NotificationStatus, ...] = ("pending", "sent", "failed")


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class Channel(_Entity):
    """Where notifications go. ``config`` holds no secrets: passwords are named by
    the environment variable that holds them (``password_env``)."""

    id: str
    name: str
    kind: ChannelKind
    config: dict[str, Any]
    created_at: datetime


class ChannelTest(_Entity):
    """The outcome of sending a test message to a channel."""

    channel: str
    ok: bool
    error: str = ""
    seconds: float


class AlertRule(_Entity):
    """A condition on a monitor's values that must hold ``for_seconds`` to fire.

    ``monitor`` is ``None`` for a rule that applies to every monitor.
    """

    id: str
    name: str
    condition: str
    for_seconds: int
    severity: Severity
    monitor: str | None
    channels: list[str] = Field(default_factory=list)
    description: str = ""
    enabled: bool
    created_at: datetime


class Alert(_Entity):
    """One alert of a rule for one monitor: pending, then firing, then resolved.

    ``value`` is the value of the condition's first variable when last evaluated;
    ``message`` lists every variable's value.
    """

    id: int
    rule: str
    monitor: str
    state: AlertState
    severity: Severity
    condition: str
    value: float | None
    message: str
    pending_since: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    evaluated_at: datetime


class Notification(_Entity):
    """A message to one channel about an alert or an approval request, kept until sent or
    given up.

    Exactly one of ``alert_id`` and ``approval_id`` is set; ``rule`` and ``monitor``
    are the alert's (None for an approval notice); ``subject`` names what it is about:
    ``churn-drift on churn-prod``, ``approval #12: churn-classifier 8 → production``.
    Events: ``firing`` and ``resolved`` for alerts; ``requested``, ``approved``,
    ``rejected`` and ``cancelled`` for approval requests.
    """

    id: int
    alert_id: int | None
    approval_id: int | None = None
    subject: str
    rule: str | None
    monitor: str | None
    channel: str
    event: NotificationEvent
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None
    created_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict)


class DeliveryReport(_Entity):
    """What one delivery pass did: the notifications it tried and how each ended."""

    attempted: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    notifications: list[Notification] = Field(default_factory=list)
