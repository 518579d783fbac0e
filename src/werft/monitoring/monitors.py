"""Monitors: scheduled checks of a deployment's traffic, one stored result per window.

A run gathers the window's inputs — the prediction-log segments' histograms,
the reference (the served version's training dataset profile, or a chosen
dataset version), serving statistics, KPIs, and feedback labels joined to
the logged predictions — evaluates them (:mod:`werft.monitoring.evaluation`),
stores the result and hands its values to the alert rules.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import orjson
from pydantic import BaseModel
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from werft.deploy.deployments import DeploymentService, deployment_row, deployments_within
from werft.errors import AlreadyExistsError, InvalidInputError, NotFoundError, WerftError
from werft.monitoring.entities import Monitor, MonitorConfig, MonitorResult
from werft.monitoring.evaluation import WindowInputs, evaluate_window
from werft.monitoring.histograms import FeatureHistogram
from werft.monitoring.kpis import KpiService
from werft.monitoring.report import build_report
from werft.monitoring.schedule import check_schedule, next_run
from werft.monitoring.sources import WindowSources
from werft.registry.uris import check_model_name
from werft.store.db import Database
from werft.store.models import DeploymentRow, MonitorResultRow, MonitorRow
from werft.tracking._rows import Clock, aware, utcnow

log = logging.getLogger("werft.monitoring")

MAX_WINDOW_SECONDS = 90 * 86400
PERFORMANCE_COLUMNS = ("request_id", "time", "variant", "prediction")


class AlertRules(Protocol):
    """The alert rules (``AlertService``): told every new result, asked for a report's alerts."""

    def evaluate(self, monitor: str, values: Mapping[str, float], at: datetime) -> Any: ...

    def list_alerts(self, *, monitor: str | None = None) -> Sequence[BaseModel]: ...


class MonitorService:
    """Creates, schedules and runs monitors; stores their results."""

    def __init__(
        self,
        db: Database,
        *,
        sources: WindowSources,
        deployments: DeploymentService,
        kpis: KpiService,
        clock: Clock = utcnow,
    ) -> None:
        """Set up the service over the store and the services a run reads.

        Args:
            db: The metadata store.
            sources: Where a window's reference, serving statistics and labelled
                predictions come from.
            deployments: The deployments monitors watch.
            kpis: The deployments' business KPIs.
            clock: The time now (windows end now unless told otherwise).
        """
        self._db = db
        self._sources = sources
        self._deployments = deployments
        self._kpis = kpis
        self._clock = clock
        self._alerts: AlertRules | None = None

    def use_alerts(self, alerts: AlertRules) -> None:
        """Evaluate ``alerts`` on every new result, and show theirs in reports."""
        self._alerts = alerts

    # --- monitors ---------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        deployment: str,
        window_seconds: int = 3600,
        schedule: str = "*/15 * * * *",
        config: MonitorConfig | Mapping[str, Any] | None = None,
    ) -> Monitor:
        """A new monitor; its first run is due at the schedule's next time.

        Raises:
            AlreadyExistsError: A monitor of that name exists.
            NotFoundError: The deployment does not exist (it appears once serving starts).
            InvalidInputError: Bad name, window or schedule.
        """
        check_model_name(name)
        if not 60 <= window_seconds <= MAX_WINDOW_SECONDS:
            raise InvalidInputError(f"window of {window_seconds} s is out of range; use 1m to 90d")
        schedule = check_schedule(schedule)
        parsed = _config(config)
        now = self._clock()
        with self._db.session() as session:
            target = deployment_row(session, deployment)
            if self._find(session, name) is not None:
                raise AlreadyExistsError(
                    f"monitor {name!r} already exists; `werft monitor show {name}` shows it"
                )
            row = MonitorRow(
                id=uuid.uuid4().hex,
                name=name,
                deployment_id=target.id,
                window_seconds=window_seconds,
                schedule=schedule,
                config=parsed.model_dump(mode="json"),
                enabled=True,
                next_run_at=next_run(schedule, now),
                last_run_at=None,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _monitor(row, deployment)

    def get(self, name: str) -> Monitor:
        with self._db.session(write=False) as session:
            row = self._row(session, name)
            return _monitor(row, _deployment_name(session, row))

    def list_monitors(
        self, *, deployment: str | None = None, projects: Collection[str] | None = None
    ) -> list[Monitor]:
        """Monitors by name, optionally of one deployment; ``projects``: only those of
        deployments within these projects (the caller's, on a server with auth)."""
        with self._db.session(write=False) as session:
            stmt = select(MonitorRow, DeploymentRow.name).join(
                DeploymentRow, DeploymentRow.id == MonitorRow.deployment_id
            )
            if deployment is not None:
                stmt = stmt.where(DeploymentRow.name == deployment)
            if projects is not None:
                stmt = stmt.where(DeploymentRow.id.in_(deployments_within(session, projects)))
            return [
                _monitor(row, dep) for row, dep in session.execute(stmt.order_by(MonitorRow.name))
            ]

    def update(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        schedule: str | None = None,
        window_seconds: int | None = None,
    ) -> Monitor:
        """Pause, resume or reschedule a monitor."""
        now = self._clock()
        with self._db.session() as session:
            row = self._row(session, name)
            if enabled is not None:
                row.enabled = enabled
            if schedule is not None:
                row.schedule = check_schedule(schedule)
                row.next_run_at = next_run(row.schedule, now)
            if window_seconds is not None:
                if not 60 <= window_seconds <= MAX_WINDOW_SECONDS:
                    raise InvalidInputError(
                        f"window of {window_seconds} s is out of range; use 1m to 90d"
                    )
                row.window_seconds = window_seconds
            row.updated_at = now
            session.flush()
            return _monitor(row, _deployment_name(session, row))

    def delete(self, name: str) -> None:
        """Delete a monitor and its results."""
        with self._db.session() as session:
            session.delete(self._row(session, name))

    # --- results ----------------------------------------------------------------------

    def history(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 500,
    ) -> list[MonitorResult]:
        """Results whose window ends in ``(start, end]``, oldest first (the newest ``limit``)."""
        with self._db.session(write=False) as session:
            row = self._row(session, name)
            stmt = select(MonitorResultRow).where(MonitorResultRow.monitor_id == row.id)
            if start is not None:
                stmt = stmt.where(MonitorResultRow.window_end > start)
            if end is not None:
                stmt = stmt.where(MonitorResultRow.window_end <= end)
            rows = session.scalars(
                stmt.order_by(MonitorResultRow.window_end.desc(), MonitorResultRow.id.desc()).limit(
                    limit
                )
            ).all()
            return [_result(r, name) for r in reversed(rows)]

    def latest(self, name: str) -> MonitorResult:
        """The newest result.

        Raises:
            NotFoundError: The monitor has not run yet.
        """
        found = self.history(name, limit=1)
        if not found:
            raise NotFoundError(
                f"monitor {name!r} has no results yet; run it with `werft monitor run {name}`"
            )
        return found[0]

    def latest_values(self) -> dict[str, dict[str, float]]:
        """Each monitor's newest values (for the server's ``/metrics``)."""
        with self._db.session(write=False) as session:
            newest = (
                select(MonitorResultRow.monitor_id, func.max(MonitorResultRow.id).label("id"))
                .group_by(MonitorResultRow.monitor_id)
                .subquery()
            )
            stmt = (
                select(MonitorRow.name, MonitorResultRow.values)
                .join(newest, newest.c.monitor_id == MonitorRow.id)
                .join(MonitorResultRow, MonitorResultRow.id == newest.c.id)
            )
            return {name: dict(values) for name, values in session.execute(stmt)}

    def report(self, name: str, *, last_seconds: int | None = None) -> dict[str, Any]:
        """The JSON content of ``werft monitor report`` (see :mod:`werft.monitoring.report`).

        Args:
            name: The monitor.
            last_seconds: The period: results whose window ended this long ago
                or later; ``None`` for all.
        """
        monitor = self.get(name)
        start = None if last_seconds is None else self._clock() - timedelta(seconds=last_seconds)
        results = self.history(name, start=start)
        listed = self._alerts.list_alerts(monitor=name) if self._alerts is not None else []
        return build_report(
            monitor,
            results,
            [alert.model_dump(mode="json") for alert in listed],
            generated_at=self._clock(),
            start=start,
        )

    # --- running ----------------------------------------------------------------------

    def run(self, name: str, *, end: datetime | None = None) -> MonitorResult:
        """Evaluate the window ending at ``end`` (default now), store and announce the result."""
        monitor = self.get(name)
        window_end = _utc(end) if end is not None else self._clock()
        window_start = window_end - timedelta(seconds=monitor.window_seconds)
        start_ms, end_ms = _ms(window_start), _ms(window_end)
        segments = self._deployments.segments(monitor.deployment, start_ms=start_ms, end_ms=end_ms)
        served = self._sources.served(monitor, segments)
        rows = sum(segment.rows for segment in segments)
        inputs = WindowInputs(
            reference=served.reference,
            segments=[segment.histograms for segment in segments],
            rows=rows,
            complete_categories=served.complete_categories,
            baseline=_baseline(monitor.config.baseline),
            methods=monitor.config.methods,
            thresholds=monitor.config.thresholds,
            share_threshold=monitor.config.share_threshold,
            serving=self._sources.serving(monitor.deployment, start_ms, end_ms),
            kpis=self._kpis.list_kpis(monitor.deployment, start=window_start, end=window_end),
            performance=self._sources.performance(monitor, served, segments, start_ms, end_ms),
        )
        evaluation = evaluate_window(inputs)
        report = {
            **evaluation.report,
            "model": served.model,
            "version": served.version.version if served.version else None,
            "reference": served.reference_name,
            "segments": len(segments),
        }
        drift_share = evaluation.drift.share if evaluation.drift is not None else None
        now = self._clock()
        with self._db.session() as session:
            row = self._row(session, name)
            result = MonitorResultRow(
                monitor_id=row.id,
                window_start=window_start,
                window_end=window_end,
                computed_at=now,
                rows=rows,
                status=evaluation.status,
                drift_share=drift_share,
                # JSON has no NaN (PostgreSQL refuses it): an undefined value is left out
                values={k: v for k, v in evaluation.values.items() if math.isfinite(v)},
                result=orjson.loads(orjson.dumps(report, default=str)),  # NaN -> null
            )
            session.add(result)
            row.last_run_at = now
            if row.config.get("baseline") is None and rows and evaluation.outputs:
                row.config = {
                    **row.config,
                    "baseline": {
                        k: h.model_dump(mode="json") for k, h in evaluation.outputs.items()
                    },
                }
            session.flush()
            stored = _result(result, name)
        if self._alerts is not None:
            self._alerts.evaluate(name, stored.values, window_end)
        return stored

    def run_due(self, now: datetime | None = None) -> list[MonitorResult]:
        """Run every enabled monitor whose time has come, once even with several workers.

        A monitor is claimed by moving its ``next_run_at`` forward in one
        conditional update; the worker that succeeds runs it. A failing run is
        logged and does not stop the others.
        """
        at = now or self._clock()
        with self._db.session(write=False) as session:
            due = session.execute(
                select(
                    MonitorRow.id, MonitorRow.name, MonitorRow.schedule, MonitorRow.next_run_at
                ).where(MonitorRow.enabled.is_(True), MonitorRow.next_run_at <= at)
            ).all()
        results: list[MonitorResult] = []
        for monitor_id, name, schedule, planned in due:
            with self._db.session() as session:
                claimed = cast(
                    "CursorResult[Any]",
                    session.execute(
                        update(MonitorRow)
                        .where(MonitorRow.id == monitor_id, MonitorRow.next_run_at == planned)
                        .values(next_run_at=next_run(schedule, at))
                    ),
                ).rowcount
            if claimed != 1:
                continue
            try:
                results.append(self.run(name, end=at))
            except WerftError as exc:
                log.warning("monitor %r could not run: %s", name, exc)
            except Exception:  # a worker's top level: one broken monitor must not stop the rest
                log.exception("monitor %r failed", name)
        return results

    # --- rows -------------------------------------------------------------------------

    @staticmethod
    def _find(session: Session, name: str) -> MonitorRow | None:
        return session.scalars(select(MonitorRow).where(MonitorRow.name == name)).one_or_none()

    def _row(self, session: Session, name: str) -> MonitorRow:
        row = self._find(session, name)
        if row is None:
            raise NotFoundError(f"monitor {name!r} not found; `werft monitor list` shows them")
        return row


def _config(config: MonitorConfig | Mapping[str, Any] | None) -> MonitorConfig:
    if isinstance(config, MonitorConfig):
        return config
    try:
        return MonitorConfig.model_validate(dict(config or {}))
    except ValueError as exc:
        raise InvalidInputError(f"monitor settings are invalid: {exc}") from exc


def _baseline(data: Mapping[str, Any] | None) -> dict[str, FeatureHistogram] | None:
    if not data:
        return None
    return {name: FeatureHistogram.model_validate(hist) for name, hist in data.items()}


def _deployment_name(session: Session, row: MonitorRow) -> str:
    return session.get_one(DeploymentRow, row.deployment_id).name


def _monitor(row: MonitorRow, deployment: str) -> Monitor:
    return Monitor(
        id=row.id,
        name=row.name,
        deployment=deployment,
        window_seconds=row.window_seconds,
        schedule=row.schedule,
        config=MonitorConfig.model_validate(row.config),
        enabled=row.enabled,
        next_run_at=aware(row.next_run_at),
        last_run_at=aware(row.last_run_at),
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def _result(row: MonitorResultRow, monitor: str) -> MonitorResult:
    return MonitorResult(
        id=row.id,
        monitor=monitor,
        window_start=aware(row.window_start),
        window_end=aware(row.window_end),
        computed_at=aware(row.computed_at),
        rows=row.rows,
        status=row.status,
        drift_share=row.drift_share,
        values=dict(row.values),
        report=dict(row.result),
    )


def _utc(at: datetime) -> datetime:
    """An aware time; naive times are UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
