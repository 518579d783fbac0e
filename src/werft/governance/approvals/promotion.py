"""Promotion: move an alias at once or request approval, behind the version's gate."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.errors import ConflictError, InvalidInputError, PermissionDeniedError
from werft.governance import audit
from werft.governance.actor import current_actor
from werft.governance.approval_entities import ApprovalStatus, PromotionResult
from werft.governance.approvals._base import PromotionBase
from werft.governance.approvals._rows import approvals_of, check_open, version_entity
from werft.governance.policy import (
    Policy,
    gate_problem,
    latest_gate,
    load_use_case,
    project_key,
    synced_digest,
)
from werft.registry._rows import get_model_row, get_version_row
from werft.registry.aliases import current_version
from werft.registry.uris import check_alias
from werft.store.models import ApprovalRow, ModelVersionRow, RegisteredModelRow


class Promotions(PromotionBase):
    """Promote a version to an alias, as the use case's policy says."""

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
            check_open(model, target)
            use_case = load_use_case(session, model.project_id)
            policy = (use_case.policy_for(alias) if use_case else None) or Policy.AUTOMATIC
            if current_version(session, model, alias) == version:
                return PromotionResult(
                    moved=False, alias=alias, version=version_entity(session, model, target)
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
                        version=version_entity(session, model, target),
                        approval=approvals_of(session, [pending])[0],
                        already_pending=True,
                    )
            gate_id, overridden = self._gate(session, model, target, alias, override_reason)
            if policy is Policy.AUTOMATIC:
                previous = self._move(session, model, target, alias, actor=actor, extra={})
                return PromotionResult(
                    moved=True,
                    alias=alias,
                    version=version_entity(session, model, target),
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
            queued = self._queue(session, "requested", approval, use_case)
            entity = version_entity(session, model, target)
        notices = self._announce("requested", approval, queued)
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
