"""/api/v1/deployments: serving replicas, prediction-log segments, feedback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from werft.deploy.entities import Deployment, Segment, ServingStats, ServingWindow
from werft.governance import access
from werft.governance.roles import Role
from werft.server.deps import ServicesDep, VisibleProjectsDep, require, require_any

router = APIRouter(tags=["deployments"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplicaRegister(_Body):
    models: dict[str, Any]
    strategy: str
    replica_id: str = Field(max_length=32)
    address: str
    host: str
    pid: int


class Heartbeat(_Body):
    status: str
    serving: dict[str, Any] = Field(default_factory=dict)
    stats: ServingStats | None = None


class SegmentIn(_Body):
    segment: dict[str, Any]


class FeedbackIn(_Body):
    labels: list[tuple[str, str]] = Field(max_length=100_000)


class FeedbackLookup(_Body):
    request_ids: list[str] = Field(max_length=100_000)


class Stored(BaseModel):
    stored: int


@router.get("/deployments", dependencies=[require_any(Role.VIEWER)])
def list_deployments(services: ServicesDep, visible: VisibleProjectsDep) -> list[Deployment]:
    """Deployments whose every served project the caller holds a role in."""
    return services.deployments.list_deployments(projects=visible)


@router.get("/deployments/{name}", dependencies=[require(Role.VIEWER, access.deployment())])
def get_deployment(services: ServicesDep, name: str) -> Deployment:
    """A deployment with its replicas, their heartbeats and the versions they serve."""
    return services.deployments.get(name)


@router.post(
    "/deployments/{name}/replicas",
    dependencies=[require(Role.MEMBER, access.deployment(), access.model("models", "body"))],
)
def register_replica(services: ServicesDep, name: str, body: ReplicaRegister) -> Deployment:
    return services.deployments.register_replica(name, **body.model_dump())


@router.put(
    "/replicas/{replica_id}/heartbeat",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.MEMBER, access.replica())],
)
def heartbeat(services: ServicesDep, replica_id: str, body: Heartbeat) -> Response:
    services.deployments.heartbeat(
        replica_id, status=body.status, serving=body.serving, stats=body.stats
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/deployments/{name}/stats", dependencies=[require(Role.VIEWER, access.deployment())])
def serving_window(services: ServicesDep, name: str, start_ms: int, end_ms: int) -> ServingWindow:
    """Requests, errors, rejections and latency percentiles of every replica over a window."""
    return services.deployments.serving_window(name, start_ms, end_ms)


@router.post(
    "/deployments/{name}/segments",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.MEMBER, access.deployment())],
)
def record_segment(services: ServicesDep, name: str, body: SegmentIn) -> Response:
    services.deployments.record_segment(name, body.segment)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/deployments/{name}/segments", dependencies=[require(Role.VIEWER, access.deployment())]
)
def list_segments(
    services: ServicesDep,
    name: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
    request_id: str | None = None,
) -> list[Segment]:
    return services.deployments.segments(
        name, start_ms=start_ms, end_ms=end_ms, request_id=request_id
    )


@router.post(
    "/deployments/{name}/feedback", dependencies=[require(Role.MEMBER, access.deployment())]
)
def store_feedback(services: ServicesDep, name: str, body: FeedbackIn) -> Stored:
    return Stored(stored=services.deployments.store_feedback(name, body.labels))


@router.post(
    "/deployments/{name}/feedback/lookup", dependencies=[require(Role.VIEWER, access.deployment())]
)
def lookup_feedback(services: ServicesDep, name: str, body: FeedbackLookup) -> dict[str, str]:
    return services.deployments.feedback(name, body.request_ids)
