"""/api/v1/models/{name}/versions/{version}/gate-reports: what `werft check` found."""

from __future__ import annotations

from fastapi import APIRouter, status

from werft.gates.entities import GateEvaluation, GateReport
from werft.governance import access
from werft.governance.roles import Role
from werft.server.deps import ServicesDep, require

router = APIRouter(prefix="/models", tags=["gates"])


@router.post(
    "/{name}/versions/{version}/gate-reports",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require(Role.MEMBER, access.model())],
)
def record_gate_report(
    services: ServicesDep, name: str, version: int, body: GateEvaluation
) -> GateReport:
    """Store a gate evaluation on the version: a pass validates a candidate.

    The verdict is recomputed from the checks (every check passed).
    """
    return services.gates.record(name, version, body)


@router.get(
    "/{name}/versions/{version}/gate-reports",
    dependencies=[require(Role.VIEWER, access.model())],
)
def list_gate_reports(services: ServicesDep, name: str, version: int) -> list[GateReport]:
    """The version's gate reports, newest first."""
    return services.gates.list_reports(name, version)
