"""The audit log: entries filtered by use case, action and actor, and the chain's verification."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from werft.governance import access
from werft.governance.audit_entities import AuditEvent
from werft.governance.roles import Role
from werft.server.deps import require, require_signed_in
from werft.ui.page import NavItem, PageDep

router = APIRouter()
NAV = (NavItem("nav.audit", "/audit"),)

PAGE_SIZE = 100
PAYLOAD_CHARS = 200


@router.get("/audit", dependencies=[require_signed_in()])
def audit(
    page: PageDep,
    action: str = "",
    actor: str = "",
    after: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """Every entry for a global admin (and with auth off); else a choice of use cases."""
    everything = not page.auth or (page.principal is not None and page.principal.is_admin)
    events = _events(page, None, action, actor, after) if everything else []
    return _render(
        page, None, events=events, action=action, actor=actor, after=after, listed=everything
    )


@router.get("/projects/{key}/audit", dependencies=[require(Role.VIEWER, access.project())])
def project_audit(
    page: PageDep,
    key: str,
    action: str = "",
    actor: str = "",
    after: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The entries of one use case."""
    page.services.projects.get(key)
    events = _events(page, key, action, actor, after)
    return _render(page, key, events=events, action=action, actor=actor, after=after, listed=True)


def _events(
    page: PageDep, project: str | None, action: str, actor: str, after: int
) -> list[AuditEvent]:
    return page.services.audit.list_events(
        project=project,
        action=action or None,
        actor=actor or None,
        after_id=after,
        limit=PAGE_SIZE + 1,
    )


def _render(
    page: PageDep,
    project: str | None,
    *,
    events: list[AuditEvent],
    action: str,
    actor: str,
    after: int,
    listed: bool,
) -> HTMLResponse:
    base = f"/projects/{project}/audit" if project else "/audit"
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    query = {"action": action, "actor": actor}
    next_link = (
        f"{base}?" + urlencode({**{k: v for k, v in query.items() if v}, "after": events[-1].id})
        if more
        else ""
    )
    projects = [p.key for p in page.services.projects.list(limit=1000).items if page.can(p.key)]
    return page.render(
        "audit.html.j2",
        project=project,
        projects=projects,
        events=events,
        listed=listed,
        action=action,
        actor=actor,
        first=after == 0,
        base=base,
        next_link=next_link,
        verification=page.services.audit.verify(),
        short=_short,
    )


def _short(payload: dict[str, Any]) -> str:
    """A payload in one line, cut at :data:`PAYLOAD_CHARS` (the API has it whole)."""
    text = json.dumps(payload, default=str, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= PAYLOAD_CHARS else text[: PAYLOAD_CHARS - 1] + "…"
