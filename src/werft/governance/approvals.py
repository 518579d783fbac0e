"""Promotion through the use case's policy, approvals with the four-eyes rule, rollback.

``promote`` moves an alias at once where the policy is ``automatic`` (or
where no policy names the alias) and creates an approval request where it is
``approval``. Either way the version's newest gate report must have passed,
unless an admin overrides it with a written reason. ``approve`` moves the
alias in the transaction that decides the request; the requester can never
approve their own request, whatever their role. Every change is audited in
its own transaction; every alias move holds the model's row lock, so
concurrent promotions, approvals and rollbacks of one model serialise.

Who is an admin is not this module's business: the service takes an
``is_admin(user, project)`` hook answering True, False, or None for "nobody
is authenticated" (authentication off, local mode). Then — and without a
hook — anyone may override a gate, with a reason that is audited, and nobody
may decide a request the use case's approvers list does not name them for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from werft.governance import audit
from werft.governance.actor import current_actor
from werft.governance.approval_entities import (
    Approval,
    ApprovalStatus,
    NoticeDelivery,
    PromotionResult,
)
from werft.governance.notices import ApprovalNotifier, channel_configs, deliver
from werft.governance.policy import (
    Policy,
    StoredUseCase,
    gate_problem,
    latest_gate,
    load_use_case,
    project_key,
    synced_digest,
)
from werft.governance.roles import Role, current_principal
from werft.registry._rows import get_model_row, get_version_row, version_entities
from werft.registry.aliases import current_version, deployment_stack, move_alias
from werft.registry.entities import ModelVersion, VersionStatus
from werft.registry.service import ModelRegistry
from werft.registry.uris import check_alias
from werft.store.db import Database
from werft.store.models import ApprovalRow, ModelVersionRow, RegisteredModelRow
from werft.tracking._rows import Clock, aware, utcnow

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


_CLOSED = (VersionStatus.REJECTED.value, VersionStatus.ARCHIVED.value)


class PromotionService:
    """Promote versions to aliases, decide approval requests, roll aliases back."""

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

    # --- promotion --------------------------------------------------------------------

    def promote(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        reason: str = "",
        override_reason: str | None = None,
    ) -> PromotionResult:
        """Move ``alias`` to ``version`` as the use case's policy says.

        Raises:
            NotFoundError: No such model or version.
            ConflictError: The version is rejected or archived, or its gate
                failed or is missing and no override was given.
            InvalidInputError: ``override_reason`` is blank.
            PermissionDeniedError: A non-admin asked to override the gate.
        """
        check_alias(alias)
        if override_reason is not None and not override_reason.strip():
            raise InvalidInputError(
                "an override needs a written reason: say why this version may skip its gate"
            )
        actor = current_actor()
        with self._db.session() as session:
            model = get_model_row(session, name, lock=True)
            target = get_version_row(session, model, version)
            _check_open(model, target)
            use_case = load_use_case(session, model.project_id)
            policy = (use_case.policy_for(alias) if use_case else None) or Policy.AUTOMATIC
            if current_version(session, model, alias) == version:
                return PromotionResult(
                    moved=False, alias=alias, version=_version(session, model, target)
                )
            if policy is Policy.APPROVAL:
                pending = session.scalars(
                    select(ApprovalRow).where(
                        ApprovalRow.model_version_id == target.id,
                        ApprovalRow.alias == alias,
                        ApprovalRow.status == ApprovalStatus.PENDING.value,
                    )
                ).first()
                if pending is not None:
                    return PromotionResult(
                        moved=False,
                        alias=alias,
                        version=_version(session, model, target),
                        approval=approvals_of(session, [pending])[0],
                        already_pending=True,
                    )
            gate_id, overridden = self._gate(session, model, target, alias, override_reason)
            if policy is Policy.AUTOMATIC:
                previous = self._move(session, model, target, alias, actor=actor, extra={})
                return PromotionResult(
                    moved=True,
                    alias=alias,
                    version=_version(session, model, target),
                    previous_version=previous,
                    overridden=overridden,
                )
            row = ApprovalRow(
                model_version_id=target.id,
                alias=alias,
                status=ApprovalStatus.PENDING.value,
                requested_by=actor,
                requested_at=self._clock(),
                reason=reason.strip(),
                gate_report_id=gate_id,
                override_reason=(override_reason or "").strip() if overridden else "",
                comment="",
            )
            session.add(row)
            session.flush()
            self._audit(session, "approval.requested", row, model, target)
            approval = approvals_of(session, [row])[0]
            entity = _version(session, model, target)
        notices = self._notify("requested", approval, use_case)
        return PromotionResult(
            moved=False,
            alias=alias,
            version=entity,
            approval=approval,
            overridden=overridden,
            notifications=notices,
        )

    def _gate(
        self,
        session: Session,
        model: RegisteredModelRow,
        target: ModelVersionRow,
        alias: str,
        override_reason: str | None,
    ) -> tuple[int | None, bool]:
        """The gate report the promotion rests on, and whether an override let it through."""
        gate = latest_gate(session, target.id)
        problem = gate_problem(
            model.name, target.version, gate, use_case_digest=synced_digest(session, model)
        )
        if not problem:
            return (gate.id if gate else None), False
        project = project_key(session, model)
        if override_reason is None:
            raise ConflictError(
                f"{problem}; an admin may promote it anyway with a written reason "
                "(--override-reason)"
            )
        actor = current_actor()
        if self._admin_check(actor, project) is False:
            raise PermissionDeniedError(
                f"only an admin of project {project!r} may override a failed or missing gate; "
                f"{actor!r} is not one"
            )
        audit.append(
            session,
            "promotion.overridden",
            object_type="model_version",
            object_id=f"{model.name}/{target.version}",
            project=project,
            payload={
                "alias": alias,
                "reason": override_reason.strip(),
                "gate_report_id": gate.id if gate else None,
                "gate": "failed" if gate else "missing",
            },
            at=self._clock(),
        )
        return (gate.id if gate else None), True

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
            _check_open(model, target)
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
        self._notify("approved", approval, use_case)
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
        self._notify("rejected", approval, use_case)
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
        self._notify("cancelled", approval, use_case)
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

    def _admin_check(self, actor: str, project: str) -> bool | None:
        return self._is_admin(actor, project) if self._is_admin is not None else None

    def _admin(self, actor: str, project: str) -> bool:
        return self._admin_check(actor, project) is True

    # --- reading ----------------------------------------------------------------------

    def get(self, request_id: int) -> Approval:
        """One approval request."""
        with self._db.session(write=False) as session:
            return approvals_of(session, [_request_row(session, request_id)])[0]

    def list_requests(
        self, *, status: str | None = None, model: str | None = None, limit: int = 1000
    ) -> list[Approval]:
        """Approval requests, newest first, optionally of one status or one model."""
        stmt = select(ApprovalRow).order_by(ApprovalRow.id.desc()).limit(limit)
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

    # --- rollback ---------------------------------------------------------------------

    def rollback(self, name: str, alias: str) -> ModelVersion:
        """Return ``alias`` to the version it pointed at before, in one step.

        The previous version is the one below the current on the alias's
        deployment stack (:func:`~werft.registry.aliases.deployment_stack`),
        skipping rejected and archived versions. Rolling back needs no gate and
        no approval: the version was released once already.

        Raises:
            NotFoundError: No such model or alias.
            ConflictError: There is no previous version to return to.
        """
        check_alias(alias)
        actor = current_actor()
        with self._db.session() as session:
            model = get_model_row(session, name, lock=True)
            current = current_version(session, model, alias)
            if current is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            stack = deployment_stack(session, model, alias)
            if not stack or stack[-1] != current:
                stack.append(current)
            target, skipped = None, []
            for number in reversed(stack[:-1]):
                row = session.scalars(
                    select(ModelVersionRow).where(
                        ModelVersionRow.model_id == model.id, ModelVersionRow.version == number
                    )
                ).first()
                if row is not None and row.status not in _CLOSED:
                    target = row
                    break
                skipped.append(number)
            if target is None:
                why = f" (skipped {_numbers(skipped)}: rejected or archived)" if skipped else ""
                raise ConflictError(
                    f"{name}@{alias} has no previous version to return to{why}; promote a "
                    f"version with `werft promote {name} VERSION --to {alias}`"
                )
            at = self._clock()
            previous = move_alias(session, model, alias, target, actor=actor, at=at)
            audit.append(
                session,
                "alias.rolled_back",
                object_type="alias",
                object_id=f"{name}@{alias}",
                project=project_key(session, model),
                payload={"from": previous, "to": target.version, "skipped": skipped},
                at=at,
            )
            return _version(session, model, target)

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

    def _notify(
        self, event: str, approval: Approval, use_case: StoredUseCase | None
    ) -> list[NoticeDelivery]:
        channels = use_case.notify if use_case else []
        if not channels and self._notifier is None:
            return []
        with self._db.session(write=False) as session:
            configs = channel_configs(session, channels)
        outcomes = deliver(
            event,
            approval,
            channels=channels,
            configs=configs,
            notifier=self._notifier,
            at=self._clock(),
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


def _check_open(model: RegisteredModelRow, target: ModelVersionRow) -> None:
    if target.status in _CLOSED:
        raise ConflictError(
            f"version {target.version} of {model.name!r} is {target.status}; "
            "a rejected or archived version cannot be promoted"
        )


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


def _version(session: Session, model: RegisteredModelRow, row: ModelVersionRow) -> ModelVersion:
    return version_entities(session, model, [row])[0]


def _numbers(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def approvals_of(session: Session, rows: Sequence[ApprovalRow]) -> list[Approval]:
    """Approval entities, with model, version, project and the use case's approvers."""
    versions: dict[str, ModelVersionRow] = {}
    models: dict[str, tuple[RegisteredModelRow, str, list[str]]] = {}
    result = []
    for row in rows:
        version = versions.get(row.model_version_id) or session.get(
            ModelVersionRow, row.model_version_id
        )
        assert version is not None
        versions[row.model_version_id] = version
        if version.model_id not in models:
            model = session.get(RegisteredModelRow, version.model_id)
            assert model is not None
            use_case = load_use_case(session, model.project_id)
            models[version.model_id] = (
                model,
                project_key(session, model),
                use_case.approvers if use_case else [],
            )
        model, project, approvers = models[version.model_id]
        requested_at = aware(row.requested_at)
        assert requested_at is not None
        result.append(
            Approval(
                id=row.id,
                model=model.name,
                version=version.version,
                project=project,
                alias=row.alias,
                status=ApprovalStatus(row.status),
                requested_by=row.requested_by,
                requested_at=requested_at,
                reason=row.reason,
                gate_report_id=row.gate_report_id,
                override_reason=row.override_reason,
                decided_by=row.decided_by,
                decided_at=aware(row.decided_at),
                comment=row.comment,
                approvers=approvers,
            )
        )
    return result
