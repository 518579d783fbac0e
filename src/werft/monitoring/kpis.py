"""Business KPIs of a deployment's use case, recorded beside the ML metrics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from werft.deploy.deployments import deployment_row
from werft.monitoring.entities import Kpi, check_kpi_name, check_kpi_value
from werft.store.db import Database
from werft.store.models import KpiRow
from werft.tracking._rows import Clock, aware, utcnow


class KpiService:
    """Records and reads KPI values per deployment."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def log(self, deployment: str, name: str, value: float, time: datetime | None = None) -> Kpi:
        """Record one value; ``time`` defaults to now (naive times are UTC)."""
        check_kpi_name(name)
        value = check_kpi_value(name, value)
        at = aware(time) if time is not None else self._clock()
        with self._db.session() as session:
            row = deployment_row(session, deployment)
            session.add(KpiRow(deployment_id=row.id, name=name, value=float(value), time=at))
        return Kpi(deployment=deployment, name=name, value=float(value), time=at)

    def list_kpis(
        self,
        deployment: str,
        *,
        name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10_000,
    ) -> list[Kpi]:
        """Values in ``[start, end)``, oldest first (the newest ``limit`` of them)."""
        with self._db.session(write=False) as session:
            row = deployment_row(session, deployment)
            stmt = select(KpiRow).where(KpiRow.deployment_id == row.id)
            if name is not None:
                stmt = stmt.where(KpiRow.name == name)
            if start is not None:
                stmt = stmt.where(KpiRow.time >= start)
            if end is not None:
                stmt = stmt.where(KpiRow.time < end)
            rows = session.scalars(stmt.order_by(KpiRow.time.desc()).limit(limit)).all()
            return [
                Kpi(deployment=deployment, name=r.name, value=r.value, time=aware(r.time))
                for r in reversed(rows)
            ]
