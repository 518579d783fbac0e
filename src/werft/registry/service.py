"""The model registry: models, numbered versions, aliases with history, lineage."""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from werft.errors import AlreadyExistsError, ConflictError, NotFoundError, UnavailableError
from werft.governance import audit
from werft.governance.policy import check_alias_deletion, check_direct_move, check_status_change
from werft.governance.roles import trusted_name
from werft.pipelines.entities import PipelineStatus, decided_status
from werft.registry._rows import get_model_row, get_version_row, model_entity, version_entities
from werft.registry.aliases import move_alias
from werft.registry.entities import (
    AliasEvent,
    Lineage,
    ModelVersion,
    PipelineLink,
    RegisteredModel,
    SourceCode,
    VersionStatus,
)
from werft.registry.uris import ModelRef, check_alias, check_model_name
from werft.store.db import Database
from werft.store.models import (
    AliasEventRow,
    AliasRow,
    ApprovalRow,
    LatestMetricRow,
    ModelVersionRow,
    ProjectRow,
    RegisteredModelRow,
    RunInputRow,
    RunRow,
)
from werft.store.pipeline_models import PipelineRunRow
from werft.tracking._rows import (
    Clock,
    aware,
    get_project_row,
    load_runs,
    project_ids,
    utcnow,
)
from werft.tracking.entities import Page
from werft.tracking.paging import check_page_size, decode_cursor, encode_cursor, fingerprint

_ATTEMPTS = 5
_CLOSED = (VersionStatus.REJECTED, VersionStatus.ARCHIVED)


class ModelRegistry:
    """Register models and versions, move aliases, answer lineage questions."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    # --- models -------------------------------------------------------------------

    def create_model(self, name: str, project: str, *, description: str = "") -> RegisteredModel:
        """Register a model name in a project."""
        check_model_name(name)
        try:
            with self._db.session() as session:
                project_row = get_project_row(session, project)
                if session.scalar(
                    select(RegisteredModelRow.id).where(RegisteredModelRow.name == name)
                ):
                    raise AlreadyExistsError(f"registered model {name!r} already exists")
                now = self._clock()
                row = RegisteredModelRow(
                    id=uuid.uuid4().hex,
                    name=name,
                    project_id=project_row.id,
                    description=description,
                    tags={},
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()
                return model_entity(session, row)
        except DbIntegrityError as exc:
            raise AlreadyExistsError(f"registered model {name!r} already exists") from exc

    def get_model(self, name: str) -> RegisteredModel:
        with self._db.session(write=False) as session:
            return model_entity(session, get_model_row(session, name))

    def list_models(
        self,
        *,
        project: str | None = None,
        projects: Collection[str] | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[RegisteredModel]:
        """Registered models by name, optionally of one project.

        Args:
            project: Only this project's models.
            projects: Only models of these projects (the caller's, on a server
                with auth); None: every project.
            limit: Page size.
            cursor: The previous page's ``next_cursor``.
        """
        check_page_size(limit, 1000)
        query = fingerprint("models", project, sorted(projects) if projects is not None else None)
        offset = decode_cursor(cursor, query)
        with self._db.session(write=False) as session:
            stmt = select(RegisteredModelRow).order_by(RegisteredModelRow.name)
            if project is not None:
                stmt = stmt.where(
                    RegisteredModelRow.project_id == get_project_row(session, project).id
                )
            if projects is not None:
                stmt = stmt.where(RegisteredModelRow.project_id.in_(project_ids(projects)))
            rows = session.scalars(stmt.offset(offset).limit(limit + 1)).all()
            items = [model_entity(session, row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(offset + limit, query) if more else None)

    # --- versions -----------------------------------------------------------------

    def create_version(
        self,
        name: str,
        *,
        project: str,
        run_id: str | None,
        artifact_path: str,
        content_hash: str,
        files: Mapping[str, str],
        flavor: str,
        model_class: str,
        signature: Mapping[str, Any],
        onnx: Mapping[str, Any] | None = None,
        created_by: str = "",
        description: str = "",
    ) -> ModelVersion:
        """Register a package as the model's next version (the model is created on first use).

        Numbers are handed out atomically: concurrent registrations of one model
        get distinct consecutive numbers on SQLite and PostgreSQL.
        """
        check_model_name(name)
        for _ in range(_ATTEMPTS):
            try:
                return self._insert_version(
                    name,
                    project=project,
                    run_id=run_id,
                    artifact_path=artifact_path,
                    content_hash=content_hash,
                    files=dict(files),
                    flavor=flavor,
                    model_class=model_class,
                    signature=dict(signature),
                    onnx=dict(onnx) if onnx else None,
                    created_by=created_by,
                    description=description,
                )
            except DbIntegrityError:
                continue  # another process created the model or took the number: retry
        raise UnavailableError(f"could not register a version of {name!r}: too much contention")

    def _insert_version(self, name: str, *, project: str, **fields: Any) -> ModelVersion:
        with self._db.session() as session:
            project_row = get_project_row(session, project)
            model = session.scalars(
                select(RegisteredModelRow).where(RegisteredModelRow.name == name).with_for_update()
            ).one_or_none()
            now = self._clock()
            if model is None:
                model = RegisteredModelRow(
                    id=uuid.uuid4().hex,
                    name=name,
                    project_id=project_row.id,
                    description="",
                    tags={},
                    created_at=now,
                    updated_at=now,
                )
                session.add(model)
                session.flush()
            elif model.project_id != project_row.id:
                raise ConflictError(
                    f"model {name!r} belongs to another project; register it under its own "
                    "project or choose another name"
                )
            metrics: dict[str, Any] = {}
            if fields["run_id"] is not None:
                run = session.get(RunRow, fields["run_id"])
                if run is None:
                    raise NotFoundError(f"run {fields['run_id']!r} not found")
                metrics = {
                    key: ("NaN" if is_nan else value)
                    for key, value, is_nan in session.execute(
                        select(
                            LatestMetricRow.key, LatestMetricRow.value, LatestMetricRow.is_nan
                        ).where(LatestMetricRow.run_id == run.id)
                    )
                    if is_nan or math.isfinite(value)
                }
            number = (
                session.scalar(
                    select(func.max(ModelVersionRow.version)).where(
                        ModelVersionRow.model_id == model.id
                    )
                )
                or 0
            ) + 1
            row = ModelVersionRow(
                id=uuid.uuid4().hex,
                model_id=model.id,
                version=number,
                metrics=metrics,
                status=VersionStatus.CANDIDATE.value,
                created_at=now,
                **fields,
            )
            session.add(row)
            model.updated_at = now
            session.flush()
            audit.append(
                session,
                "model_version.registered",
                object_type="model_version",
                object_id=f"{name}/{number}",
                project=project,
                payload={"run_id": row.run_id, "content_hash": row.content_hash},
                at=now,
            )
            return version_entities(session, model, [row])[0]

    def get_version(self, name: str, version: int) -> ModelVersion:
        with self._db.session(write=False) as session:
            model = get_model_row(session, name)
            return version_entities(session, model, [get_version_row(session, model, version)])[0]

    def resolve(self, ref: ModelRef) -> ModelVersion:
        """The version a ``models:/`` URI points at."""
        assert ref.name is not None
        if ref.version is not None:
            return self.get_version(ref.name, ref.version)
        assert ref.alias is not None
        return self.get_alias(ref.name, ref.alias)

    def list_versions(
        self, name: str, *, limit: int = 100, cursor: str | None = None
    ) -> Page[ModelVersion]:
        """A model's versions, newest first."""
        check_page_size(limit, 1000)
        query = fingerprint("versions", name)
        offset = decode_cursor(cursor, query)
        with self._db.session(write=False) as session:
            model = get_model_row(session, name)
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.model_id == model.id)
                .order_by(ModelVersionRow.version.desc())
                .offset(offset)
                .limit(limit + 1)
            ).all()
            items = version_entities(session, model, rows[:limit])
        more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(offset + limit, query) if more else None)

    def set_status(self, name: str, version: int, status: VersionStatus) -> ModelVersion:
        """Set a version's status by hand: withdraw it, or reopen it.

        Gates set ``validated`` and approvals ``approved``; neither is set here
        (:func:`werft.governance.policy.check_status_change` says what is allowed).

        Raises:
            NotFoundError: No such model or version.
            ConflictError: The status is earned, or an alias points at the version.
            PermissionDeniedError: Reopening needs the ``approver`` role.
        """
        with self._db.session() as session:
            model = get_model_row(session, name, lock=True)
            row = get_version_row(session, model, version)
            if row.status == status.value:
                return version_entities(session, model, [row])[0]
            check_status_change(session, model, row, status)
            previous, row.status = row.status, status.value
            session.flush()
            if previous != row.status:
                audit.append(
                    session,
                    "model_version.status_changed",
                    object_type="model_version",
                    object_id=f"{name}/{version}",
                    project=_project_key(session, model),
                    payload={"from": previous, "to": row.status},
                    at=self._clock(),
                )
            return version_entities(session, model, [row])[0]

    # --- aliases ------------------------------------------------------------------

    def get_alias(self, name: str, alias: str) -> ModelVersion:
        check_alias(alias)
        with self._db.session(write=False) as session:
            model = get_model_row(session, name)
            link = session.get(AliasRow, (model.id, alias))
            if link is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            row = session.get(ModelVersionRow, link.version_id)
            assert row is not None
            return version_entities(session, model, [row])[0]

    def set_alias(self, name: str, alias: str, version: int, *, actor: str = "") -> ModelVersion:
        """Point ``alias`` at ``version`` (the deployment act); the move is recorded.

        An alias the project's use case gives a policy cannot be moved around
        it: an ``approval`` alias moves only through ``werft promote``, an
        ``automatic`` one only onto a version whose gate passed
        (:func:`werft.governance.policy.check_direct_move`).
        """
        check_alias(alias)
        with self._db.session() as session:
            model = get_model_row(session, name, lock=True)
            target = get_version_row(session, model, version)
            if target.status in _CLOSED:
                raise ConflictError(
                    f"version {version} of {name!r} is {target.status}; an alias cannot point at it"
                )
            check_direct_move(session, model, alias, target)
            now, who = self._clock(), trusted_name(actor)
            previous = move_alias(session, model, alias, target, actor=who, at=now)
            audit.append(
                session,
                "alias.moved",
                object_type="alias",
                object_id=f"{name}@{alias}",
                project=_project_key(session, model),
                payload={"from": previous, "to": version},
                actor=who,
                at=now,
            )
            return version_entities(session, model, [target])[0]

    def delete_alias(self, name: str, alias: str, *, actor: str = "", reason: str = "") -> None:
        """Remove an alias; the history keeps the deletion, the audit log the reason.

        An alias the use case releases with ``approval`` stops serving when
        deleted: that needs a project admin and a reason
        (:func:`werft.governance.policy.check_alias_deletion`).

        Raises:
            NotFoundError: No such model or alias.
            PermissionDeniedError: An ``approval`` alias, and the caller is no project admin.
            InvalidInputError: An ``approval`` alias, and no reason.
        """
        check_alias(alias)
        with self._db.session() as session:
            model = get_model_row(session, name, lock=True)
            link = session.get(AliasRow, (model.id, alias))
            if link is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            policy = check_alias_deletion(session, model, alias, reason)
            old = session.get(ModelVersionRow, link.version_id)
            session.delete(link)
            session.add(
                AliasEventRow(
                    model_id=model.id,
                    alias=alias,
                    from_version=old.version if old else None,
                    to_version=None,
                    actor=trusted_name(actor),
                    at=self._clock(),
                )
            )
            audit.append(
                session,
                "alias.deleted",
                object_type="alias",
                object_id=f"{name}@{alias}",
                project=_project_key(session, model),
                payload={
                    "from": old.version if old else None,
                    **({"policy": policy.value} if policy is not None else {}),
                    **({"reason": reason.strip()} if reason.strip() else {}),
                },
                actor=trusted_name(actor),
                at=self._clock(),
            )

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """Every move of the model's aliases (or of one), oldest first."""
        with self._db.session(write=False) as session:
            model = get_model_row(session, name)
            stmt = select(AliasEventRow).where(AliasEventRow.model_id == model.id)
            if alias is not None:
                stmt = stmt.where(AliasEventRow.alias == alias)
            return [
                AliasEvent(
                    alias=e.alias,
                    from_version=e.from_version,
                    to_version=e.to_version,
                    actor=e.actor,
                    at=aware(e.at),
                )
                for e in session.scalars(stmt.order_by(AliasEventRow.id))
            ]

    # --- lineage ------------------------------------------------------------------

    def lineage(self, name: str, version: int) -> Lineage:
        """The run behind a version: params, metrics, input datasets with hashes, code."""
        with self._db.session(write=False) as session:
            model = get_model_row(session, name)
            mv = version_entities(session, model, [get_version_row(session, model, version)])[0]
            runs = load_runs(session, [mv.run_id]) if mv.run_id else []
            pipeline = _pipeline_link(session, mv.id, mv.run_id)
        if not runs:
            return Lineage(version=mv, run_id=mv.run_id, pipeline_run=pipeline)
        run = runs[0]
        return Lineage(
            version=mv,
            run_id=run.id,
            run_name=run.name,
            params=run.params,
            metrics=run.metrics,
            datasets=run.inputs,
            code=SourceCode(
                source_file=run.source_file, git_commit=run.git_commit, git_dirty=run.git_dirty
            ),
            environment=run.environment,
            pipeline_run=pipeline,
        )

    def versions_trained_on(self, dataset_version_id: str) -> list[ModelVersion]:
        """The reverse lineage: model versions whose run used this dataset version."""
        with self._db.session(write=False) as session:
            rows = session.scalars(
                select(ModelVersionRow)
                .join(RunInputRow, RunInputRow.run_id == ModelVersionRow.run_id)
                .where(RunInputRow.dataset_version_id == dataset_version_id)
                .order_by(ModelVersionRow.created_at)
            ).all()
            result: list[ModelVersion] = []
            for row in rows:
                model = session.get(RegisteredModelRow, row.model_id)
                assert model is not None
                result.extend(version_entities(session, model, [row]))
            return result


def _pipeline_link(session: Session, version_id: str, run_id: str | None) -> PipelineLink | None:
    """The pipeline run that registered the version (or ran its training run), newest first."""
    condition = PipelineRunRow.model_version_id == version_id
    if run_id is not None:
        condition = or_(condition, PipelineRunRow.training_run_id == run_id)
    row = session.scalars(
        select(PipelineRunRow).where(condition).order_by(PipelineRunRow.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    approval = (
        session.scalar(select(ApprovalRow.status).where(ApprovalRow.id == row.approval_id))
        if row.approval_id is not None
        else None
    )
    status = decided_status(PipelineStatus(row.status), approval).value
    return PipelineLink(
        id=row.id,
        trigger=row.trigger,
        trigger_detail=row.trigger_detail,
        status=status,
        code_digest=row.code_digest,
        gate_report_id=row.gate_report_id,
        approval_id=row.approval_id,
        alias=row.alias,
    )


def _project_key(session: Session, model: RegisteredModelRow) -> str:
    project = session.get(ProjectRow, model.project_id)
    return project.key if project is not None else ""
