"""Health and maintenance endpoints."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from werft import __version__
from werft.server.deps import ServicesDep, public, require_admin
from werft.server.schemas import GcRequest, Health
from werft.tracking.entities import GcReport

router = APIRouter(tags=["system"])


@router.get("/health", dependencies=[public()])
def health(services: ServicesDep) -> Health:
    """Liveness plus the schema revision of the metadata store."""
    revision = services.db.current_revision() or "empty"
    return Health(status="ok", version=__version__, database=revision)


@router.post("/gc", dependencies=[require_admin()])
def garbage_collect(services: ServicesDep, body: GcRequest) -> GcReport:
    """Purge deleted runs and projects past their retention, then unreferenced blobs."""
    older = None if body.older_than_seconds is None else timedelta(seconds=body.older_than_seconds)
    return services.gc.collect(older_than=older)
