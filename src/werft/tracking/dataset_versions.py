"""Dataset versions: named, numbered, content-hashed tables used by runs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from werft.errors import InvalidInputError, NotFoundError, UnavailableError
from werft.governance import audit
from werft.store.artifacts import ArtifactStore
from werft.store.db import Database
from werft.store.models import DatasetVersionRow, ProjectRow, RunInputRow
from werft.tracking._rows import (
    Clock,
    dataset_entity,
    get_active_run_row,
    get_project_row,
    utcnow,
)
from werft.tracking.entities import DatasetVersion
from werft.tracking.validation import check_key

_REGISTER_ATTEMPTS = 5


class DatasetService:
    """Register dataset versions and link them to runs as inputs."""

    def __init__(self, db: Database, store: ArtifactStore, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._store = store
        self._clock = clock

    def register(
        self,
        project: str,
        name: str,
        description: dict[str, Any],
        *,
        data_digest: str | None = None,
    ) -> DatasetVersion:
        """The version of ``name`` with this content; a new number for new content.

        Args:
            project: Project key.
            name: Dataset name, e.g. ``customers``.
            description: ``DatasetDescription`` as JSON: digest, row_count,
                schema, profile, source_uri.
            data_digest: Blob holding the data as Parquet, when it was stored.
        """
        check_key("dataset", name)
        try:
            digest = str(description["digest"])
            row_count = int(description["row_count"])
            schema, profile = list(description["schema"]), dict(description["profile"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"dataset description needs digest, row_count, schema and profile: {exc}"
            ) from exc
        if data_digest is not None and not self._store.exists(data_digest):
            raise InvalidInputError(f"data blob {data_digest} is not in the artifact store")
        for _ in range(_REGISTER_ATTEMPTS):
            try:
                with self._db.session() as session:
                    project_row = get_project_row(session, project)
                    existing = session.scalars(
                        select(DatasetVersionRow).where(
                            DatasetVersionRow.project_id == project_row.id,
                            DatasetVersionRow.name == name,
                            DatasetVersionRow.digest == digest,
                        )
                    ).one_or_none()
                    if existing is not None:
                        if existing.data_digest is None and data_digest is not None:
                            existing.data_digest = data_digest
                        return dataset_entity(existing, project)
                    latest = session.scalar(
                        select(func.max(DatasetVersionRow.version)).where(
                            DatasetVersionRow.project_id == project_row.id,
                            DatasetVersionRow.name == name,
                        )
                    )
                    row = DatasetVersionRow(
                        id=uuid.uuid4().hex,
                        project_id=project_row.id,
                        name=name,
                        version=(latest or 0) + 1,
                        digest=digest,
                        row_count=row_count,
                        schema_=schema,
                        profile=profile,
                        source_uri=description.get("source_uri"),
                        data_digest=data_digest,
                        created_at=self._clock(),
                    )
                    session.add(row)
                    session.flush()
                    audit.append(
                        session,
                        "dataset_version.registered",
                        object_type="dataset_version",
                        object_id=f"{project}/{name}@{row.version}",
                        project=project,
                        payload={"digest": digest, "rows": row_count},
                        at=row.created_at,
                    )
                    return dataset_entity(row, project)
            except DbIntegrityError:
                continue  # a concurrent registration took the number; look again
        raise UnavailableError(f"could not register dataset {name!r}: too much contention")

    def link_input(self, run_id: str, dataset_version_id: str, context: str = "training") -> None:
        """Record that a run used a dataset version (idempotent)."""
        check_key("dataset context", context)
        with self._db.session() as session:
            run = get_active_run_row(session, run_id)
            version = session.get(DatasetVersionRow, dataset_version_id)
            if version is None or version.project_id != run.project_id:
                raise NotFoundError(
                    f"dataset version {dataset_version_id!r} not found in the run's project"
                )
            session.merge(
                RunInputRow(run_id=run_id, dataset_version_id=dataset_version_id, context=context)
            )

    def get(self, project: str, name: str, version: int | str = "latest") -> DatasetVersion:
        """A version by number, or the newest with ``"latest"``."""
        with self._db.session(write=False) as session:
            project_row = get_project_row(session, project)
            stmt = select(DatasetVersionRow).where(
                DatasetVersionRow.project_id == project_row.id, DatasetVersionRow.name == name
            )
            if version == "latest":
                stmt = stmt.order_by(DatasetVersionRow.version.desc()).limit(1)
            else:
                stmt = stmt.where(DatasetVersionRow.version == int(version))
            row = session.scalars(stmt).first()
            if row is None:
                raise NotFoundError(f"dataset {name!r} version {version} not found in {project!r}")
            return dataset_entity(row, project)

    def list(self, project: str, name: str | None = None) -> list[DatasetVersion]:
        """Dataset versions of a project, by name then version."""
        with self._db.session(write=False) as session:
            project_row: ProjectRow = get_project_row(session, project)
            stmt = select(DatasetVersionRow).where(DatasetVersionRow.project_id == project_row.id)
            if name is not None:
                stmt = stmt.where(DatasetVersionRow.name == name)
            stmt = stmt.order_by(DatasetVersionRow.name, DatasetVersionRow.version)
            return [dataset_entity(row, project) for row in session.scalars(stmt)]
