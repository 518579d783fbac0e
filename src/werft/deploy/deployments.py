"""Deployments: serving replicas register, heartbeat, ship log segments and feedback."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.deploy.entities import (
    Deployment,
    LatencyHistogram,
    Replica,
    Segment,
    ServingStats,
    ServingWindow,
)
from werft.deploy.serving_stats import summarize
from werft.errors import InvalidInputError, NotFoundError
from werft.registry.uris import check_model_name
from werft.store.db import Database
from werft.store.models import (
    DeploymentRow,
    FeedbackRow,
    PredictionSegmentRow,
    ProjectRow,
    RegisteredModelRow,
    ReplicaRow,
    ServingStatsRow,
)
from werft.tracking._rows import Clock, aware, utcnow

# A replica that missed this many seconds of heartbeats counts as gone.
REPLICA_TIMEOUT = timedelta(seconds=30)
MAX_LABEL_LENGTH = 1000


def deployment_row(session: Session, name: str) -> DeploymentRow:
    row = session.scalars(select(DeploymentRow).where(DeploymentRow.name == name)).one_or_none()
    if row is None:
        raise NotFoundError(f"deployment {name!r} not found; `werft deployments list` shows them")
    return row


def deployments_within(session: Session, projects: Collection[str]) -> list[str]:
    """The ids of the deployments all of whose served models belong to ``projects``.

    A deployment belongs to the projects of the models it serves (as access
    control reads it); one serving nothing registered belongs to none. The
    served models live in a JSON column, so this reads every deployment's
    list (a handful per server) and every served model's project in one query.
    """
    served = session.execute(select(DeploymentRow.id, DeploymentRow.models)).all()
    names = sorted({name for _, models in served for name in models or {}})
    owner: dict[str, str] = dict(
        session.execute(
            select(RegisteredModelRow.name, ProjectRow.key)
            .join(ProjectRow, ProjectRow.id == RegisteredModelRow.project_id)
            .where(RegisteredModelRow.name.in_(names))
        ).all()
    )
    allowed = set(projects)
    found = []
    for deployment_id, models in served:
        keys = {owner[name] for name in models or {} if name in owner}
        if keys and keys <= allowed:
            found.append(deployment_id)
    return found


class DeploymentService:
    """The metadata side of serving."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def _entity(self, session: Session, row: DeploymentRow) -> Deployment:
        now = self._clock()

        def alive(replica: ReplicaRow) -> bool:
            beat = aware(replica.heartbeat_at)
            return replica.status != "stopped" and beat is not None and now - beat < REPLICA_TIMEOUT

        replicas = [
            Replica(
                id=r.id,
                address=r.address,
                host=r.host,
                pid=r.pid,
                status=r.status,
                serving=r.serving,
                started_at=aware(r.started_at),
                heartbeat_at=aware(r.heartbeat_at),
                alive=alive(r),
            )
            for r in session.scalars(
                select(ReplicaRow)
                .where(ReplicaRow.deployment_id == row.id)
                .order_by(ReplicaRow.started_at)
            )
        ]
        return Deployment(
            id=row.id,
            name=row.name,
            models=row.models,
            strategy=row.strategy,
            replicas=replicas,
            created_at=aware(row.created_at),
            updated_at=aware(row.updated_at),
        )

    def register_replica(
        self,
        deployment: str,
        *,
        models: Mapping[str, Any],
        strategy: str,
        replica_id: str,
        address: str,
        host: str,
        pid: int,
    ) -> Deployment:
        """Create or update the deployment and add this replica to it."""
        check_model_name(deployment)
        now = self._clock()
        with self._db.session() as session:
            row = session.scalars(
                select(DeploymentRow).where(DeploymentRow.name == deployment)
            ).one_or_none()
            if row is None:
                row = DeploymentRow(
                    id=uuid.uuid4().hex,
                    name=deployment,
                    models=dict(models),
                    strategy=strategy,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()
            elif row.models != dict(models) or row.strategy != strategy:
                row.models, row.strategy, row.updated_at = dict(models), strategy, now
            session.merge(
                ReplicaRow(
                    id=replica_id,
                    deployment_id=row.id,
                    address=address,
                    host=host,
                    pid=pid,
                    status="starting",
                    serving={},
                    started_at=now,
                    heartbeat_at=now,
                )
            )
            session.flush()
            return self._entity(session, row)

    def heartbeat(
        self,
        replica_id: str,
        *,
        status: str,
        serving: Mapping[str, Any],
        stats: ServingStats | None = None,
    ) -> None:
        """A replica says it is alive, ready or not, which versions it serves, what it answered.

        ``stats`` are the replica's requests since its last successful
        heartbeat.  A replica whose heartbeat failed sends the same interval
        again, grown by the time since: an interval with the start of one
        already stored replaces it, so a heartbeat that was stored but whose
        answer got lost counts once.
        """
        with self._db.session() as session:
            row = session.get(ReplicaRow, replica_id)
            if row is None:
                raise NotFoundError(f"replica {replica_id!r} is not registered")
            row.status, row.serving, row.heartbeat_at = status, dict(serving), self._clock()
            if stats is not None:
                _store_stats(session, row, stats)

    def serving_window(self, deployment: str, start_ms: int, end_ms: int) -> ServingWindow:
        """Requests, errors, rejections and latency of every replica over a window.

        Sums every stats interval that overlaps ``[start_ms, end_ms)``; see
        :class:`~werft.deploy.entities.ServingWindow`.
        """
        if end_ms <= start_ms:
            raise InvalidInputError(f"the window ends ({end_ms}) before it starts ({start_ms})")
        with self._db.session(write=False) as session:
            row = deployment_row(session, deployment)
            rows = session.scalars(
                select(ServingStatsRow).where(
                    ServingStatsRow.deployment_id == row.id,
                    ServingStatsRow.end_ms > start_ms,
                    ServingStatsRow.start_ms < end_ms,
                )
            ).all()
            intervals = [
                ServingStats(
                    start_ms=r.start_ms,
                    end_ms=r.end_ms,
                    requests=r.requests,
                    errors=r.errors,
                    rejected=r.rejected,
                    latency=LatencyHistogram.model_validate(r.latency),
                    rejected_fields=r.rejected_fields,
                )
                for r in rows
            ]
            replicas = len({r.replica_id for r in rows})
        return summarize(intervals, start_ms, end_ms, replicas=replicas)

    def get(self, name: str) -> Deployment:
        with self._db.session(write=False) as session:
            return self._entity(session, deployment_row(session, name))

    def list_deployments(self, *, projects: Collection[str] | None = None) -> list[Deployment]:
        """Deployments by name; ``projects``: only those every project they serve is
        among (the caller's, on a server with auth), None: all."""
        with self._db.session(write=False) as session:
            stmt = select(DeploymentRow).order_by(DeploymentRow.name)
            if projects is not None:
                stmt = stmt.where(DeploymentRow.id.in_(deployments_within(session, projects)))
            return [self._entity(session, row) for row in session.scalars(stmt)]

    # --- prediction log and feedback -------------------------------------------------

    def record_segment(self, deployment: str, segment: Mapping[str, Any]) -> None:
        """Record a shipped segment (idempotent per segment id)."""
        with self._db.session() as session:
            row = deployment_row(session, deployment)
            if session.get(PredictionSegmentRow, segment["segment_id"]) is not None:
                return
            session.add(
                PredictionSegmentRow(
                    id=segment["segment_id"],
                    deployment_id=row.id,
                    digest=segment["digest"],
                    size=segment["size"],
                    rows=segment["rows"],
                    start_ms=segment["start_ms"],
                    end_ms=segment["end_ms"],
                    request_id_min=segment["request_id_min"],
                    request_id_max=segment["request_id_max"],
                    models=segment["models"],
                    histograms=segment["histograms"],
                    created_at=self._clock(),
                )
            )

    def segments(
        self,
        deployment: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        request_id: str | None = None,
    ) -> list[Segment]:
        """Segments overlapping a time window, or whose id range contains a request id."""
        with self._db.session(write=False) as session:
            row = deployment_row(session, deployment)
            stmt = select(PredictionSegmentRow).where(PredictionSegmentRow.deployment_id == row.id)
            if start_ms is not None:
                stmt = stmt.where(PredictionSegmentRow.end_ms >= start_ms)
            if end_ms is not None:
                stmt = stmt.where(PredictionSegmentRow.start_ms < end_ms)
            if request_id is not None:
                stmt = stmt.where(
                    PredictionSegmentRow.request_id_min <= request_id,
                    PredictionSegmentRow.request_id_max >= request_id,
                )
            return [
                Segment(
                    id=s.id,
                    digest=s.digest,
                    size=s.size,
                    rows=s.rows,
                    start_ms=s.start_ms,
                    end_ms=s.end_ms,
                    request_id_min=s.request_id_min,
                    request_id_max=s.request_id_max,
                    models=s.models,
                    histograms=s.histograms,
                )
                for s in session.scalars(stmt.order_by(PredictionSegmentRow.start_ms))
            ]

    def store_feedback(self, deployment: str, labels: Sequence[tuple[str, str]]) -> int:
        """Store ground-truth labels by request id (a later label replaces an earlier one)."""
        for request_id, label in labels:
            if not request_id or len(request_id) > 64:
                raise InvalidInputError(f"request id {request_id[:80]!r} is invalid")
            if len(label) > MAX_LABEL_LENGTH:
                raise InvalidInputError(
                    f"label for {request_id} is {len(label)} characters; the limit is "
                    f"{MAX_LABEL_LENGTH}"
                )
        now = self._clock()
        with self._db.session() as session:
            row = deployment_row(session, deployment)
            for request_id, label in labels:
                session.merge(
                    FeedbackRow(
                        deployment_id=row.id, request_id=request_id, label=label, received_at=now
                    )
                )
        return len(labels)

    def feedback(self, deployment: str, request_ids: Sequence[str]) -> dict[str, str]:
        """Labels stored for the given request ids."""
        with self._db.session(write=False) as session:
            row = deployment_row(session, deployment)
            return dict(
                session.execute(
                    select(FeedbackRow.request_id, FeedbackRow.label).where(
                        FeedbackRow.deployment_id == row.id,
                        FeedbackRow.request_id.in_(list(request_ids)),
                    )
                ).all()
            )


def _store_stats(session: Session, replica: ReplicaRow, stats: ServingStats) -> None:
    values = {
        "end_ms": stats.end_ms,
        "requests": stats.requests,
        "errors": stats.errors,
        "rejected": stats.rejected,
        "latency": stats.latency.model_dump(mode="json"),
        "rejected_fields": dict(stats.rejected_fields),
    }
    # The deployment-and-end index finds a resent interval among the recent rows.
    existing = session.scalars(
        select(ServingStatsRow).where(
            ServingStatsRow.deployment_id == replica.deployment_id,
            ServingStatsRow.end_ms > stats.start_ms,
            ServingStatsRow.replica_id == replica.id,
            ServingStatsRow.start_ms == stats.start_ms,
        )
    ).first()
    if existing is None:
        session.add(
            ServingStatsRow(
                deployment_id=replica.deployment_id,
                replica_id=replica.id,
                start_ms=stats.start_ms,
                **values,
            )
        )
        return
    for key, value in values.items():
        setattr(existing, key, value)
