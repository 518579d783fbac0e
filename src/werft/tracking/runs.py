"""Runs and what they record: params, tags, metrics, search."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from werft.errors import ConflictError, InvalidInputError, NotFoundError
from werft.governance import audit
from werft.governance.roles import trusted_name
from werft.store.db import Database
from werft.store.models import LatestMetricRow, MetricRow, ParamRow, RunRow, TagRow
from werft.store.search import runs_query
from werft.tracking._rows import (
    Clock,
    get_active_run_row,
    get_project_row,
    get_run_row,
    load_runs,
    utcnow,
)
from werft.tracking.entities import Metric, Page, Run, RunStatus
from werft.tracking.filter import parse_filter, parse_order_by
from werft.tracking.paging import check_page_size, decode_cursor, encode_cursor, fingerprint
from werft.tracking.validation import (
    check_key,
    check_name,
    metric_step,
    param_value,
    tag_value,
)

MAX_SEARCH_RESULTS = 50_000


class RunService:
    """Create and finish runs; log params, tags and metrics; search."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    # --- lifecycle ----------------------------------------------------------------

    def create(
        self,
        project: str,
        *,
        name: str | None = None,
        user: str = "",
        source_file: str | None = None,
        git_commit: str | None = None,
        git_dirty: bool | None = None,
        environment: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        start_time: datetime | None = None,
    ) -> Run:
        """Start a run in an existing project."""
        run_id = uuid.uuid4().hex
        checked_tags = {check_key("tag", k): tag_value(k, v) for k, v in (tags or {}).items()}
        with self._db.session() as session:
            project_row = get_project_row(session, project)
            session.add(
                RunRow(
                    id=run_id,
                    project_id=project_row.id,
                    name=check_name("run", name or f"run-{run_id[:8]}"),
                    status=RunStatus.RUNNING.value,
                    start_time=start_time or self._clock(),
                    end_time=None,
                    user=trusted_name(user),  # with auth on, the token's user
                    source_file=source_file,
                    git_commit=git_commit,
                    git_dirty=git_dirty,
                    environment=dict(environment or {}),
                    deleted_at=None,
                )
            )
            session.add_all(TagRow(run_id=run_id, key=k, value=v) for k, v in checked_tags.items())
            session.flush()
            audit.append(
                session,
                "run.created",
                object_type="run",
                object_id=run_id,
                project=project,
                payload={"name": name, "git_commit": git_commit},
                at=self._clock(),
            )
            return load_runs(session, [run_id])[0]

    def get(self, run_id: str) -> Run:
        """The run with its params, latest metrics, tags and inputs."""
        with self._db.session(write=False) as session:
            get_run_row(session, run_id)
            return load_runs(session, [run_id])[0]

    def end(
        self, run_id: str, status: RunStatus = RunStatus.FINISHED, end_time: datetime | None = None
    ) -> Run:
        """Finish a running run with a final status."""
        if status is RunStatus.RUNNING:
            raise InvalidInputError("a run ends as finished, failed or killed, not running")
        with self._db.session() as session:
            row = get_active_run_row(session, run_id)
            row.status = status.value
            row.end_time = end_time or self._clock()
            session.flush()
            return load_runs(session, [run_id])[0]

    def delete(self, run_id: str) -> None:
        """Mark the run deleted; restorable until `werft gc` purges it."""
        with self._db.session() as session:
            row = get_run_row(session, run_id)
            row.deleted_at = self._clock()
            audit.append(
                session, "run.deleted", object_type="run", object_id=run_id, at=row.deleted_at
            )

    def restore(self, run_id: str) -> Run:
        """Undo a delete that has not been purged yet."""
        with self._db.session() as session:
            row = get_run_row(session, run_id, include_deleted=True)
            if row.deleted_at is None:
                raise ConflictError(f"run {run_id} is not deleted")
            row.deleted_at = None
            session.flush()
            return load_runs(session, [run_id])[0]

    # --- params and tags ----------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Record params; re-logging the same value is fine, a different one is not."""
        checked = {check_key("param", k): param_value(k, v) for k, v in params.items()}
        if not checked:
            return
        with self._db.session() as session:
            get_active_run_row(session, run_id)
            existing = dict(
                session.execute(
                    select(ParamRow.key, ParamRow.value).where(
                        ParamRow.run_id == run_id, ParamRow.key.in_(checked)
                    )
                ).all()
            )
            for key, value in checked.items():
                if key in existing and existing[key] != value:
                    raise ConflictError(
                        f"param {key!r} already logged as {existing[key]!r}, now {value!r}; "
                        "params are immutable — log a new run to change it"
                    )
            session.add_all(
                ParamRow(run_id=run_id, key=k, value=v)
                for k, v in checked.items()
                if k not in existing
            )

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set or overwrite tags (tags, unlike params, may change)."""
        checked = {check_key("tag", k): tag_value(k, v) for k, v in tags.items()}
        with self._db.session() as session:
            get_run_row(session, run_id)
            for key, value in checked.items():
                session.merge(TagRow(run_id=run_id, key=key, value=value))

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._db.session() as session:
            get_run_row(session, run_id)
            row = session.get(TagRow, (run_id, key))
            if row is None:
                raise NotFoundError(f"run {run_id} has no tag {key!r}")
            session.delete(row)

    # --- metrics --------------------------------------------------------------------

    @staticmethod
    def check_metrics(points: Iterable[Metric]) -> list[Metric]:
        """Validate keys and steps of a batch before it goes anywhere."""
        checked = list(points)
        for key in {point.key for point in checked}:  # a batch has few distinct keys
            check_key("metric", key)
        for point in checked:
            metric_step(point.key, point.step)
        return checked

    def log_metrics(self, run_id: str, points: Sequence[Metric]) -> int:
        """Append points to the runs' histories in one transaction; returns the count."""
        points = self.check_metrics(points)
        if not points:
            return 0
        rows: list[dict[str, Any]] = [
            {
                "run_id": run_id,
                "key": p.key,
                "value": 0.0 if math.isnan(p.value) else p.value,
                "is_nan": math.isnan(p.value),
                "step": p.step,
                "timestamp": p.timestamp,
            }
            for p in points
        ]
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            key = str(row["key"])
            best = latest.get(key)
            if best is None or (row["step"], row["timestamp"]) >= (best["step"], best["timestamp"]):
                latest[key] = row
        with self._db.session() as session:
            get_active_run_row(session, run_id)
            session.execute(insert(MetricRow), rows)
            self._upsert_latest(session, list(latest.values()))
        return len(rows)

    def _upsert_latest(self, session: Session, rows: list[dict[str, Any]]) -> None:
        upsert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        stmt = upsert(LatestMetricRow)
        table = LatestMetricRow.__table__.c
        newer = or_(
            stmt.excluded.step > table.step,
            and_(stmt.excluded.step == table.step, stmt.excluded.timestamp >= table.timestamp),
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["run_id", "key"],
                set_={
                    "value": stmt.excluded.value,
                    "is_nan": stmt.excluded.is_nan,
                    "step": stmt.excluded.step,
                    "timestamp": stmt.excluded.timestamp,
                },
                where=newer,
            ),
            rows,
        )

    def get_metric_history(
        self, run_id: str, key: str, *, limit: int = 50_000, cursor: str | None = None
    ) -> Page[Metric]:
        """Every point of one metric, ordered by step, then time."""
        check_page_size(limit)
        query = fingerprint("history", run_id, key)
        offset = decode_cursor(cursor, query)
        with self._db.session(write=False) as session:
            get_run_row(session, run_id)
            result = session.execute(
                select(MetricRow.value, MetricRow.is_nan, MetricRow.step, MetricRow.timestamp)
                .where(MetricRow.run_id == run_id, MetricRow.key == key)
                .order_by(MetricRow.step, MetricRow.timestamp, MetricRow.id)
                .offset(offset)
                .limit(limit + 1)
            ).all()
        items = [
            Metric(key=key, value=math.nan if is_nan else value, step=step, timestamp=ts)
            for value, is_nan, step, ts in result[:limit]
        ]
        more = len(result) > limit
        return Page(items=items, next_cursor=encode_cursor(offset + limit, query) if more else None)

    def get_metric_series(self, run_id: str, key: str) -> tuple[list[int], list[float]]:
        """A metric's whole history as two lists, steps and values, ordered as the history.

        For charts: 100,000 points in a fraction of the time of the paged history,
        which builds one :class:`Metric` per point.
        """
        with self._db.session(write=False) as session:
            get_run_row(session, run_id)
            rows = session.execute(
                select(MetricRow.step, MetricRow.value, MetricRow.is_nan)
                .where(MetricRow.run_id == run_id, MetricRow.key == key)
                .order_by(MetricRow.step, MetricRow.timestamp, MetricRow.id)
            ).all()
        return [row[0] for row in rows], [math.nan if row[2] else row[1] for row in rows]

    # --- search ---------------------------------------------------------------------

    def search(
        self,
        project: str,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        cursor: str | None = None,
    ) -> Page[Run]:
        """Runs of a project matching a filter, e.g. ``metrics.auc > 0.8 and params.depth = '3'``.

        Args:
            project: The project key.
            filter: Conditions on ``metrics.``, ``params.``, ``tags.`` and run
                attributes, combined with AND, OR and parentheses.
            order_by: Items like ``"metrics.auc DESC"``; newest runs first by default.
            max_results: Page size (at most 50,000).
            cursor: ``next_cursor`` of the previous page.
        """
        check_page_size(max_results, MAX_SEARCH_RESULTS)
        expr = parse_filter(filter)
        keys = parse_order_by(order_by)
        query = _search_fingerprint(project, filter, order_by)
        offset = decode_cursor(cursor, query)
        with self._db.session(write=False) as session:
            project_row = get_project_row(session, project)
            stmt = runs_query(project_row.id, expr, keys).offset(offset).limit(max_results + 1)
            ids = list(session.scalars(stmt))
            runs = load_runs(session, ids[:max_results])
        more = len(ids) > max_results
        return Page(
            items=runs, next_cursor=encode_cursor(offset + max_results, query) if more else None
        )

    def search_cursor(
        self,
        project: str,
        *,
        filter: str | None = None,
        order_by: Sequence[str] | None = None,
        offset: int = 0,
    ) -> str | None:
        """The cursor of the :meth:`search` page that starts at ``offset`` (numbered pages).

        ``None`` for the first page; the cursor is bound to the same filter and
        ordering, like the ``next_cursor`` of a page.
        """
        if offset <= 0:
            return None
        return encode_cursor(offset, _search_fingerprint(project, filter, order_by))


def _search_fingerprint(project: str, filter: str | None, order_by: Sequence[str] | None) -> str:
    return fingerprint("search", project, filter, list(order_by or []))
