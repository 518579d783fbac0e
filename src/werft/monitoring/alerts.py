"""Alert rules and the alert state machine, with channels and the notification outbox.

For each (rule, monitor) pair at most one alert is open. A monitor's new values
move it:

- condition true, no open alert → a new *pending* alert (``pending_since``);
- pending and true for at least ``for_seconds`` → *firing* (``for_seconds`` 0
  fires at once), and one notification per channel is queued;
- firing and still true → unchanged (no second notification);
- false → a firing alert *resolves* (notifications queued again); a pending
  one is dropped, it never fired;
- unknown (a value the condition reads is missing) → the alert keeps its state.

After resolution the next true condition opens a new alert. Notifications are
written in the transaction that changes the alert (:mod:`werft.monitoring.outbox`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from werft.deploy.deployments import deployments_within
from werft.errors import AlreadyExistsError, ConflictError, InvalidInputError
from werft.monitoring import _alert_rows as rows
from werft.monitoring import messages
from werft.monitoring.alert_entities import (
    ALERT_STATES,
    SEVERITIES,
    Alert,
    AlertRule,
    Channel,
    ChannelTest,
    DeliveryReport,
    Notification,
)
from werft.monitoring.channels import DeliveryError, check_config, send
from werft.monitoring.conditions import Condition, parse_condition
from werft.monitoring.outbox import MAX_ATTEMPTS, Outbox, enqueue
from werft.store.db import Database
from werft.store.models import AlertRow, AlertRuleRow, ChannelRow, MonitorRow
from werft.tracking._rows import Clock, utcnow

MAX_FOR_SECONDS = 90 * 86400


class AlertService:
    """Channels, rules, alerts and their notifications."""

    def __init__(
        self, db: Database, *, clock: Clock = utcnow, max_attempts: int = MAX_ATTEMPTS
    ) -> None:
        self._db = db
        self._clock = clock
        self._outbox = Outbox(db, clock=clock, max_attempts=max_attempts)

    # --- channels ---------------------------------------------------------------------

    def create_channel(self, name: str, kind: str, config: Mapping[str, Any]) -> Channel:
        """A new webhook or e-mail channel (see :mod:`werft.monitoring.channels`).

        Raises:
            AlreadyExistsError: A channel of that name exists.
            InvalidInputError: Bad name, kind or configuration.
        """
        rows.check_name("channel", name)
        checked = check_config(kind, config)
        exists = AlreadyExistsError(
            f"channel {name!r} already exists; `werft alerts channel list` shows them"
        )
        try:
            with self._db.session() as session:
                if session.scalars(select(ChannelRow).where(ChannelRow.name == name)).first():
                    raise exists
                row = ChannelRow(
                    id=uuid.uuid4().hex,
                    name=name,
                    kind=kind,
                    config=checked,
                    created_at=self._clock(),
                )
                session.add(row)
                session.flush()
                return rows.channel_entity(row)
        except DbIntegrityError as exc:  # created concurrently
            raise exists from exc

    def get_channel(self, name: str) -> Channel:
        with self._db.session(write=False) as session:
            return rows.channel_entity(rows.channel_rows(session, [name])[0])

    def list_channels(self) -> list[Channel]:
        with self._db.session(write=False) as session:
            found = session.scalars(select(ChannelRow).order_by(ChannelRow.name))
            return [rows.channel_entity(row) for row in found]

    def delete_channel(self, name: str) -> None:
        """Delete a channel that no rule notifies.

        Raises:
            NotFoundError: No such channel.
            ConflictError: Rules still notify it.
        """
        with self._db.session() as session:
            row = rows.channel_rows(session, [name])[0]
            users = [
                rule.name
                for rule in session.scalars(select(AlertRuleRow).order_by(AlertRuleRow.name))
                if name in rule.channels.get("names", [])
            ]
            if users:
                raise ConflictError(
                    f"channel {name!r} is notified by rule(s) {', '.join(users)}; "
                    "delete those rules (or re-create them without it) first"
                )
            session.delete(row)

    def test_channel(self, name: str) -> ChannelTest:
        """Send a test message now, with no transaction open, and say how it went."""
        channel = self.get_channel(name)
        started = time.monotonic()
        try:
            send(channel.kind, channel.config, messages.test_payload(name, self._clock()))
            error = ""
        except DeliveryError as exc:
            error = exc.message
        return ChannelTest(
            channel=name, ok=not error, error=error, seconds=round(time.monotonic() - started, 3)
        )

    # --- rules ------------------------------------------------------------------------

    def create_rule(
        self,
        name: str,
        *,
        condition: str,
        for_seconds: int = 0,
        severity: str = "warning",
        monitor: str | None = None,
        channels: Sequence[str] = (),
        description: str = "",
    ) -> AlertRule:
        """A new rule; ``monitor`` None applies it to every monitor.

        Raises:
            AlreadyExistsError: A rule of that name exists.
            NotFoundError: A channel does not exist (the message names each).
            InvalidInputError: Bad name, condition, duration or severity.
        """
        rows.check_name("rule", name)
        if monitor is not None:
            rows.check_name("monitor", monitor)
        parsed = parse_condition(condition)
        if not 0 <= for_seconds <= MAX_FOR_SECONDS:
            raise InvalidInputError(f"'for' of {for_seconds} s is out of range; use 0 s to 90d")
        if severity not in SEVERITIES:
            raise InvalidInputError(
                f"severity {severity!r} is unknown; use {', '.join(SEVERITIES)}"
            )
        names = list(dict.fromkeys(channels))
        exists = AlreadyExistsError(
            f"rule {name!r} already exists; `werft alerts rule show {name}` shows it"
        )
        try:
            return self._insert_rule(
                name,
                condition=str(parsed),
                for_seconds=for_seconds,
                severity=severity,
                monitor=monitor,
                channels=names,
                description=description,
                exists=exists,
            )
        except DbIntegrityError as exc:  # created concurrently
            raise exists from exc

    def _insert_rule(
        self, name: str, *, channels: list[str], exists: AlreadyExistsError, **fields: Any
    ) -> AlertRule:
        with self._db.session() as session:
            rows.channel_rows(session, channels)
            if rows.find_rule(session, name) is not None:
                raise exists
            row = AlertRuleRow(
                id=uuid.uuid4().hex,
                name=name,
                channels={"names": channels},
                enabled=True,
                created_at=self._clock(),
                **fields,
            )
            session.add(row)
            session.flush()
            return rows.rule_entity(row)

    def get_rule(self, name: str) -> AlertRule:
        with self._db.session(write=False) as session:
            return rows.rule_entity(rows.rule_row(session, name))

    def list_rules(self) -> list[AlertRule]:
        with self._db.session(write=False) as session:
            found = session.scalars(select(AlertRuleRow).order_by(AlertRuleRow.name))
            return [rows.rule_entity(row) for row in found]

    def delete_rule(self, name: str) -> None:
        """Delete a rule with its alerts and their notifications."""
        with self._db.session() as session:
            session.delete(rows.rule_row(session, name))

    def enable_rule(self, name: str) -> AlertRule:
        with self._db.session() as session:
            row = rows.rule_row(session, name)
            row.enabled = True
            return rows.rule_entity(row)

    def disable_rule(self, name: str) -> AlertRule:
        """Stop evaluating a rule: its firing alerts resolve (and notify), pending ones go."""
        now = self._clock()
        with self._db.session() as session:
            row = rows.rule_row(session, name)
            row.enabled = False
            for alert in rows.open_alerts(session, [row.id]):
                if alert.state == "pending":
                    session.delete(alert)
                    continue
                alert.state, alert.resolved_at, alert.evaluated_at = "resolved", now, now
                alert.message = f"rule {name} was disabled"
                self._notify(session, alert, row, event="resolved", values={})
            return rows.rule_entity(row)

    # --- evaluation -------------------------------------------------------------------

    def evaluate(
        self, monitor: str, values: Mapping[str, float], at: datetime | None = None
    ) -> list[Alert]:
        """Apply a monitor's new values to every enabled rule that covers it.

        Args:
            monitor: The monitor the values come from.
            values: Flat values (``drift.share``, ``serving.latency_p99`` ...).
            at: When the values were observed (the window's end); default now.

        Returns:
            The alerts this evaluation opened or updated, including those it
            resolved (pending alerts that cleared are dropped, not returned).
        """
        at = rows.utc(at or self._clock())
        touched: list[Alert] = []
        with self._db.session() as session:
            rules = session.scalars(
                select(AlertRuleRow)
                .where(
                    AlertRuleRow.enabled.is_(True),
                    or_(AlertRuleRow.monitor.is_(None), AlertRuleRow.monitor == monitor),
                )
                .order_by(AlertRuleRow.name)
                # Serialise evaluations of the same rules (PostgreSQL), so two workers
                # cannot both open an alert for one (rule, monitor).
                .with_for_update()
            ).all()
            open_alerts = {
                row.rule_id: row
                for row in rows.open_alerts(session, [r.id for r in rules], monitor=monitor)
            }
            for rule in rules:
                alert = self._step(
                    session, rule, open_alerts.get(rule.id), monitor=monitor, values=values, at=at
                )
                if alert is not None:
                    touched.append(rows.alert_entity(alert, rule))
        return touched

    def _step(
        self,
        session: Session,
        rule: AlertRuleRow,
        alert: AlertRow | None,
        *,
        monitor: str,
        values: Mapping[str, float],
        at: datetime,
    ) -> AlertRow | None:
        condition = parse_condition(rule.condition)
        holds = condition.evaluate(values)
        if holds is None:  # unknown: keep the state
            if alert is not None:
                alert.evaluated_at = at
            return alert
        if not holds:
            if alert is None:
                return None
            if alert.state == "pending":
                session.delete(alert)
                return None
            alert.state, alert.resolved_at = "resolved", at
        elif alert is None:
            alert = AlertRow(rule_id=rule.id, monitor=monitor, state="pending", pending_since=at)
            session.add(alert)
        alert.value = condition.primary_value(values)
        alert.message = rows.describe(condition, values, holds)
        alert.evaluated_at = at
        session.flush()
        held = at - rows.utc(alert.pending_since)
        if holds and alert.state == "pending" and held >= timedelta(seconds=rule.for_seconds):
            alert.state, alert.fired_at = "firing", at
            self._notify(session, alert, rule, event="firing", values=values, condition=condition)
        elif not holds:
            self._notify(session, alert, rule, event="resolved", values=values, condition=condition)
        return alert

    def _notify(
        self,
        session: Session,
        alert: AlertRow,
        rule: AlertRuleRow,
        *,
        event: str,
        values: Mapping[str, float],
        condition: Condition | None = None,
    ) -> None:
        names = rule.channels.get("names", [])
        if not names:
            return
        enqueue(
            session,
            alert_id=alert.id,
            channels=list(session.scalars(select(ChannelRow).where(ChannelRow.name.in_(names)))),
            event=event,
            payload=rows.payload(alert, rule, event=event, values=values, condition=condition),
            now=self._clock(),
        )

    # --- reading ----------------------------------------------------------------------

    def list_alerts(
        self,
        *,
        state: str | None = None,
        rule: str | None = None,
        monitor: str | None = None,
        projects: Collection[str] | None = None,
        limit: int = 1000,
    ) -> list[Alert]:
        """Alerts, newest first, optionally of one state, rule or monitor.

        ``projects`` keeps only alerts of monitors whose deployment is within
        these projects (the caller's, on a server with auth); None: all.
        """
        if state is not None and state not in ALERT_STATES:
            raise InvalidInputError(
                f"alert state {state!r} is unknown; use {', '.join(ALERT_STATES)}"
            )
        stmt = select(AlertRow, AlertRuleRow).join(
            AlertRuleRow, AlertRuleRow.id == AlertRow.rule_id
        )
        if state is not None:
            stmt = stmt.where(AlertRow.state == state)
        if rule is not None:
            stmt = stmt.where(AlertRuleRow.name == rule)
        if monitor is not None:
            stmt = stmt.where(AlertRow.monitor == monitor)
        with self._db.session(write=False) as session:
            if projects is not None:
                stmt = stmt.where(
                    AlertRow.monitor.in_(
                        select(MonitorRow.name).where(
                            MonitorRow.deployment_id.in_(deployments_within(session, projects))
                        )
                    )
                )
            found = session.execute(stmt.order_by(AlertRow.id.desc()).limit(limit)).all()
            return [rows.alert_entity(alert, rule_row) for alert, rule_row in found]

    # --- notifications ----------------------------------------------------------------

    def list_notifications(
        self,
        *,
        status: str | None = None,
        alert_id: int | None = None,
        approval_id: int | None = None,
        projects: Collection[str] | None = None,
        limit: int = 1000,
    ) -> list[Notification]:
        """Notifications (of alerts and approval requests), newest first; ``status``
        pending, sent or failed; ``projects`` as in :meth:`list_alerts`."""
        return self._outbox.list_notifications(
            status=status,
            alert_id=alert_id,
            approval_id=approval_id,
            projects=projects,
            limit=limit,
        )

    def retry_notification(self, notification_id: int) -> Notification:
        """Re-queue a failed (or waiting) notification for an attempt now."""
        return self._outbox.retry(notification_id)

    def notification_counts(self) -> dict[str, int]:
        """How many notifications are pending, sent and failed."""
        return self._outbox.counts()

    def deliver_due(self, now: datetime | None = None, limit: int = 100) -> DeliveryReport:
        """Send the notifications due at ``now`` (default: the clock), at most ``limit``.

        Rows are claimed in one short transaction, sent with none open, and each
        outcome recorded in its own: a failure counts an attempt, records the
        error and backs off (30 s doubling to 1 h); after the last attempt the
        notification is ``failed``.
        """
        return self._outbox.deliver_due(now, limit)
