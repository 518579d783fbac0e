"""Models: the registered models, their versions, aliases with history, gate reports,
lineage from dataset to deployment, and the model card."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from werft.gates.entities import GateReport
from werft.governance import access
from werft.governance.card_render import render_html, render_markdown
from werft.governance.roles import Role
from werft.server.deps import require, require_signed_in
from werft.ui.page import NavItem, PageDep

router = APIRouter()
NAV = (NavItem("nav.models", "/models"),)

MAX_VERSIONS = 100


@router.get("/models", dependencies=[require_signed_in()])
def models(page: PageDep) -> HTMLResponse:
    """Every model of the use cases the caller sees, with its aliases."""
    listed = page.services.registry.list_models(limit=1000).items
    return page.render("models/list.html.j2", models=[m for m in listed if page.can(m.project)])


@router.get("/models/{name}", dependencies=[require(Role.VIEWER, access.model())])
def model(page: PageDep, name: str, version: int | None = None) -> HTMLResponse:
    """A model: aliases and their history, versions, gate reports and one version's lineage."""
    services = page.services
    found = services.registry.get_model(name)
    versions = services.registry.list_versions(name, limit=MAX_VERSIONS).items
    chosen = version or (versions[0].version if versions else None)
    lineage = services.registry.lineage(name, chosen) if chosen is not None else None
    gates: dict[int, list[GateReport]] = {
        v.version: services.gates.list_reports(name, v.version) for v in versions[:20]
    }
    return page.render(
        "models/model.html.j2",
        model=found,
        versions=versions,
        chosen=chosen,
        lineage=lineage,
        gates=gates,
        history=services.registry.alias_history(name),
        deployments=_deployments_of(page, name),
    )


def _deployments_of(page: PageDep, name: str) -> list[str]:
    return [d.name for d in page.services.deployments.list_deployments() if name in d.models]


@router.get(
    "/models/{name}/versions/{version}/card", dependencies=[require(Role.VIEWER, access.model())]
)
def card(
    page: PageDep, name: str, version: int, format: Literal["html", "md"] = "html"
) -> Response:
    """The model card: its own HTML page, or Markdown to download."""
    built = page.services.cards.build(name, version)
    if format == "md":
        return PlainTextResponse(
            render_markdown(built),
            media_type="text/markdown; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}-v{version}-card.md"'},
        )
    return HTMLResponse(render_html(built))
