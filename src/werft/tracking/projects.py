"""Projects: the use cases that runs, models and deployments belong to."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from werft.errors import AlreadyExistsError, ConflictError
from werft.governance import audit
from werft.store.db import Database
from werft.store.models import ProjectRow
from werft.tracking._rows import Clock, get_project_row, project_entity, utcnow
from werft.tracking.entities import Page, Project
from werft.tracking.paging import check_page_size, decode_cursor, encode_cursor, fingerprint
from werft.tracking.validation import check_name, check_project_key


class ProjectService:
    """Create, find, list, delete and restore projects."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def create(self, key: str, *, name: str | None = None, description: str = "") -> Project:
        """Create a project; its key must be new (a deleted one must be purged first)."""
        check_project_key(key)
        check_name("project", name or key)
        try:
            with self._db.session() as session:
                existing = session.scalars(
                    select(ProjectRow).where(ProjectRow.key == key)
                ).one_or_none()
                if existing is not None:
                    raise self._exists(existing)
                row = ProjectRow(
                    id=uuid.uuid4().hex,
                    key=key,
                    name=name or key,
                    description=description,
                    created_at=self._clock(),
                    deleted_at=None,
                )
                session.add(row)
                session.flush()
                audit.append(
                    session,
                    "project.created",
                    object_type="project",
                    object_id=key,
                    project=key,
                    payload={"name": row.name},
                    at=row.created_at,
                )
                return project_entity(row)
        except DbIntegrityError as exc:
            raise AlreadyExistsError(f"project {key!r} already exists") from exc

    def get_or_create(self, key: str) -> Project:
        """The project with this key, created on first use (as ``start_run`` does).

        A deleted project is not silently re-created: ``ConflictError`` says how
        to restore or purge it.
        """
        found = self.find(key)
        if found is not None:
            return found
        try:
            return self.create(key)
        except AlreadyExistsError:
            # Another process created it between our look and our insert.
            return self.get(key)

    def get(self, key: str) -> Project:
        """The project; ``NotFoundError`` when missing or deleted."""
        with self._db.session(write=False) as session:
            return project_entity(get_project_row(session, key))

    def find(self, key: str) -> Project | None:
        """The project, or None when missing or deleted."""
        with self._db.session(write=False) as session:
            row = session.scalars(select(ProjectRow).where(ProjectRow.key == key)).one_or_none()
            if row is None or row.deleted_at is not None:
                return None
            return project_entity(row)

    def list(
        self,
        *,
        limit: int = 100,
        cursor: str | None = None,
        include_deleted: bool = False,
        keys: Collection[str] | None = None,
    ) -> Page[Project]:
        """Projects ordered by key; ``keys``: only these (the caller's), None: all."""
        check_page_size(limit, 1000)
        query = fingerprint("projects", include_deleted, sorted(keys) if keys is not None else None)
        offset = decode_cursor(cursor, query)
        with self._db.session(write=False) as session:
            stmt = select(ProjectRow).order_by(ProjectRow.key)
            if not include_deleted:
                stmt = stmt.where(ProjectRow.deleted_at.is_(None))
            if keys is not None:
                stmt = stmt.where(ProjectRow.key.in_(sorted(keys)))
            rows = session.scalars(stmt.offset(offset).limit(limit + 1)).all()
        items = [project_entity(row) for row in rows[:limit]]
        more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(offset + limit, query) if more else None)

    def count(self) -> int:
        with self._db.session(write=False) as session:
            return session.scalar(select(func.count()).select_from(ProjectRow)) or 0

    def delete(self, key: str) -> Project:
        """Mark the project deleted; restorable until `werft gc` purges it."""
        with self._db.session() as session:
            row = get_project_row(session, key)
            row.deleted_at = self._clock()
            audit.append(
                session,
                "project.deleted",
                object_type="project",
                object_id=key,
                project=key,
                at=row.deleted_at,
            )
            return project_entity(row)

    def restore(self, key: str) -> Project:
        """Undo a delete that has not been purged yet."""
        with self._db.session() as session:
            row = get_project_row(session, key, include_deleted=True)
            if row.deleted_at is None:
                raise ConflictError(f"project {key!r} is not deleted")
            row.deleted_at = None
            audit.append(
                session,
                "project.restored",
                object_type="project",
                object_id=key,
                project=key,
                at=self._clock(),
            )
            return project_entity(row)

    @staticmethod
    def _exists(row: ProjectRow) -> AlreadyExistsError | ConflictError:
        if row.deleted_at is None:
            return AlreadyExistsError(f"project {row.key!r} already exists")
        return ConflictError(
            f"project {row.key!r} was deleted on {row.deleted_at:%Y-%m-%d}; restore it with "
            f"`werft projects restore {row.key}` or purge it with `werft gc` to reuse the key"
        )
