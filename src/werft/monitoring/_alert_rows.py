"""Row lookups, row-to-entity conversion and notification payloads for the alert service."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.errors import InvalidInputError, NotFoundError
from werft.monitoring import messages
from werft.monitoring.alert_entities import Alert, AlertRule, Channel
from werft.monitoring.conditions import Condition
from werft.store.models import AlertRow, AlertRuleRow, ChannelRow
from werft.tracking._rows import aware

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}")


def check_name(what: str, name: str) -> str:
    """Rule and channel names: letters, digits, ``_ . -``; start alphanumeric."""
    if not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"{what} name {name!r} is invalid: use letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (e.g. 'churn-drift')"
        )
    return name


def channel_entity(row: ChannelRow) -> Channel:
    return Channel(
        id=row.id,
        name=row.name,
        kind=row.kind,
        config=row.config,
        created_at=aware(row.created_at),
    )


def rule_entity(row: AlertRuleRow) -> AlertRule:
    return AlertRule(
        id=row.id,
        name=row.name,
        condition=row.condition,
        for_seconds=row.for_seconds,
        severity=row.severity,
        monitor=row.monitor,
        channels=list(row.channels.get("names", [])),
        description=row.description,
        enabled=row.enabled,
        created_at=aware(row.created_at),
    )


def alert_entity(row: AlertRow, rule: AlertRuleRow) -> Alert:
    return Alert(
        id=row.id,
        rule=rule.name,
        monitor=row.monitor,
        state=row.state,
        severity=rule.severity,
        condition=rule.condition,
        value=row.value,
        message=row.message,
        pending_since=aware(row.pending_since),
        fired_at=aware(row.fired_at),
        resolved_at=aware(row.resolved_at),
        evaluated_at=aware(row.evaluated_at),
    )


def channel_rows(session: Session, names: Sequence[str]) -> list[ChannelRow]:
    """The channels of these names, in order.

    Raises:
        NotFoundError: Naming every channel that does not exist.
    """
    rows = {
        row.name: row
        for row in session.scalars(select(ChannelRow).where(ChannelRow.name.in_(names)))
    }
    missing = [name for name in names if name not in rows]
    if missing:
        raise NotFoundError(
            f"channel(s) {', '.join(map(repr, missing))} not found; "
            "create them with `werft alerts channel create`"
        )
    return [rows[name] for name in names]


def find_rule(session: Session, name: str) -> AlertRuleRow | None:
    return session.scalars(select(AlertRuleRow).where(AlertRuleRow.name == name)).first()


def rule_row(session: Session, name: str) -> AlertRuleRow:
    row = find_rule(session, name)
    if row is None:
        raise NotFoundError(f"rule {name!r} not found; `werft alerts rule list` shows them")
    return row


def open_alerts(
    session: Session, rule_ids: Iterable[str], *, monitor: str | None = None
) -> list[AlertRow]:
    """The pending and firing alerts of these rules (of one monitor, if given)."""
    stmt = select(AlertRow).where(
        AlertRow.rule_id.in_(list(rule_ids)), AlertRow.state.in_(("pending", "firing"))
    )
    if monitor is not None:
        stmt = stmt.where(AlertRow.monitor == monitor)
    return list(session.scalars(stmt.order_by(AlertRow.id)))


def describe(condition: Condition, values: Mapping[str, float], holds: bool) -> str:
    """``drift.share > 0.3 holds: drift.share = 0.42`` — the alert's message."""
    shown = ", ".join(
        f"{name} = {messages.format_value(values.get(name))}" for name in condition.variables
    )
    return f"{condition} {'holds' if holds else 'no longer holds'}: {shown}"


def utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time (SQLite hands back naive ones)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _finite(value: float | None) -> float | None:
    # Payloads are JSON columns: PostgreSQL refuses NaN and Infinity there.
    return value if value is not None and math.isfinite(value) else None


def _iso(value: datetime | None) -> str | None:
    found = aware(value)
    return None if found is None else found.isoformat()


def payload(
    alert: AlertRow,
    rule: AlertRuleRow,
    *,
    event: str,
    values: Mapping[str, float],
    condition: Condition | None,
) -> dict[str, Any]:
    """What the outbox stores for a firing or resolved alert (the generic webhook body)."""
    variables = condition.variables if condition is not None else ()
    return messages.alert_payload(
        status=event,
        alert={
            "id": alert.id,
            "state": alert.state,
            "value": _finite(alert.value),
            "message": alert.message,
            "pending_since": _iso(alert.pending_since),
            "fired_at": _iso(alert.fired_at),
            "resolved_at": _iso(alert.resolved_at),
        },
        rule={
            "name": rule.name,
            "condition": rule.condition,
            "severity": rule.severity,
            "for_seconds": rule.for_seconds,
            "description": rule.description,
        },
        monitor=alert.monitor,
        values={name: _finite(values.get(name)) for name in variables},
    )
