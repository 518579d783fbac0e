"""Approval requests: the inbox, and approving or rejecting with a comment (four eyes)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from werft.errors import WerftError
from werft.governance import access
from werft.governance.approval_entities import ApprovalStatus
from werft.governance.roles import Role
from werft.server.deps import require, require_signed_in
from werft.ui.page import FormDep, NavItem, Page, PageDep, status_for
from werft.ui.pages.overview import may_decide

router = APIRouter()
NAV = (NavItem("nav.approvals", "/approvals"),)

RECENT = 50
DECISIONS = ("approve", "reject")


@router.get("/approvals", dependencies=[require_signed_in()])
def inbox(page: PageDep, done: str = "", id: int = 0) -> HTMLResponse:
    """Pending requests of the use cases the caller sees, and the latest decisions."""
    return _inbox(page, message=page.t(f"approvals.done_{done}", id=id) if done in _DONE else "")


_DONE = ("approved", "rejected")


def _inbox(page: Page, *, message: str = "", error: str = "", status: int = 200) -> HTMLResponse:
    requests = [a for a in page.services.promotions.list_requests(limit=500) if page.can(a.project)]
    pending = [a for a in requests if a.status is ApprovalStatus.PENDING]
    decided = [a for a in requests if a.status is not ApprovalStatus.PENDING][:RECENT]
    return page.render(
        "approvals/inbox.html.j2",
        status=status,
        pending=pending,
        decided=decided,
        may_decide=lambda a: may_decide(page, a),
        message=message,
        error=error,
    )


@router.post(
    "/approvals/{approval_id}/{decision}",
    dependencies=[require(Role.APPROVER, access.approval())],
)
def decide(page: PageDep, form: FormDep, approval_id: int, decision: str) -> Response:
    """Approve or reject; the service enforces the four-eyes rule and the approver list."""
    if decision not in DECISIONS:
        return _inbox(page, error=page.t("approvals.unknown_decision"), status=404)
    comment = form.get("comment")
    try:
        if decision == "approve":
            page.services.promotions.approve(approval_id, comment=comment)
        else:
            page.services.promotions.reject(approval_id, comment=comment)
    except WerftError as exc:
        return _inbox(
            page,
            error=page.t("approvals.refused", id=approval_id, detail=exc.message),
            status=status_for(exc),
        )
    done = "approved" if decision == "approve" else "rejected"
    return page.redirect(f"/approvals?done={done}&id={approval_id}")
