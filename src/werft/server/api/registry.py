"""/api/v1/models: registered models, versions, aliases, lineage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from werft.governance import access
from werft.governance.roles import Role
from werft.registry.entities import (
    AliasEvent,
    Lineage,
    ModelVersion,
    RegisteredModel,
    VersionStatus,
)
from werft.server.deps import ServicesDep, VisibleProjectsDep, require
from werft.tracking.entities import Page

router = APIRouter(tags=["registry"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelCreate(_Body):
    name: str
    project: str
    description: str = ""


class ModelVersionCreate(_Body):
    project: str
    run_id: str | None = None
    artifact_path: str
    content_hash: str
    files: dict[str, str] = Field(description="Package file path -> blob digest.")
    flavor: str
    model_class: str
    signature: dict[str, object]
    onnx: dict[str, object] | None = None
    created_by: str = ""
    description: str = ""


class VersionUpdate(_Body):
    status: VersionStatus


class AliasSet(_Body):
    version: int = Field(ge=1)
    actor: str = ""


@router.post(
    "/models",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require(Role.MEMBER, access.project("project", "body"))],
)
def create_model(services: ServicesDep, body: ModelCreate) -> RegisteredModel:
    return services.registry.create_model(body.name, body.project, description=body.description)


@router.get(
    "/models",
    dependencies=[require(Role.VIEWER, access.project("project", "query", optional=True))],
)
def list_models(
    services: ServicesDep,
    visible: VisibleProjectsDep,
    project: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
) -> Page[RegisteredModel]:
    """Models by name: of one project, or of every project the caller holds a role in."""
    return services.registry.list_models(
        project=project, projects=visible, limit=limit, cursor=cursor
    )


@router.get("/models/{name}", dependencies=[require(Role.VIEWER, access.model())])
def get_model(services: ServicesDep, name: str) -> RegisteredModel:
    return services.registry.get_model(name)


@router.post(
    "/models/{name}/versions",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require(Role.MEMBER, access.model(), access.project("project", "body"))],
)
def create_version(services: ServicesDep, name: str, body: ModelVersionCreate) -> ModelVersion:
    """Register a logged package as the next version (the model is created on first use)."""
    return services.registry.create_version(name, **body.model_dump())


@router.get("/models/{name}/versions", dependencies=[require(Role.VIEWER, access.model())])
def list_versions(
    services: ServicesDep,
    name: str,
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
) -> Page[ModelVersion]:
    return services.registry.list_versions(name, limit=limit, cursor=cursor)


@router.get(
    "/models/{name}/versions/{version}", dependencies=[require(Role.VIEWER, access.model())]
)
def get_version(services: ServicesDep, name: str, version: int) -> ModelVersion:
    return services.registry.get_version(name, version)


@router.patch(
    "/models/{name}/versions/{version}", dependencies=[require(Role.MEMBER, access.model())]
)
def update_version(
    services: ServicesDep, name: str, version: int, body: VersionUpdate
) -> ModelVersion:
    """Reject or archive a version (``member``), or reopen it as a candidate (``approver``).

    ``validated`` and ``approved`` are answered 409: a gate and an approval set them.
    """
    return services.registry.set_status(name, version, body.status)


@router.get(
    "/models/{name}/versions/{version}/lineage", dependencies=[require(Role.VIEWER, access.model())]
)
def lineage(services: ServicesDep, name: str, version: int) -> Lineage:
    """The run, params, metrics, input datasets (with hashes) and code behind a version."""
    return services.registry.lineage(name, version)


@router.get("/models/{name}/aliases/{alias}", dependencies=[require(Role.VIEWER, access.model())])
def get_alias(services: ServicesDep, name: str, alias: str) -> ModelVersion:
    return services.registry.get_alias(name, alias)


@router.put("/models/{name}/aliases/{alias}", dependencies=[require(Role.APPROVER, access.model())])
def set_alias(services: ServicesDep, name: str, alias: str, body: AliasSet) -> ModelVersion:
    """Point an alias at a version; the move is kept in the alias history."""
    return services.registry.set_alias(name, alias, body.version, actor=body.actor)


@router.delete(
    "/models/{name}/aliases/{alias}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require(Role.APPROVER, access.model())],
)
def delete_alias(
    services: ServicesDep,
    name: str,
    alias: str,
    actor: str = "",
    reason: Annotated[str, Query(max_length=10_000)] = "",
) -> Response:
    """Remove an alias; one the use case releases with approval needs a project admin
    and a ``reason`` (it stops serving the model)."""
    services.registry.delete_alias(name, alias, actor=actor, reason=reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/models/{name}/alias-history", dependencies=[require(Role.VIEWER, access.model())])
def alias_history(services: ServicesDep, name: str, alias: str | None = None) -> list[AliasEvent]:
    return services.registry.alias_history(name, alias)


@router.get(
    "/dataset-versions/{dataset_version_id}/model-versions",
    dependencies=[require(Role.VIEWER, access.dataset_version())],
)
def trained_on(services: ServicesDep, dataset_version_id: str) -> list[ModelVersion]:
    """Reverse lineage: the model versions trained on a dataset version."""
    return services.registry.versions_trained_on(dataset_version_id)
