"""/api/v1/projects/{key}/maturity: the use case's MLOps maturity report."""

from __future__ import annotations

from fastapi import APIRouter

from werft.governance import access
from werft.governance.maturity_entities import MaturityReport
from werft.governance.roles import Role
from werft.server.deps import ServicesDep, require

router = APIRouter(prefix="/projects", tags=["maturity"])


@router.get("/{key}/maturity", dependencies=[require(Role.VIEWER, access.project())])
def maturity(services: ServicesDep, key: str) -> MaturityReport:
    """Stars per lifecycle phase and for the data, from what werft recorded, with next steps."""
    return services.maturity.report(key)
