"""Telling people about approval requests: through alert channels and a notifier hook.

A use case names the alert channels that hear about its approvals
(``notify: [ops-mail]`` in ``werft.yaml``); a service may also be given a
notifier callback. Sending happens after the change is committed, never
inside its transaction, and a failed notification never blocks or undoes
the change: each outcome is returned and recorded in the audit log.
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
from werft.monitoring.channels import DeliveryError, send
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


def channel_configs(
    session: Session, names: Sequence[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Kind and configuration of the named channels that exist."""
    rows = session.scalars(select(ChannelRow).where(ChannelRow.name.in_(list(names))))
    return {row.name: (row.kind, dict(row.config)) for row in rows}


def deliver(
    event: str,
    approval: Approval,
    *,
    channels: Sequence[str],
    configs: dict[str, tuple[str, dict[str, Any]]],
    notifier: ApprovalNotifier | None,
    at: datetime,
) -> list[NoticeDelivery]:
    """Send the notice to each channel and the notifier; every outcome, none raised."""
    outcomes: list[NoticeDelivery] = []
    payload = approval_payload(event, approval, at)
    for name in channels:
        if name not in configs:
            outcomes.append(
                NoticeDelivery(
                    target=name,
                    ok=False,
                    error=f"channel {name!r} does not exist; create it with "
                    "`werft alerts channel create`",
                )
            )
            continue
        kind, config = configs[name]
        try:
            send(kind, config, payload)
        except DeliveryError as exc:
            outcomes.append(NoticeDelivery(target=name, ok=False, error=exc.message))
        else:
            outcomes.append(NoticeDelivery(target=name, ok=True))
    if notifier is not None:
        try:
            notifier(event, approval)
        # The notifier is a plug-in; whatever it raises, the decision it reports stands.
        except Exception as exc:
            log.exception("the approval notifier failed for request #%s", approval.id)
            outcomes.append(
                NoticeDelivery(target="notifier", ok=False, error=f"{type(exc).__name__}: {exc}")
            )
        else:
            outcomes.append(NoticeDelivery(target="notifier", ok=True))
    for failed in (o for o in outcomes if not o.ok):
        log.warning(
            "approval #%s: notifying %s failed: %s", approval.id, failed.target, failed.error
        )
    return outcomes
