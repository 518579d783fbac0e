"""The overview: every use case the caller may see, its goal, KPIs, production version,
firing alerts and maturity, and the approval requests waiting for the caller."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from werft.errors import NotFoundError
from werft.governance.approval_entities import Approval, ApprovalStatus
from werft.governance.maturity_entities import MaturityReport
from werft.governance.roles import Role
from werft.governance.usecases.spec import UseCase
from werft.monitoring.alert_entities import Alert
from werft.monitoring.entities import Kpi
from werft.server.deps import require_signed_in
from werft.services import Services
from werft.tracking.entities import Project
from werft.ui.page import NavItem, Page, PageDep

router = APIRouter()
NAV = (NavItem("nav.overview", "/"),)

PRODUCTION = "production"
MAX_PROJECTS = 1000


@dataclass
class UseCaseCard:
    """What the overview shows of one use case."""

    project: Project
    use_case: UseCase | None
    production: list[tuple[str, int]] = field(default_factory=list)
    """(model, version) pairs the ``production`` alias points at."""
    alerts: list[Alert] = field(default_factory=list)
    kpi_values: dict[str, list[Kpi]] = field(default_factory=dict)
    """KPI name -> its latest value in each deployment of the use case's models."""
    maturity: MaturityReport | None = None
    """Stars per lifecycle phase (``werft maturity``)."""


@router.get("/", dependencies=[require_signed_in()])
def overview(page: PageDep) -> HTMLResponse:
    services = page.services
    projects = [p for p in services.projects.list(limit=MAX_PROJECTS).items if page.can(p.key)]
    cards = {p.key: UseCaseCard(project=p, use_case=_use_case(services, p.key)) for p in projects}
    deployments = services.deployments.list_deployments()
    for key, card in cards.items():
        models = services.registry.list_models(project=key, limit=1000).items
        for model in models:
            if PRODUCTION in model.aliases:
                card.production.append((model.name, model.aliases[PRODUCTION]))
        card.maturity = services.maturity.report(key)
        names = {m.name for m in models}
        serving = [d.name for d in deployments if names & set(d.models)]
        card.kpi_values = _latest_kpis(services, card.use_case, serving)
    for alert in services.alerts.list_alerts(state="firing", limit=1000):
        for key in _alert_projects(services, alert):
            if key in cards:
                cards[key].alerts.append(alert)
    return page.render(
        "overview.html.j2",
        cards=list(cards.values()),
        waiting=waiting_for(page),
    )


def waiting_for(page: Page) -> list[Approval]:
    """Pending requests the caller may decide: approver there, not their own, a named approver."""
    pending = page.services.promotions.list_requests(status=ApprovalStatus.PENDING.value)
    return [a for a in pending if may_decide(page, a)]


def may_decide(page: Page, approval: Approval) -> bool:
    """Whether to offer the caller approve/reject: the service checks it again on submit."""
    if approval.status is not ApprovalStatus.PENDING or approval.requested_by == page.user:
        return False
    if not page.can(approval.project, Role.APPROVER):
        return False
    admin = page.principal is not None and page.principal.is_admin
    return not approval.approvers or page.user in approval.approvers or admin


def _use_case(services: Services, key: str) -> UseCase | None:
    try:
        return services.use_cases.get(key)
    except NotFoundError:
        return None


def _latest_kpis(
    services: Services, use_case: UseCase | None, deployments: list[str]
) -> dict[str, list[Kpi]]:
    if use_case is None:
        return {}
    return {
        kpi.name: [
            latest
            for name in deployments
            for latest in services.kpis.list_kpis(name, name=kpi.name, limit=1)
        ]
        for kpi in use_case.kpis
    }


def _alert_projects(services: Services, alert: Alert) -> set[str]:
    """The use cases an alert concerns: those of the models its monitor's deployment serves."""
    try:
        deployment = services.deployments.get(services.monitors.get(alert.monitor).deployment)
        return {services.registry.get_model(name).project for name in deployment.models}
    except NotFoundError:
        return set()
