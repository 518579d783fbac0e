"""/api/v1/projects: projects, their runs search and dataset versions."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from werft.errors import InvalidInputError
from werft.governance import access
from werft.governance.roles import Role
from werft.server.deps import (
    ServicesDep,
    VisibleProjectsDep,
    require,
    require_admin,
    require_signed_in,
)
from werft.server.schemas import DatasetRegister, ProjectCreate, RunCreate, RunSearch
from werft.tracking.entities import DatasetVersion, Page, Project, Run

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", dependencies=[require_signed_in()])
def list_projects(
    services: ServicesDep,
    visible: VisibleProjectsDep,
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
    include_deleted: bool = False,
) -> Page[Project]:
    """Projects ordered by key: those the caller holds a role in (all, for a global admin)."""
    return services.projects.list(
        limit=limit, cursor=cursor, include_deleted=include_deleted, keys=visible
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[require_admin()])
def create_project(services: ServicesDep, body: ProjectCreate) -> Project:
    """Create a project."""
    return services.projects.create(body.key, name=body.name, description=body.description)


@router.put("/{key}", dependencies=[require(Role.MEMBER, access.project())])
def ensure_project(services: ServicesDep, key: str) -> Project:
    """The project with this key, created if it does not exist yet."""
    return services.projects.get_or_create(key)


@router.get("/{key}", dependencies=[require(Role.VIEWER, access.project())])
def get_project(services: ServicesDep, key: str) -> Project:
    return services.projects.get(key)


@router.delete("/{key}", dependencies=[require(Role.ADMIN, access.project())])
def delete_project(services: ServicesDep, key: str) -> Project:
    """Delete a project; restorable until purged by garbage collection."""
    return services.projects.delete(key)


@router.post("/{key}/restore", dependencies=[require(Role.ADMIN, access.project())])
def restore_project(services: ServicesDep, key: str) -> Project:
    return services.projects.restore(key)


@router.post(
    "/{key}/runs",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require(Role.MEMBER, access.project())],
)
def create_run(services: ServicesDep, key: str, body: RunCreate) -> Run:
    """Start a run in the project."""
    return services.runs.create(key, **body.model_dump())


@router.post("/{key}/runs/search", dependencies=[require(Role.VIEWER, access.project())])
def search_runs(services: ServicesDep, key: str, body: RunSearch) -> Page[Run]:
    """Runs matching a filter, e.g. ``metrics.auc > 0.8 and params.depth = '3'``."""
    return services.runs.search(
        key,
        filter=body.filter,
        order_by=body.order_by,
        max_results=body.max_results,
        cursor=body.cursor,
    )


@router.get("/{key}/datasets", dependencies=[require(Role.VIEWER, access.project())])
def list_dataset_versions(
    services: ServicesDep, key: str, name: str | None = None
) -> list[DatasetVersion]:
    return services.datasets.list(key, name)


@router.post("/{key}/datasets", dependencies=[require(Role.MEMBER, access.project())])
def register_dataset(services: ServicesDep, key: str, body: DatasetRegister) -> DatasetVersion:
    """Register a dataset version (idempotent per content hash)."""
    return services.datasets.register(
        key, body.name, body.description, data_digest=body.data_digest
    )


@router.get(
    "/{key}/datasets/{name}/versions/{version}",
    dependencies=[require(Role.VIEWER, access.project())],
)
def get_dataset_version(services: ServicesDep, key: str, name: str, version: str) -> DatasetVersion:
    """A dataset version by number, or ``latest``."""
    return services.datasets.get(key, name, version if version == "latest" else _int(version))


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInputError(f"version must be a number or 'latest', got {value!r}") from None
