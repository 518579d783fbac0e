"""Approval requests: approve, reject or cancel them (the four-eyes rule), read them."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from werft.governance import audit
from werft.governance.actor import current_actor
from werft.governance.approval_entities import Approval, ApprovalStatus
from werft.governance.approvals._base import PromotionBase
from werft.governance.approvals._rows import approvals_of, check_open
from werft.governance.policy import (
    StoredUseCase,
    gate_problem,
    latest_gate,
    load_use_case,
    project_key,
    synced_digest,
)
from werft.registry._rows import get_model_row
from werft.registry.entities import VersionStatus
from werft.store.models import ApprovalRow, ModelVersionRow, RegisteredModelRow
from werft.tracking._rows import project_ids


class Decisions(PromotionBase):
    """Decide and read approval requests."""

    # --- decisions --------------------------------------------------------------------

    def approve(self, request_id: int, *, comment: str = "") -> Approval:
        """Approve a pending request: the alias moves and the version becomes ``approved``.

        Raises:
            NotFoundError: No such request.
            PermissionDeniedError: The actor requested it (four-eyes rule) or is
                not one of the use case's approvers (nor an admin).
            ConflictError: The request is not pending, or the version can no
                longer be promoted (closed, or its newest gate failed).
        """
        actor = current_actor()
        with self._db.session() as session:
            request, model, target = _locked(session, request_id)
            use_case = self._decidable(session, request, model, actor, "approve")
            check_open(model, target)
            if not request.override_reason:
                problem = gate_problem(
                    model.name,
                    target.version,
                    latest_gate(session, target.id),
                    use_case_digest=synced_digest(session, model),
                )
                if problem:
                    raise ConflictError(
                        f"approval request #{request.id} cannot be approved now: {problem}"
                    )
            self._decide(request, ApprovalStatus.APPROVED, actor, comment)
            self._audit(session, "approval.approved", request, model, target)
            self._move(
                session, model, target, request.alias, actor=actor, extra={"approval": request.id}
            )
            if target.status != VersionStatus.APPROVED.value:
                audit.append(
                    session,
                    "model_version.status_changed",
                    object_type="model_version",
                    object_id=f"{model.name}/{target.version}",
                    project=project_key(session, model),
                    payload={"from": target.status, "to": VersionStatus.APPROVED.value},
                    at=self._clock(),
                )
                target.status = VersionStatus.APPROVED.value
            approval = approvals_of(session, [request])[0]
            queued = self._queue(session, "approved", approval, use_case)
        self._announce("approved", approval, queued)
        return approval

    def reject(self, request_id: int, *, comment: str) -> Approval:
        """Turn a pending request down; a rejection says why.

        Raises:
            InvalidInputError: No comment.
            NotFoundError, PermissionDeniedError, ConflictError: as for :meth:`approve`.
        """
        if not comment.strip():
            raise InvalidInputError("a rejection needs a comment saying why (--comment)")
        actor = current_actor()
        with self._db.session() as session:
            request, model, target = _locked(session, request_id)
            use_case = self._decidable(session, request, model, actor, "reject")
            self._decide(request, ApprovalStatus.REJECTED, actor, comment)
            self._audit(session, "approval.rejected", request, model, target)
            approval = approvals_of(session, [request])[0]
            queued = self._queue(session, "rejected", approval, use_case)
        self._announce("rejected", approval, queued)
        return approval

    def cancel(self, request_id: int, *, comment: str = "") -> Approval:
        """Withdraw a pending request (its requester, or an admin)."""
        actor = current_actor()
        with self._db.session() as session:
            request, model, target = _locked(session, request_id)
            _check_pending(request, "cancelled")
            project = project_key(session, model)
            if actor != request.requested_by and not self._admin(actor, project):
                raise PermissionDeniedError(
                    f"only {request.requested_by!r}, who requested it, or an admin may cancel "
                    f"approval request #{request.id}; to turn it down, reject it"
                )
            self._decide(request, ApprovalStatus.CANCELLED, actor, comment)
            self._audit(session, "approval.cancelled", request, model, target)
            approval = approvals_of(session, [request])[0]
            use_case = load_use_case(session, model.project_id)
            queued = self._queue(session, "cancelled", approval, use_case)
        self._announce("cancelled", approval, queued)
        return approval

    def _decidable(
        self,
        session: Session,
        request: ApprovalRow,
        model: RegisteredModelRow,
        actor: str,
        verb: str,
    ) -> StoredUseCase | None:
        """Check the request is pending and ``actor`` may decide it; the use case."""
        _check_pending(request, {"approve": "approved", "reject": "rejected"}[verb])
        if actor == request.requested_by:
            if verb == "approve":
                raise PermissionDeniedError(
                    "you requested this promotion; the four-eyes rule needs someone else to "
                    f"approve it (approval request #{request.id})"
                )
            raise PermissionDeniedError(
                f"you requested this promotion; withdraw it with `werft approvals cancel "
                f"{request.id}` instead of rejecting it"
            )
        project = project_key(session, model)
        use_case = load_use_case(session, model.project_id)
        approvers = use_case.approvers if use_case else []
        if approvers and actor not in approvers and not self._admin(actor, project):
            raise PermissionDeniedError(
                f"only {', '.join(approvers)} (the approvers of use case {project!r}) or an "
                f"admin may {verb} approval request #{request.id}; {actor!r} is not one of them"
            )
        return use_case

    def _decide(
        self, request: ApprovalRow, status: ApprovalStatus, actor: str, comment: str
    ) -> None:
        request.status = status.value
        request.decided_by = actor
        request.decided_at = self._clock()
        request.comment = comment.strip()

    # --- reading ----------------------------------------------------------------------

    def get(self, request_id: int) -> Approval:
        """One approval request."""
        with self._db.session(write=False) as session:
            return approvals_of(session, [_request_row(session, request_id)])[0]

    def list_requests(
        self,
        *,
        status: str | None = None,
        model: str | None = None,
        projects: Collection[str] | None = None,
        limit: int = 1000,
    ) -> list[Approval]:
        """Approval requests, newest first, optionally of one status or one model.

        ``projects`` keeps only requests for these projects' models (the
        caller's, on a server with auth); None: every project.
        """
        stmt = select(ApprovalRow).order_by(ApprovalRow.id.desc()).limit(limit)
        if projects is not None:
            stmt = stmt.where(
                ApprovalRow.model_version_id.in_(
                    select(ModelVersionRow.id)
                    .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
                    .where(RegisteredModelRow.project_id.in_(project_ids(projects)))
                )
            )
        if status is not None:
            if status not in {s.value for s in ApprovalStatus}:
                raise InvalidInputError(
                    f"status {status!r} is unknown; use one of "
                    + ", ".join(s.value for s in ApprovalStatus)
                )
            stmt = stmt.where(ApprovalRow.status == status)
        with self._db.session(write=False) as session:
            if model is not None:
                model_row = get_model_row(session, model)
                stmt = stmt.join(
                    ModelVersionRow, ModelVersionRow.id == ApprovalRow.model_version_id
                ).where(ModelVersionRow.model_id == model_row.id)
            return approvals_of(session, list(session.scalars(stmt)))


def _check_pending(request: ApprovalRow, done: str) -> None:
    if request.status != ApprovalStatus.PENDING.value:
        by = f" by {request.decided_by}" if request.decided_by else ""
        raise ConflictError(
            f"approval request #{request.id} is already {request.status}{by}; only a pending "
            f"request can be {done}"
        )


def _request_row(session: Session, request_id: int) -> ApprovalRow:
    row = session.get(ApprovalRow, request_id)
    if row is None:
        raise NotFoundError(
            f"approval request #{request_id} not found; `werft approvals list` shows them"
        )
    return row


def _locked(
    session: Session, request_id: int
) -> tuple[ApprovalRow, RegisteredModelRow, ModelVersionRow]:
    """The request, its model (row-locked) and version, re-read after taking the lock."""
    request = _request_row(session, request_id)
    target = session.get(ModelVersionRow, request.model_version_id)
    assert target is not None  # the foreign key cascades deletes
    model = session.scalars(
        select(RegisteredModelRow).where(RegisteredModelRow.id == target.model_id).with_for_update()
    ).one()
    # Another approver may have decided while this transaction waited for the lock.
    session.refresh(request)
    session.refresh(target)
    return request, model, target
