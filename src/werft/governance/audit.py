"""The audit log: every state change, appended, each entry chained to the one before.

An entry's hash is the SHA-256 of its previous entry's hash and its own
canonical content (id, time, actor, action, object, project, payload), so
changing, removing or reordering any entry breaks the chain from there on and
:meth:`AuditLog.verify` names the first entry that does not fit. Services
append in the same transaction as the change they record (:meth:`AuditLog.record`),
so there is never a change without its entry or the other way round. Appends
are serialised — SQLite writers already are; on PostgreSQL a transaction-level
advisory lock is taken — so the chain never forks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from werft.governance.actor import current_actor
from werft.governance.audit_entities import AuditEvent, AuditVerification
from werft.store.db import Database
from werft.store.models import AuditEventRow
from werft.tracking._rows import Clock, aware, utcnow

GENESIS = "0" * 64
"""The previous hash of the first entry."""

_PG_LOCK_KEY = 0x77657266  # "werf": serialises audit appends on PostgreSQL


def entry_hash(
    prev_hash: str,
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    project: str | None,
    payload: Mapping[str, Any],
) -> str:
    """The SHA-256 (hex) chaining one entry to the previous one."""
    content = orjson.dumps(
        {
            "id": id,
            "at": _canonical_time(at),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "project": project,
            "payload": payload,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(prev_hash.encode() + b"\n" + content).hexdigest()


def _canonical_time(at: datetime) -> str:
    """Microsecond UTC text: the same before and after a round trip through either database."""
    value = aware(at)
    assert value is not None
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append(
    session: Session,
    action: str,
    *,
    object_type: str,
    object_id: str,
    project: str | None = None,
    payload: Mapping[str, Any] | None = None,
    actor: str | None = None,
    at: datetime,
) -> AuditEventRow:
    """Append one entry inside the caller's (write) transaction.

    Args:
        session: The transaction that makes the change being recorded.
        action: What happened, ``noun.verb``: ``run.created``, ``alias.moved`` ...
        object_type: ``run``, ``model_version``, ``alias``, ``approval``, ``user`` ...
        object_id: The object's id or name (``churn/3`` for a version).
        project: The project key it belongs to, where there is one.
        payload: JSON-compatible details (old and new values, comments).
        actor: Who did it; default :func:`~werft.governance.actor.current_actor`.
        at: When (the calling service's clock).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = session.execute(
        select(AuditEventRow.id, AuditEventRow.hash).order_by(AuditEventRow.id.desc()).limit(1)
    ).first()
    prev_id, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
    data = orjson.loads(orjson.dumps(dict(payload or {}), default=str))
    row = AuditEventRow(
        id=prev_id + 1,
        at=at,
        actor=actor or current_actor(),
        action=action,
        object_type=object_type,
        object_id=object_id,
        project=project,
        payload=data,
        prev_hash=prev_hash,
        hash="",
    )
    row.hash = entry_hash(
        prev_hash,
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        project=project,
        payload=data,
    )
    session.add(row)
    session.flush()
    return row


class AuditLog:
    """Appends, lists, verifies and exports audit entries."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def list_events(
        self,
        *,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        project: str | None = None,
        actor: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[AuditEvent]:
        """Entries oldest first, filtered; page with ``after_id``."""
        with self._db.session(write=False) as session:
            stmt = select(AuditEventRow).where(AuditEventRow.id > after_id)
            for column, value in (
                (AuditEventRow.action, action),
                (AuditEventRow.object_type, object_type),
                (AuditEventRow.object_id, object_id),
                (AuditEventRow.project, project),
                (AuditEventRow.actor, actor),
            ):
                if value is not None:
                    stmt = stmt.where(column == value)
            rows = session.scalars(stmt.order_by(AuditEventRow.id).limit(limit)).all()
            return [_event(row) for row in rows]

    def iter_all(self, batch: int = 5000) -> Iterator[AuditEvent]:
        """Every entry, oldest first, in batches (for export and verification)."""
        after = 0
        while True:
            page = self.list_events(after_id=after, limit=batch)
            yield from page
            if len(page) < batch:
                return
            after = page[-1].id

    def verify(self) -> AuditVerification:
        """Walk the whole chain; the first entry that does not fit, and how."""
        prev_hash, expected_id, checked = GENESIS, 1, 0
        for event in self.iter_all():
            problem = ""
            if event.id != expected_id:
                problem = (
                    f"entry {expected_id} is missing (the next is {event.id}): an entry was removed"
                    if event.id > expected_id
                    else f"entry {event.id} appears out of order"
                )
            elif event.prev_hash != prev_hash:
                problem = (
                    f"entry {event.id} does not follow entry {event.id - 1}: its previous "
                    "hash differs, so an entry before it was changed, removed or reordered"
                )
            elif event.hash != _rehash(event):
                problem = f"entry {event.id} was changed after it was written: its hash differs"
            if problem:
                return AuditVerification(
                    ok=False,
                    checked=checked,
                    first_bad_id=min(event.id, expected_id),
                    problem=problem,
                )
            prev_hash, expected_id, checked = event.hash, event.id + 1, checked + 1
        return AuditVerification(ok=True, checked=checked)


def _rehash(event: AuditEvent) -> str:
    return entry_hash(
        event.prev_hash,
        id=event.id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        project=event.project,
        payload=event.payload,
    )


def _event(row: AuditEventRow) -> AuditEvent:
    at = aware(row.at)
    assert at is not None
    return AuditEvent(
        id=row.id,
        at=at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        project=row.project,
        payload=dict(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
