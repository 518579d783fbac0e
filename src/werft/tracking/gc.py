"""Purging deleted runs and projects, and blobs nothing references any more."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from werft.store.artifacts import ArtifactStore
from werft.store.db import Database
from werft.store.models import (
    ArtifactRow,
    DatasetVersionRow,
    ModelVersionRow,
    PredictionSegmentRow,
    ProjectRow,
    RunRow,
)
from werft.store.pipeline_models import PipelineRow, PipelineRunRow
from werft.tracking._rows import Clock, utcnow
from werft.tracking.entities import GcReport

# A blob written moments ago may belong to an upload whose record is not
# committed yet; leave young unreferenced blobs alone.
DEFAULT_BLOB_GRACE = timedelta(minutes=10)


class GarbageCollector:
    """Purge what was deleted long enough ago, then unreferenced blobs."""

    def __init__(
        self,
        db: Database,
        store: ArtifactStore,
        *,
        retention: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._store = store
        self._retention = retention
        self._clock = clock

    def collect(
        self,
        *,
        older_than: timedelta | None = None,
        blob_grace: timedelta = DEFAULT_BLOB_GRACE,
    ) -> GcReport:
        """Purge objects deleted more than ``older_than`` ago (default: the retention).

        Purging removes the metadata (a purged project's key can be used
        again) and then every blob that no remaining record references.
        """
        now = self._clock()
        cutoff = now - (self._retention if older_than is None else older_than)
        with self._db.session() as session:
            projects = list(
                session.scalars(
                    select(ProjectRow.key).where(
                        ProjectRow.deleted_at.is_not(None), ProjectRow.deleted_at <= cutoff
                    )
                )
            )
            purged = session.execute(
                delete(RunRow)
                .where(RunRow.deleted_at.is_not(None), RunRow.deleted_at <= cutoff)
                .returning(RunRow.id)
            )
            runs = len(purged.all())
            # Runs of purged projects go with them through ON DELETE CASCADE.
            session.execute(delete(ProjectRow).where(ProjectRow.key.in_(projects)))
        with self._db.session(write=False) as session:
            referenced = set(session.scalars(select(ArtifactRow.digest).distinct()))
            referenced.update(
                d
                for d in session.scalars(select(DatasetVersionRow.data_digest).distinct())
                if d is not None
            )
            referenced.update(session.scalars(select(PredictionSegmentRow.digest)))
            # Code snapshots of pipelines and of their runs (`werft reproduce` needs them).
            referenced.update(session.scalars(select(PipelineRow.code_digest)))
            referenced.update(session.scalars(select(PipelineRunRow.code_digest).distinct()))
            # A registered version keeps its package even after its run is purged.
            for files in session.scalars(select(ModelVersionRow.files)):
                referenced.update(files.values())
        deleted = freed = 0
        for blob in self._store.list_blobs():
            if blob.digest in referenced or blob.modified > now - blob_grace:
                continue
            self._store.delete(blob.digest)
            deleted += 1
            freed += blob.size
        return GcReport(
            projects_purged=projects, runs_purged=runs, blobs_deleted=deleted, bytes_freed=freed
        )
