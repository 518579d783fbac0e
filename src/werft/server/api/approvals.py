"""/api/v1: promotion through the use case's policy, approval requests, rollback, model cards."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from werft.governance import access
from werft.governance.approval_entities import Approval, PromotionResult
from werft.governance.card_entities import ModelCard
from werft.governance.card_render import render_html, render_markdown
from werft.governance.roles import Role
from werft.registry.entities import ModelVersion
from werft.server.deps import ServicesDep, VisibleProjectsDep, require

router = APIRouter(tags=["approvals"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromotionCreate(_Body):
    alias: str
    reason: str = Field(default="", max_length=10_000)
    override_reason: str | None = Field(
        default=None,
        max_length=10_000,
        description="Why a version whose gate failed or is missing may be promoted (admins).",
    )


class Decision(_Body):
    comment: str = Field(default="", max_length=10_000)


@router.post(
    "/models/{name}/versions/{version}/promote",
    dependencies=[require(Role.MEMBER, access.model())],
)
def promote(
    services: ServicesDep, name: str, version: int, body: PromotionCreate
) -> PromotionResult:
    """Move an alias as the use case's policy says: now, or through an approval request."""
    return services.promotions.promote(
        name, version, body.alias, reason=body.reason, override_reason=body.override_reason
    )


@router.post(
    "/models/{name}/aliases/{alias}/rollback",
    dependencies=[require(Role.APPROVER, access.model())],
)
def rollback(services: ServicesDep, name: str, alias: str) -> ModelVersion:
    """Return the alias to the version it pointed at before."""
    return services.promotions.rollback(name, alias)


@router.get(
    "/approvals",
    dependencies=[require(Role.VIEWER, access.model("model", "query", optional=True))],
)
def list_approvals(
    services: ServicesDep,
    visible: VisibleProjectsDep,
    status: str | None = None,
    model: str | None = None,
    limit: int = Query(1000, ge=1, le=10_000),
) -> list[Approval]:
    """Approval requests, newest first, of the projects the caller holds a role in."""
    return services.promotions.list_requests(
        status=status, model=model, projects=visible, limit=limit
    )


@router.get("/approvals/{approval_id}", dependencies=[require(Role.VIEWER, access.approval())])
def get_approval(services: ServicesDep, approval_id: int) -> Approval:
    return services.promotions.get(approval_id)


@router.post(
    "/approvals/{approval_id}/approve", dependencies=[require(Role.APPROVER, access.approval())]
)
def approve(services: ServicesDep, approval_id: int, body: Decision) -> Approval:
    """Approve (never one's own request): the alias moves in the same transaction."""
    return services.promotions.approve(approval_id, comment=body.comment)


@router.post(
    "/approvals/{approval_id}/reject", dependencies=[require(Role.APPROVER, access.approval())]
)
def reject(services: ServicesDep, approval_id: int, body: Decision) -> Approval:
    return services.promotions.reject(approval_id, comment=body.comment)


@router.post(
    "/approvals/{approval_id}/cancel", dependencies=[require(Role.MEMBER, access.approval())]
)
def cancel(services: ServicesDep, approval_id: int, body: Decision) -> Approval:
    """Withdraw one's own pending request."""
    return services.promotions.cancel(approval_id, comment=body.comment)


@router.get(
    "/models/{name}/versions/{version}/card",
    dependencies=[require(Role.VIEWER, access.model())],
    response_model=None,
    responses={200: {"content": {"text/markdown": {}, "text/html": {}, "application/json": {}}}},
)
def model_card(
    services: ServicesDep,
    name: str,
    version: int,
    format: Literal["md", "html", "json"] = "md",
) -> Response | ModelCard:
    """The model card: Markdown, one self-contained HTML page, or its content as JSON."""
    card = services.cards.build(name, version)
    if format == "html":
        return HTMLResponse(render_html(card))
    if format == "md":
        return PlainTextResponse(render_markdown(card), media_type="text/markdown")
    return card
