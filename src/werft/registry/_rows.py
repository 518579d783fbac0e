"""Row lookups and row-to-entity conversion for the model registry."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from werft.errors import NotFoundError
from werft.registry.entities import ModelVersion, RegisteredModel, VersionStatus
from werft.store.models import AliasRow, ModelVersionRow, ProjectRow, RegisteredModelRow
from werft.tracking._rows import aware


def get_model_row(session: Session, name: str, *, lock: bool = False) -> RegisteredModelRow:
    """The model's row; ``lock`` holds it until the transaction ends."""
    stmt = select(RegisteredModelRow).where(RegisteredModelRow.name == name)
    if lock:
        stmt = stmt.with_for_update()  # serialises version numbering on PostgreSQL
    row = session.scalars(stmt).one_or_none()
    if row is None:
        raise NotFoundError(f"registered model {name!r} not found; `werft models list` shows them")
    return row


def get_version_row(session: Session, model: RegisteredModelRow, version: int) -> ModelVersionRow:
    """The row of one of the model's versions."""
    row = session.scalars(
        select(ModelVersionRow).where(
            ModelVersionRow.model_id == model.id, ModelVersionRow.version == version
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"model {model.name!r} has no version {version}")
    return row


def version_entities(
    session: Session, model: RegisteredModelRow, rows: Sequence[ModelVersionRow]
) -> list[ModelVersion]:
    """Version entities of the model's rows, with their project key and aliases."""
    project = session.scalar(select(ProjectRow.key).where(ProjectRow.id == model.project_id))
    aliases: dict[str, list[str]] = defaultdict(list)
    for alias, version_id in session.execute(
        select(AliasRow.alias, AliasRow.version_id).where(AliasRow.model_id == model.id)
    ):
        aliases[version_id].append(alias)
    return [
        ModelVersion(
            id=row.id,
            name=model.name,
            version=row.version,
            project=project or "",
            run_id=row.run_id,
            artifact_path=row.artifact_path,
            content_hash=row.content_hash,
            files=row.files,
            flavor=row.flavor,
            model_class=row.model_class,
            signature=row.signature,
            metrics=row.metrics,
            onnx=row.onnx,
            status=VersionStatus(row.status),
            aliases=sorted(aliases[row.id]),
            description=row.description,
            created_by=row.created_by,
            created_at=aware(row.created_at),
        )
        for row in rows
    ]


def model_entity(session: Session, row: RegisteredModelRow) -> RegisteredModel:
    """The model entity, with its project key, aliases and latest version number."""
    project = session.scalar(select(ProjectRow.key).where(ProjectRow.id == row.project_id))
    aliases = dict(
        session.execute(
            select(AliasRow.alias, ModelVersionRow.version)
            .join(ModelVersionRow, ModelVersionRow.id == AliasRow.version_id)
            .where(AliasRow.model_id == row.id)
        ).all()
    )
    latest = session.scalar(
        select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == row.id)
    )
    return RegisteredModel(
        id=row.id,
        name=row.name,
        project=project or "",
        description=row.description,
        tags=row.tags,
        aliases=aliases,
        latest_version=latest,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )
