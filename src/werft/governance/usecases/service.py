"""Use cases in the metadata store: one per project, synced from its ``werft.yaml``."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from werft.errors import AlreadyExistsError, InvalidInputError, NotFoundError, UnavailableError
from werft.governance import audit
from werft.governance.actor import current_actor
from werft.governance.usecases.entities import SyncedUseCase, UseCaseSync
from werft.governance.usecases.spec import UseCase
from werft.store.db import Database
from werft.store.models import UseCaseRow
from werft.tracking._rows import Clock, aware, get_project_row, utcnow
from werft.tracking.projects import ProjectService

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_ATTEMPTS = 5


def spec_digest(spec: UseCase) -> str:
    """The digest of a use case sent without its file: SHA-256 of its canonical JSON."""
    canonical = orjson.dumps(spec.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return f"sha256:{hashlib.sha256(canonical).hexdigest()}"


class UseCaseService:
    """Store a project's use case (creating the project on first sync) and read it back."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock
        self._projects = ProjectService(db, clock=clock)

    def sync(self, spec: UseCase, digest: str | None = None) -> UseCaseSync:
        """Store ``spec`` as the use case of project ``spec.key``; audited as ``use_case.synced``.

        Syncing the file that was synced last changes nothing and records nothing.

        Args:
            spec: The validated use case.
            digest: SHA-256 of the file (``sha256:<hex>``); default the digest of the spec.

        Raises:
            InvalidInputError: The digest is malformed.
            ConflictError: The project was deleted (restore or purge it first).
        """
        digest = digest or spec_digest(spec)
        if not _DIGEST.match(digest):
            raise InvalidInputError(f"digest {digest!r} is not of the form sha256:<64 hex digits>")
        project_created = self._ensure_project(spec.key)
        for _ in range(_ATTEMPTS):
            try:
                result = self._store(spec, digest)
            except DbIntegrityError:
                continue  # a concurrent first sync of the project won; compare with it
            return result.model_copy(update={"project_created": project_created})
        raise UnavailableError(f"could not sync the use case of {spec.key!r}: too much contention")

    def get(self, project_key: str) -> UseCase:
        """The project's use case.

        Raises:
            NotFoundError: No such project, or it has no use case yet.
        """
        return self.get_synced(project_key).spec

    def get_synced(self, project_key: str) -> SyncedUseCase:
        """The project's use case with its file digest and who synced it when."""
        with self._db.session(write=False) as session:
            project = get_project_row(session, project_key)
            row = session.get(UseCaseRow, project.id)
            if row is None:
                raise NotFoundError(
                    f"project {project_key!r} has no use case; sync its werft.yaml with "
                    "`werft validate --sync`"
                )
            return _synced(row, project_key)

    def find(self, project_key: str) -> UseCase | None:
        """The project's use case, or None when it has none (or does not exist)."""
        try:
            return self.get(project_key)
        except NotFoundError:
            return None

    def _ensure_project(self, key: str) -> bool:
        if self._projects.find(key) is not None:
            return False
        try:
            self._projects.create(key)
        except AlreadyExistsError:
            return False  # created by someone else meanwhile
        return True

    def _store(self, spec: UseCase, digest: str) -> UseCaseSync:
        new = spec.model_dump(mode="json")
        with self._db.session() as session:
            project = get_project_row(session, spec.key)
            row = session.get(UseCaseRow, project.id)
            if row is not None and row.digest == digest and row.spec == new:
                return UseCaseSync(use_case=_synced(row, spec.key), created=False, stored=False)
            old: dict[str, Any] = dict(row.spec) if row is not None else {}
            changed = [name for name, value in new.items() if old.get(name) != value]
            now, actor = self._clock(), current_actor()
            if row is None:
                row = UseCaseRow(project_id=project.id, spec=new, digest=digest)
                session.add(row)
            previous = row.digest if old else None
            row.spec, row.digest, row.updated_at, row.updated_by = new, digest, now, actor
            # The project record mirrors the use case it is for.
            project.name, project.description = spec.name, spec.business_goal
            session.flush()
            audit.append(
                session,
                "use_case.synced",
                object_type="use_case",
                object_id=spec.key,
                project=spec.key,
                payload={
                    "digest": digest,
                    "previous_digest": previous,
                    "created": not old,
                    "changed": {name: {"from": old.get(name), "to": new[name]} for name in changed},
                },
                actor=actor,
                at=now,
            )
            return UseCaseSync(use_case=_synced(row, spec.key), created=not old, changed=changed)


def _synced(row: UseCaseRow, project_key: str) -> SyncedUseCase:
    updated_at = aware(row.updated_at)
    assert updated_at is not None
    return SyncedUseCase(
        project=project_key,
        spec=UseCase.model_validate(row.spec),
        digest=row.digest,
        updated_at=updated_at,
        updated_by=row.updated_by,
    )
