"""/api/v1/audit: the hash-chained audit log, its entries and their verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from werft.governance import access
from werft.governance.audit_entities import AuditEvent, AuditVerification
from werft.governance.roles import Role
from werft.server.deps import ServicesDep, require, require_any

router = APIRouter(tags=["audit"])


@router.get("/audit", dependencies=[require(Role.VIEWER, access.project("project", "query"))])
def list_audit_events(
    services: ServicesDep,
    *,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    project: str | None = None,
    actor: str | None = None,
    after_id: Annotated[int, Query(ge=0, description="Page: entries after this id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[AuditEvent]:
    """Entries oldest first; page with ``after_id`` = the last id you got."""
    return services.audit.list_events(
        action=action,
        object_type=object_type,
        object_id=object_id,
        project=project,
        actor=actor,
        after_id=after_id,
        limit=limit,
    )


@router.get("/audit/verify", dependencies=[require_any(Role.VIEWER)])
def verify_audit(services: ServicesDep) -> AuditVerification:
    """Walk the whole chain: ok, or the first changed, removed or reordered entry."""
    return services.audit.verify()
