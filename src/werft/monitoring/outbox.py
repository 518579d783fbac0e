"""The notification outbox: rows written with the alert's state change, sent later.

An alert that fires or resolves writes one notification row per channel in the
same transaction as the state change, so a notification is never lost to a
crash between the two; an approval request and its decision do the same
(:mod:`werft.governance.notices`), so a channel that is down when someone asks
for a release still hears about it once it is back. Delivery claims due rows
in a short transaction (moving their next attempt past a lease, so a second
worker skips them), sends them with no transaction open — a slow SMTP server
must not hold SQLite's write lock — and records each outcome in a transaction
of its own. A failed attempt is retried with exponential backoff until
``max_attempts``, then the row stays ``failed`` (listed, and re-queued by
:meth:`Outbox.retry`). A worker that dies after sending and before recording
leaves the row to be sent again when the lease runs out: delivery is at least
once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session

from werft.deploy.deployments import deployments_within
from werft.errors import ConflictError, InvalidInputError, NotFoundError
from werft.monitoring.alert_entities import (
    NOTIFICATION_STATUSES,
    DeliveryReport,
    Notification,
)
from werft.monitoring.channels import DeliveryError, send
from werft.store.db import Database
from werft.store.models import (
    AlertRow,
    AlertRuleRow,
    ApprovalRow,
    ChannelRow,
    ModelVersionRow,
    MonitorRow,
    NotificationRow,
    ProjectRow,
    RegisteredModelRow,
)
from werft.tracking._rows import Clock, aware, utcnow

MAX_ATTEMPTS = 8
"""Attempts before a notification is given up (status ``failed``)."""

FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
# Longer than any send can take (timeouts are capped at 300 s), so a claimed row
# is only picked up again when the worker that claimed it is gone.
LEASE = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failed ones: 30 s, 1 min, 2 min ... 1 h."""
    delay: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(delay, MAX_RETRY)


def enqueue(
    session: Session,
    *,
    channels: Sequence[ChannelRow],
    event: str,
    payload: dict[str, Any],
    now: datetime,
    alert_id: int | None = None,
    approval_id: int | None = None,
) -> list[NotificationRow]:
    """Add one pending notification per channel, in the caller's transaction.

    Each is about an alert or an approval request: give exactly one of
    ``alert_id`` and ``approval_id``. The rows get their ids at the next flush.
    """
    if (alert_id is None) == (approval_id is None):
        raise ValueError("a notification is about an alert or an approval request: give one")
    added = []
    for channel in channels:
        row = NotificationRow(
            alert_id=alert_id,
            approval_id=approval_id,
            channel_id=channel.id,
            event=event,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            last_error="",
            sent_at=None,
            created_at=now,
        )
        session.add(row)
        added.append(row)
    return added


def _query() -> Select[NotificationRow, str, str, str, str, int, str]:
    # Outer joins: a notification belongs to an alert (and its rule) or to an approval
    # request (and its model version); the other side's columns are NULL.
    return (
        select(
            NotificationRow,
            ChannelRow.name,
            AlertRuleRow.name,
            AlertRow.monitor,
            RegisteredModelRow.name,
            ModelVersionRow.version,
            ApprovalRow.alias,
        )
        .join(ChannelRow, ChannelRow.id == NotificationRow.channel_id)
        .outerjoin(AlertRow, AlertRow.id == NotificationRow.alert_id)
        .outerjoin(AlertRuleRow, AlertRuleRow.id == AlertRow.rule_id)
        .outerjoin(ApprovalRow, ApprovalRow.id == NotificationRow.approval_id)
        .outerjoin(ModelVersionRow, ModelVersionRow.id == ApprovalRow.model_version_id)
        .outerjoin(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
    )


# The outer-joined columns are None for the other kind of notification.
_Found = Row[NotificationRow, str, str, str, str, int, str]


def _entity(found: _Found) -> Notification:
    row, channel, rule, monitor, model, version, alias = found
    if row.approval_id is not None:
        subject = f"approval #{row.approval_id}: {model} {version} → {alias}"
    else:
        subject = f"{rule} on {monitor}"
    return Notification(
        id=row.id,
        alert_id=row.alert_id,
        approval_id=row.approval_id,
        subject=subject,
        rule=rule,
        monitor=monitor,
        channel=channel,
        event=row.event,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=aware(row.next_attempt_at),
        last_error=row.last_error,
        sent_at=aware(row.sent_at),
        created_at=aware(row.created_at),
        payload=row.payload,
    )


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    config: dict[str, Any]
    payload: dict[str, Any]


class Outbox:
    """Lists, delivers and re-queues notifications."""

    def __init__(
        self, db: Database, *, clock: Clock = utcnow, max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        self._db = db
        self._clock = clock
        self._max_attempts = max_attempts

    def list_notifications(
        self,
        *,
        status: str | None = None,
        alert_id: int | None = None,
        approval_id: int | None = None,
        projects: Collection[str] | None = None,
        limit: int = 1000,
    ) -> list[Notification]:
        """Notifications, newest first; of one status, one alert or one approval request.

        ``projects`` keeps only notifications about these projects (the caller's, on a
        server with auth): approval notices of their models, alert notices of monitors
        whose deployment is within them, as the alert listing reads it. None: all.
        """
        if status is not None and status not in NOTIFICATION_STATUSES:
            raise InvalidInputError(
                f"notification status {status!r} is unknown; use {', '.join(NOTIFICATION_STATUSES)}"
            )
        stmt = _query()
        if status is not None:
            stmt = stmt.where(NotificationRow.status == status)
        if alert_id is not None:
            stmt = stmt.where(NotificationRow.alert_id == alert_id)
        if approval_id is not None:
            stmt = stmt.where(NotificationRow.approval_id == approval_id)
        with self._db.session(write=False) as session:
            if projects is not None:
                monitors = select(MonitorRow.name).where(
                    MonitorRow.deployment_id.in_(deployments_within(session, projects))
                )
                own_models = select(RegisteredModelRow.id).where(
                    RegisteredModelRow.project_id.in_(
                        select(ProjectRow.id).where(ProjectRow.key.in_(list(projects)))
                    )
                )
                stmt = stmt.where(
                    or_(
                        AlertRow.monitor.in_(monitors),
                        ModelVersionRow.model_id.in_(own_models),
                    )
                )
            rows = session.execute(stmt.order_by(NotificationRow.id.desc()).limit(limit)).all()
            return [_entity(row) for row in rows]

    @staticmethod
    def _get(session: Session, notification_id: int) -> Notification:
        found = session.execute(_query().where(NotificationRow.id == notification_id)).first()
        if found is None:
            raise NotFoundError(
                f"notification {notification_id} not found; `werft alerts notifications` lists them"
            )
        return _entity(found)

    def retry(self, notification_id: int) -> Notification:
        """Queue a pending or failed notification for an attempt now, with fresh attempts.

        Raises:
            NotFoundError: No such notification.
            ConflictError: It was sent already.
        """
        with self._db.session() as session:
            row = session.get(NotificationRow, notification_id)
            if row is None:
                raise NotFoundError(
                    f"notification {notification_id} not found; `werft alerts notifications` "
                    "lists them"
                )
            if row.status == "sent":
                raise ConflictError(
                    f"notification {notification_id} was sent at {aware(row.sent_at)}; "
                    "there is nothing to retry"
                )
            row.status, row.attempts, row.next_attempt_at = "pending", 0, self._clock()
            session.flush()
            return self._get(session, notification_id)

    def counts(self) -> dict[str, int]:
        """How many notifications are in each status."""
        with self._db.session(write=False) as session:
            found = dict(
                session.execute(
                    select(NotificationRow.status, func.count()).group_by(NotificationRow.status)
                ).all()
            )
        return {status: int(found.get(status, 0)) for status in NOTIFICATION_STATUSES}

    def deliver_due(self, now: datetime | None = None, limit: int = 100) -> DeliveryReport:
        """Send up to ``limit`` pending notifications whose next attempt is due at ``now``."""
        at = now or self._clock()
        claimed = self._claim(at, limit)
        done: list[Notification] = []
        for item in claimed:
            try:
                send(item.kind, item.config, item.payload)
                error = None
            except DeliveryError as exc:
                error = exc.message
            recorded = self._record(item.id, error, now or self._clock())
            if recorded is not None:
                done.append(recorded)
        return DeliveryReport(
            attempted=len(claimed),
            sent=sum(n.status == "sent" for n in done),
            retrying=sum(n.status == "pending" for n in done),
            failed=sum(n.status == "failed" for n in done),
            notifications=done,
        )

    def _claim(self, at: datetime, limit: int) -> list[_Claimed]:
        stmt = (
            select(NotificationRow, ChannelRow.kind, ChannelRow.config)
            .join(ChannelRow, ChannelRow.id == NotificationRow.channel_id)
            .where(NotificationRow.status == "pending", NotificationRow.next_attempt_at <= at)
            .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
            .limit(limit)
            # PostgreSQL: workers claim disjoint rows; SQLite serialises writers anyway.
            .with_for_update(of=NotificationRow, skip_locked=True)
        )
        with self._db.session() as session:
            claimed = []
            for row, kind, config in session.execute(stmt).all():
                row.next_attempt_at = at + LEASE
                claimed.append(_Claimed(row.id, kind, dict(config), dict(row.payload)))
            return claimed

    def _record(self, notification_id: int, error: str | None, at: datetime) -> Notification | None:
        with self._db.session() as session:
            row = session.get(NotificationRow, notification_id)
            if row is None:  # its rule, request or channel was deleted meanwhile
                return None
            row.attempts += 1
            row.next_attempt_at = at  # the claim's lease ends
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", at, ""
            else:
                row.last_error = error[:2000]
                if row.attempts >= self._max_attempts:
                    row.status = "failed"
                else:
                    row.next_attempt_at = at + backoff(row.attempts)
            session.flush()
            return self._get(session, notification_id)
