"""Telling people about approval requests: through the alert outbox and a notifier hook.

A use case names the alert channels that hear about its approvals
(``notify: [ops-mail]`` in ``werft.yaml``). Their notices are written to the
notification outbox (:mod:`werft.monitoring.outbox`) in the transaction that
creates or decides the request, and the worker sends them with the alerts'
retries and backoff: a channel that is down does not lose the notice, and a
notice never blocks or undoes the change. A service may also be given a
notifier callback, an in-process plug-in called after the change is
committed; whatever it raises is returned and recorded, never re-raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.governance.approval_entities import Approval, NoticeDelivery
from werft.monitoring import messages
from werft.monitoring.outbox import enqueue
from werft.store.models import ChannelRow

log = logging.getLogger("werft.governance")

ApprovalNotifier = Callable[[str, Approval], None]
"""Called with the event (``requested``, ``approved``, ``rejected``, ``cancelled``) and request."""

_VERBS = {
    "requested": "requests approval",
    "approved": "approved",
    "rejected": "rejected",
    "cancelled": "cancelled",
}


def approval_payload(event: str, approval: Approval, at: datetime) -> dict[str, Any]:
    """The channel payload for an approval event."""
    target = f"{approval.model} version {approval.version} → {approval.alias}"
    if event == "requested":
        title = f"[APPROVAL #{approval.id}] {approval.requested_by} asks to move {target}"
        who = ", ".join(approval.approvers) or "anyone but the requester"
        message = f"Approval request #{approval.id} waits for a decision by {who}."
        hint = f"Decide with: werft approve {approval.id} (or werft reject {approval.id})"
    else:
        title = f"[APPROVAL #{approval.id} {event.upper()}] {target}"
        message = f"{approval.decided_by or ''} {_VERBS.get(event, event)} request #{approval.id}."
        hint = f"See it with: werft approvals show {approval.id}"
    facts = [
        ("Model", f"{approval.model} version {approval.version}"),
        ("Alias", approval.alias),
        ("Project", approval.project),
        ("Requested by", approval.requested_by),
    ]
    if approval.reason:
        facts.append(("Reason", approval.reason))
    if approval.override_reason:
        facts.append(("Gate overridden", approval.override_reason))
    if approval.comment:
        facts.append(("Comment", approval.comment))
    return messages.notice_payload(
        title=title, message=message.strip(), facts=facts, hint=hint, at=at
    )


def queue(
    session: Session,
    event: str,
    approval: Approval,
    *,
    channels: Sequence[str],
    at: datetime,
) -> list[NoticeDelivery]:
    """Write the notice for each named channel to the outbox, in the caller's transaction.

    Returns one outcome per channel: ``queued`` with the notification's id, or
    ``failed`` for a channel that does not exist (nothing to retry there).
    """
    names = list(dict.fromkeys(channels))
    if not names:
        return []
    rows = {
        row.name: row
        for row in session.scalars(select(ChannelRow).where(ChannelRow.name.in_(names)))
    }
    found = [rows[name] for name in names if name in rows]
    queued = enqueue(
        session,
        approval_id=approval.id,
        channels=found,
        event=event,
        payload=approval_payload(event, approval, at),
        now=at,
    )
    session.flush()
    ids = {row.channel_id: row.id for row in queued}
    outcomes = []
    for name in names:
        if name in rows:
            outcomes.append(
                NoticeDelivery(
                    target=name, ok=True, status="queued", notification_id=ids[rows[name].id]
                )
            )
        else:
            outcomes.append(
                NoticeDelivery(
                    target=name,
                    ok=False,
                    status="failed",
                    error=f"channel {name!r} does not exist; create it with "
                    "`werft alerts channel create`",
                )
            )
    return outcomes


def call_notifier(
    notifier: ApprovalNotifier | None, event: str, approval: Approval
) -> list[NoticeDelivery]:
    """Tell the notifier plug-in, if there is one; its outcome, never raised."""
    if notifier is None:
        return []
    try:
        notifier(event, approval)
    # The notifier is a plug-in; whatever it raises, the decision it reports stands.
    except Exception as exc:
        log.exception("the approval notifier failed for request #%s", approval.id)
        return [
            NoticeDelivery(
                target="notifier",
                ok=False,
                status="failed",
                error=f"{type(exc).__name__}: {exc}",
            )
        ]
    return [NoticeDelivery(target="notifier", ok=True, status="sent")]
