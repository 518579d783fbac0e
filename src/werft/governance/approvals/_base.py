"""What the parts of the promotion service share: the admin hook, alias moves, audit, notices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from werft.governance import audit, notices
from werft.governance.approval_entities import Approval, NoticeDelivery
from werft.governance.notices import ApprovalNotifier
from werft.governance.policy import StoredUseCase, project_key
from werft.governance.roles import Role, current_principal
from werft.registry.aliases import move_alias
from werft.registry.service import ModelRegistry
from werft.store.db import Database
from werft.store.models import ApprovalRow, ModelVersionRow, RegisteredModelRow
from werft.tracking._rows import Clock, utcnow

AdminCheck = Callable[[str, str], bool | None]
"""``is_admin(user, project_key)``: True or False; None when nobody is authenticated."""


def authenticated_admin(user: str, project: str) -> bool | None:
    """The :data:`AdminCheck` of a server with auth: the token's user, admin of the project.

    None without an authenticated caller (auth off, local mode).
    """
    principal = current_principal()
    if principal is None:
        return None
    return principal.user == user and principal.can(project, Role.ADMIN)


class PromotionBase:
    """The collaborators and the plumbing that promotion, decisions and rollback share."""

    def __init__(
        self,
        db: Database,
        *,
        registry: ModelRegistry,
        clock: Clock = utcnow,
        notifier: ApprovalNotifier | None = None,
        is_admin: AdminCheck | None = None,
    ) -> None:
        self._db = db
        self._registry = registry
        self._clock = clock
        self._notifier = notifier
        self._is_admin = is_admin

    def _admin_check(self, actor: str, project: str) -> bool | None:
        return self._is_admin(actor, project) if self._is_admin is not None else None

    def _admin(self, actor: str, project: str) -> bool:
        return self._admin_check(actor, project) is True

    # --- plumbing ---------------------------------------------------------------------

    def _move(
        self,
        session: Session,
        model: RegisteredModelRow,
        target: ModelVersionRow,
        alias: str,
        *,
        actor: str,
        extra: dict[str, Any],
    ) -> int | None:
        at = self._clock()
        previous = move_alias(session, model, alias, target, actor=actor, at=at)
        audit.append(
            session,
            "alias.moved",
            object_type="alias",
            object_id=f"{model.name}@{alias}",
            project=project_key(session, model),
            payload={"from": previous, "to": target.version, **extra},
            at=at,
        )
        return previous

    def _audit(
        self,
        session: Session,
        action: str,
        request: ApprovalRow,
        model: RegisteredModelRow,
        target: ModelVersionRow,
    ) -> None:
        payload: dict[str, Any] = {
            "model": model.name,
            "version": target.version,
            "alias": request.alias,
            "status": request.status,
        }
        if action == "approval.requested":
            payload |= {
                "reason": request.reason,
                "gate_report_id": request.gate_report_id,
                "override_reason": request.override_reason,
            }
        else:
            payload["comment"] = request.comment
        audit.append(
            session,
            action,
            object_type="approval",
            object_id=str(request.id),
            project=project_key(session, model),
            payload=payload,
            at=self._clock(),
        )

    def _queue(
        self, session: Session, event: str, approval: Approval, use_case: StoredUseCase | None
    ) -> list[NoticeDelivery]:
        """Write the notices to the use case's channels into the outbox, in ``session``."""
        channels = use_case.notify if use_case else []
        return notices.queue(session, event, approval, channels=channels, at=self._clock())

    def _announce(
        self, event: str, approval: Approval, queued: list[NoticeDelivery]
    ) -> list[NoticeDelivery]:
        """After the commit: tell the notifier, audit every outcome; all outcomes."""
        outcomes = queued + notices.call_notifier(self._notifier, event, approval)
        if not outcomes:
            return []
        for failed in (o for o in outcomes if not o.ok):
            notices.log.warning(
                "approval #%s: notifying %s failed: %s", approval.id, failed.target, failed.error
            )
        with self._db.session() as session:
            audit.append(
                session,
                "approval.notified",
                object_type="approval",
                object_id=str(approval.id),
                project=approval.project,
                payload={"event": event, "deliveries": [o.model_dump() for o in outcomes]},
                at=self._clock(),
            )
        return outcomes
