"""/api/v1/monitors and KPIs: scheduled checks of a deployment's traffic, their results, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from werft.governance import access
from werft.governance.roles import Role
from werft.monitoring.entities import Kpi, Monitor, MonitorConfig, MonitorResult
from werft.monitoring.report import render_html
from werft.monitoring.schedule import parse_duration
from werft.server.deps import ServicesDep, VisibleProjectsDep, require

router = APIRouter(tags=["monitoring"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonitorCreate(_Body):
    name: str
    deployment: str
    window: str | int = Field(default="1h", description="Window length: 15m, 1h, 1d or seconds.")
    schedule: str = Field(default="*/15 * * * *", description="Cron expression (UTC).")
    config: MonitorConfig = Field(default_factory=MonitorConfig)


class MonitorUpdate(_Body):
    enabled: bool | None = None
    schedule: str | None = None
    window: str | int | None = None


class MonitorRun(_Body):
    end: datetime | None = Field(default=None, description="Window end; default now.")


class KpiCreate(_Body):
    name: str
    value: float
    time: datetime | None = None


@router.post(
    "/monitors",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require(Role.MEMBER, access.deployment("deployment", "body"))],
)
def create_monitor(services: ServicesDep, body: MonitorCreate) -> Monitor:
    return services.monitors.create(
        body.name,
        deployment=body.deployment,
        window_seconds=parse_duration(body.window),
        schedule=body.schedule,
        config=body.config,
    )


@router.get(
    "/monitors",
    dependencies=[require(Role.VIEWER, access.deployment("deployment", "query", optional=True))],
)
def list_monitors(
    services: ServicesDep, visible: VisibleProjectsDep, deployment: str | None = None
) -> list[Monitor]:
    """Monitors of one deployment, or of every deployment the caller may read."""
    return services.monitors.list_monitors(deployment=deployment, projects=visible)


@router.get("/monitors/{name}", dependencies=[require(Role.VIEWER, access.monitor())])
def get_monitor(services: ServicesDep, name: str) -> Monitor:
    return services.monitors.get(name)


@router.patch("/monitors/{name}", dependencies=[require(Role.MEMBER, access.monitor())])
def update_monitor(services: ServicesDep, name: str, body: MonitorUpdate) -> Monitor:
    return services.monitors.update(
        name,
        enabled=body.enabled,
        schedule=body.schedule,
        window_seconds=parse_duration(body.window) if body.window is not None else None,
    )


@router.delete(
    "/monitors/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.MEMBER, access.monitor())],
)
def delete_monitor(services: ServicesDep, name: str) -> Response:
    services.monitors.delete(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/monitors/{name}/run", dependencies=[require(Role.MEMBER, access.monitor())])
def run_monitor(services: ServicesDep, name: str, body: MonitorRun | None = None) -> MonitorResult:
    """Evaluate one window now (the worker does this on the monitor's schedule)."""
    return services.monitors.run(name, end=body.end if body else None)


@router.get("/monitors/{name}/results", dependencies=[require(Role.VIEWER, access.monitor())])
def monitor_results(
    services: ServicesDep,
    name: str,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[MonitorResult]:
    """Results whose window ends in (start, end], oldest first."""
    return services.monitors.history(name, start=start, end=end, limit=limit)


@router.get(
    "/monitors/{name}/report",
    responses={200: {"content": {"application/json": {}, "text/html": {}}}},
    response_model=None,
    dependencies=[require(Role.VIEWER, access.monitor())],
)
def monitor_report(
    services: ServicesDep,
    name: str,
    last: str = Query(default="7d", description="Period: 24h, 7d ..."),
    format: Literal["json", "html"] = "json",
) -> dict[str, Any] | HTMLResponse:
    """Reference vs current histograms, drift, performance, serving and KPIs over time, alerts."""
    report = services.monitors.report(name, last_seconds=parse_duration(last))
    if format == "html":
        return HTMLResponse(render_html(report))
    return report


@router.post(
    "/deployments/{name}/kpis",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require(Role.MEMBER, access.deployment())],
)
def log_kpi(services: ServicesDep, name: str, body: KpiCreate) -> Kpi:
    """Record a business KPI value of the deployment's use case."""
    return services.kpis.log(name, body.name, body.value, body.time)


@router.get("/deployments/{name}/kpis", dependencies=[require(Role.VIEWER, access.deployment())])
def list_kpis(
    services: ServicesDep,
    name: str,
    kpi: Annotated[str | None, Query(alias="name")] = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Kpi]:
    return services.kpis.list_kpis(name, name=kpi, start=start, end=end)
