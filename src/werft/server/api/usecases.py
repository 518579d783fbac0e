"""/api/v1/projects/{key}/use-case: a project's use case, synced from its werft.yaml."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from werft.errors import InvalidInputError
from werft.governance import access
from werft.governance.roles import Role
from werft.governance.usecases.entities import SyncedUseCase, UseCaseSync
from werft.governance.usecases.spec import UseCase
from werft.server.deps import ServicesDep, require

router = APIRouter(prefix="/projects", tags=["use cases"])

DigestQuery = Annotated[
    str | None,
    Query(
        pattern=r"^sha256:[0-9a-f]{64}$",
        description="SHA-256 of the werft.yaml the spec came from; default the spec's own.",
    ),
]


@router.put(
    "/{key}/use-case",
    # The use case sets who approves and which aliases need approval: governing, not working.
    dependencies=[require(Role.ADMIN, access.project())],
)
def sync_use_case(
    services: ServicesDep, key: str, body: UseCase, digest: DigestQuery = None
) -> UseCaseSync:
    """Store the project's use case (the ``use_case`` section of its werft.yaml).

    The project is created when it does not exist; syncing an unchanged file
    changes nothing.
    """
    if body.key != key:
        raise InvalidInputError(
            f"the use case is for project {body.key!r}, but was sent to project {key!r}"
        )
    return services.use_cases.sync(body, digest)


@router.get("/{key}/use-case", dependencies=[require(Role.VIEWER, access.project())])
def get_use_case(services: ServicesDep, key: str) -> SyncedUseCase:
    """The project's use case as last synced, with its file digest."""
    return services.use_cases.get_synced(key)
