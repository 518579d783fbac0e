"""/api/v1/runs: a run's lifecycle, params, tags, metrics and inputs."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from werft.governance import access
from werft.governance.roles import Role
from werft.server.deps import ServicesDep, require
from werft.server.schemas import InputLink, MetricsLogged, ParamsIn, RunUpdate, TagsIn
from werft.tracking.entities import Metric, MetricBatch, Page, Run

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("/{run_id}", dependencies=[require(Role.VIEWER, access.run())])
def get_run(services: ServicesDep, run_id: str) -> Run:
    """A run with params, latest metric values, tags and input datasets."""
    return services.runs.get(run_id)


@router.patch("/{run_id}", dependencies=[require(Role.MEMBER, access.run())])
def end_run(services: ServicesDep, run_id: str, body: RunUpdate) -> Run:
    """End a running run as finished, failed or killed."""
    return services.runs.end(run_id, body.status)


@router.delete(
    "/{run_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.MEMBER, access.run())],
)
def delete_run(services: ServicesDep, run_id: str) -> Response:
    """Delete a run; restorable until purged by garbage collection."""
    services.runs.delete(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{run_id}/restore", dependencies=[require(Role.MEMBER, access.run())])
def restore_run(services: ServicesDep, run_id: str) -> Run:
    return services.runs.restore(run_id)


@router.post(
    "/{run_id}/params",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.MEMBER, access.run())],
)
def log_params(services: ServicesDep, run_id: str, body: ParamsIn) -> Response:
    """Record params; 409 when a key was logged with a different value."""
    services.runs.log_params(run_id, body.params)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{run_id}/tags",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.MEMBER, access.run())],
)
def set_tags(services: ServicesDep, run_id: str, body: TagsIn) -> Response:
    services.runs.set_tags(run_id, body.tags)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{run_id}/tags/{key:path}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.MEMBER, access.run())],
)
def delete_tag(services: ServicesDep, run_id: str, key: str) -> Response:
    services.runs.delete_tag(run_id, key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{run_id}/metrics", dependencies=[require(Role.MEMBER, access.run())])
def log_metrics(services: ServicesDep, run_id: str, body: MetricBatch) -> MetricsLogged:
    """Append a batch of metric points (NaN and infinities as "NaN", "Infinity", "-Infinity")."""
    return MetricsLogged(logged=services.runs.log_metrics(run_id, body.metrics))


@router.get(
    "/{run_id}/metrics/{key:path}/history", dependencies=[require(Role.VIEWER, access.run())]
)
def metric_history(
    services: ServicesDep,
    run_id: str,
    key: str,
    limit: int = Query(50_000, ge=1, le=50_000),
    cursor: str | None = None,
) -> Page[Metric]:
    """Every point of a metric, ordered by step then time."""
    return services.runs.get_metric_history(run_id, key, limit=limit, cursor=cursor)


@router.post(
    "/{run_id}/inputs",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.MEMBER, access.run())],
)
def link_input(services: ServicesDep, run_id: str, body: InputLink) -> Response:
    """Record a dataset version as an input of the run."""
    services.datasets.link_input(run_id, body.dataset_version_id, body.context)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
