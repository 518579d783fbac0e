"""Files a run logs: recorded by path, stored once by content hash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from werft.errors import InvalidInputError, NotFoundError
from werft.store.artifacts import ArtifactStore, BlobInfo, validate_artifact_path
from werft.store.db import Database
from werft.store.models import ArtifactRow
from werft.tracking._rows import Clock, aware, get_active_run_row, get_run_row, utcnow
from werft.tracking.entities import ArtifactInfo


def _entity(row: ArtifactRow) -> ArtifactInfo:
    return ArtifactInfo(
        path=row.path, digest=row.digest, size=row.size, created_at=aware(row.created_at)
    )


class ArtifactService:
    """Log, list and read a run's artifacts."""

    def __init__(self, db: Database, store: ArtifactStore, *, clock: Clock = utcnow) -> None:
        self._db = db
        self.store = store
        self._clock = clock

    def log_file(
        self, run_id: str, local_path: Path, artifact_path: str | None = None
    ) -> ArtifactInfo:
        """Store a local file and record it under ``artifact_path`` (default: its name)."""
        if not local_path.is_file():
            raise NotFoundError(f"artifact file {local_path} does not exist or is not a file")
        path = validate_artifact_path(artifact_path or local_path.name)
        with self._db.session(write=False) as session:
            get_active_run_row(session, run_id)  # refuse before uploading megabytes
        return self.record(run_id, path, self.store.put_file(local_path))

    def record(self, run_id: str, artifact_path: str, blob: BlobInfo) -> ArtifactInfo:
        """Record a blob already in the store as a run's artifact (overwrites the path)."""
        path = validate_artifact_path(artifact_path)
        if not self.store.exists(blob.digest):
            raise InvalidInputError(f"blob {blob.digest} is not in the artifact store")
        with self._db.session() as session:
            get_active_run_row(session, run_id)
            row = session.merge(
                ArtifactRow(
                    run_id=run_id,
                    path=path,
                    digest=blob.digest,
                    size=blob.size,
                    created_at=self._clock(),
                )
            )
            session.flush()
            return _entity(row)

    def list(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        """A run's artifacts, optionally below a folder, ordered by path."""
        with self._db.session(write=False) as session:
            get_run_row(session, run_id)
            stmt = select(ArtifactRow).where(ArtifactRow.run_id == run_id)
            if prefix:
                folder = validate_artifact_path(prefix).rstrip("/") + "/"
                stmt = stmt.where(ArtifactRow.path.startswith(folder, autoescape=True))
            return [_entity(row) for row in session.scalars(stmt.order_by(ArtifactRow.path))]

    def get(self, run_id: str, artifact_path: str) -> ArtifactInfo:
        """One artifact's record; ``NotFoundError`` names the path."""
        path = validate_artifact_path(artifact_path)
        with self._db.session(write=False) as session:
            get_run_row(session, run_id)
            row = session.get(ArtifactRow, (run_id, path))
            if row is None:
                raise NotFoundError(f"run {run_id} has no artifact {path!r}")
            return _entity(row)

    def iter_content(self, run_id: str, artifact_path: str) -> Iterator[bytes]:
        """Stream an artifact's bytes, verified against its hash."""
        return self.store.iter_chunks(self.get(run_id, artifact_path).digest)

    def download(self, run_id: str, artifact_path: str, dest: Path) -> Path:
        """Write an artifact to ``dest`` (a file path), verified; returns ``dest``."""
        info = self.get(run_id, artifact_path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.store.get_file(info.digest, dest)
        return dest
