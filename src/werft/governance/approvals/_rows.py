"""Approval rows as entities, and the check that a version may still be released."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from werft.errors import ConflictError
from werft.governance.approval_entities import Approval, ApprovalStatus
from werft.governance.policy import load_use_case, project_key
from werft.registry._rows import version_entities
from werft.registry.entities import ModelVersion, VersionStatus
from werft.store.models import ApprovalRow, ModelVersionRow, RegisteredModelRow
from werft.tracking._rows import aware

CLOSED = (VersionStatus.REJECTED.value, VersionStatus.ARCHIVED.value)


def check_open(model: RegisteredModelRow, target: ModelVersionRow) -> None:
    if target.status in CLOSED:
        raise ConflictError(
            f"version {target.version} of {model.name!r} is {target.status}; "
            "a rejected or archived version cannot be promoted"
        )


def version_entity(
    session: Session, model: RegisteredModelRow, row: ModelVersionRow
) -> ModelVersion:
    return version_entities(session, model, [row])[0]


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
