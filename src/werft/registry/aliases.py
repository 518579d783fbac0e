"""Moving an alias inside a caller's transaction, and reading where it has been.

:meth:`~werft.registry.service.ModelRegistry.set_alias` and the promotion
service (approvals, rollback) both move aliases; the move itself — the alias
row and its history entry — is written here, so there is one way to do it.
The caller holds the model row's lock (``get_model_row(..., lock=True)``),
which serialises every move of the model's aliases.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.store.models import AliasEventRow, AliasRow, ModelVersionRow, RegisteredModelRow


def move_alias(
    session: Session,
    model: RegisteredModelRow,
    alias: str,
    target: ModelVersionRow,
    *,
    actor: str,
    at: datetime,
) -> int | None:
    """Point ``alias`` at ``target`` and record the move; the previous version number."""
    link = session.get(AliasRow, (model.id, alias))
    previous = None
    if link is None:
        session.add(AliasRow(model_id=model.id, alias=alias, version_id=target.id, updated_at=at))
    else:
        old = session.get(ModelVersionRow, link.version_id)
        previous = old.version if old else None
        link.version_id, link.updated_at = target.id, at
    session.add(
        AliasEventRow(
            model_id=model.id,
            alias=alias,
            from_version=previous,
            to_version=target.version,
            actor=actor,
            at=at,
        )
    )
    session.flush()
    return previous


def current_version(session: Session, model: RegisteredModelRow, alias: str) -> int | None:
    """The version number ``alias`` points at now, or ``None``."""
    return session.scalar(
        select(ModelVersionRow.version)
        .join(AliasRow, AliasRow.version_id == ModelVersionRow.id)
        .where(AliasRow.model_id == model.id, AliasRow.alias == alias)
    )


def deployment_stack(session: Session, model: RegisteredModelRow, alias: str) -> list[int]:
    """The versions ``alias`` was moved through, oldest first, with returns folded away.

    Replays the alias history: a move onto a new version pushes it; a move back
    onto a version already on the stack (a rollback, or re-promoting an older
    version by hand) drops everything above it. So the entry below the top is
    where a rollback goes, and a second rollback goes one further back instead
    of bouncing between the last two versions. Deletions leave the stack alone.
    """
    stack: list[int] = []
    for to_version in session.scalars(
        select(AliasEventRow.to_version)
        .where(AliasEventRow.model_id == model.id, AliasEventRow.alias == alias)
        .order_by(AliasEventRow.id)
    ):
        if to_version is None:
            continue
        if to_version in stack:
            del stack[stack.index(to_version) + 1 :]
        else:
            stack.append(to_version)
    return stack
