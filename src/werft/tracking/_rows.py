"""Row lookups and row-to-entity conversion shared by the tracking services."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from werft.errors import ConflictError, NotFoundError
from werft.store.models import (
    DatasetVersionRow,
    LatestMetricRow,
    ParamRow,
    ProjectRow,
    RunInputRow,
    RunRow,
    TagRow,
)
from werft.tracking.entities import (
    DatasetInput,
    DatasetVersion,
    Project,
    Run,
    RunStatus,
)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; werft stores UTC, so say so."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def project_entity(row: ProjectRow) -> Project:
    return Project(
        id=row.id,
        key=row.key,
        name=row.name,
        description=row.description,
        created_at=aware(row.created_at),
        deleted_at=aware(row.deleted_at),
    )


def dataset_entity(row: DatasetVersionRow, project_key: str) -> DatasetVersion:
    return DatasetVersion(
        id=row.id,
        project=project_key,
        name=row.name,
        version=row.version,
        digest=row.digest,
        row_count=row.row_count,
        schema_=row.schema_,
        profile=row.profile,
        source_uri=row.source_uri,
        data_digest=row.data_digest,
        created_at=aware(row.created_at),
    )


def get_project_row(session: Session, key: str, *, include_deleted: bool = False) -> ProjectRow:
    row = session.scalars(select(ProjectRow).where(ProjectRow.key == key)).one_or_none()
    if row is None or (row.deleted_at is not None and not include_deleted):
        raise NotFoundError(f"project {key!r} not found; `werft projects list` shows the projects")
    return row


def project_ids(keys: Collection[str]) -> Select[str]:
    """The ids of the projects with these keys, as a subquery for ``column.in_(...)``."""
    return select(ProjectRow.id).where(ProjectRow.key.in_(sorted(keys)))


def get_run_row(session: Session, run_id: str, *, include_deleted: bool = False) -> RunRow:
    row = session.get(RunRow, run_id)
    if row is None or (row.deleted_at is not None and not include_deleted):
        raise NotFoundError(f"run {run_id!r} not found")
    return row


def get_active_run_row(session: Session, run_id: str) -> RunRow:
    """The run, which must still be running to accept data."""
    row = get_run_row(session, run_id)
    if row.status != RunStatus.RUNNING:
        raise ConflictError(
            f"run {run_id} is {row.status}; it no longer accepts data — start a new run"
        )
    return row


def load_runs(session: Session, run_ids: Sequence[str]) -> list[Run]:
    """Full run entities for the ids, in the given order, with four batched queries."""
    if not run_ids:
        return []
    ids = list(run_ids)
    rows = {row.id: row for row in session.scalars(select(RunRow).where(RunRow.id.in_(ids)))}
    projects = dict(
        session.execute(
            select(ProjectRow.id, ProjectRow.key).where(
                ProjectRow.id.in_({row.project_id for row in rows.values()})
            )
        ).all()
    )
    params: dict[str, dict[str, str]] = defaultdict(dict)
    for run_id, key, value in session.execute(
        select(ParamRow.run_id, ParamRow.key, ParamRow.value).where(ParamRow.run_id.in_(ids))
    ):
        params[run_id][key] = value
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    for run_id, key, text in session.execute(
        select(TagRow.run_id, TagRow.key, TagRow.value).where(TagRow.run_id.in_(ids))
    ):
        tags[run_id][key] = text
    metrics: dict[str, dict[str, float]] = defaultdict(dict)
    for run_id, key, number, is_nan in session.execute(
        select(
            LatestMetricRow.run_id,
            LatestMetricRow.key,
            LatestMetricRow.value,
            LatestMetricRow.is_nan,
        ).where(LatestMetricRow.run_id.in_(ids))
    ):
        metrics[run_id][key] = math.nan if is_nan else number
    inputs: dict[str, list[DatasetInput]] = defaultdict(list)
    for run_id, context, dv in session.execute(
        select(RunInputRow.run_id, RunInputRow.context, DatasetVersionRow)
        .join(DatasetVersionRow, DatasetVersionRow.id == RunInputRow.dataset_version_id)
        .where(RunInputRow.run_id.in_(ids))
    ):
        inputs[run_id].append(
            DatasetInput(
                dataset_version_id=dv.id,
                name=dv.name,
                version=dv.version,
                digest=dv.digest,
                context=context,
            )
        )
    result = []
    for run_id in ids:
        row = rows.get(run_id)
        if row is None:
            continue
        result.append(
            Run(
                id=row.id,
                project=projects[row.project_id],
                name=row.name,
                status=RunStatus(row.status),
                start_time=aware(row.start_time),
                end_time=aware(row.end_time),
                user=row.user,
                source_file=row.source_file,
                git_commit=row.git_commit,
                git_dirty=row.git_dirty,
                environment=row.environment,
                params=params[run_id],
                metrics=metrics[run_id],
                tags=tags[run_id],
                inputs=inputs[run_id],
                deleted_at=aware(row.deleted_at),
            )
        )
    return result
