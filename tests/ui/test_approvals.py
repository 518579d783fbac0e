"""The approvals inbox: decide with a comment; one's own request offers no button and fails."""

from __future__ import annotations

from werft.governance.approval_entities import ApprovalStatus
from werft.governance.roles import Role

from .conftest import MODEL, PROJECT, Site, approval_request, text, use_case


def _request(site: Site, requester: str = "dev") -> int:
    digest = use_case(site.services, approvers=["anna", "dev"])
    return approval_request(site.services, requester=requester, digest=digest)


def test_an_approver_approves_with_a_comment_and_the_alias_moves(secure_site: Site) -> None:
    anna = secure_site.signed_in("anna", {PROJECT: Role.APPROVER})
    approval = _request(secure_site)
    inbox = anna.get("/approvals").text
    assert f'action="/approvals/{approval}/approve"' in inbox
    assert f'href="/models/{MODEL}?version=1">#1</a>' in inbox  # the gate report behind it
    assert f"#{approval}" in text(anna.get("/").text)  # waiting for anna on the overview
    done = anna.post(f"/approvals/{approval}/approve", {"comment": "looks good"})
    assert done.status_code == 303
    assert "approved" in text(anna.get(done.headers["location"]).text)
    decided = secure_site.services.promotions.get(approval)
    assert (decided.status, decided.decided_by, decided.comment) == (
        ApprovalStatus.APPROVED,
        "anna",
        "looks good",
    )
    assert secure_site.services.registry.get_model(MODEL).aliases["production"] == 1
    assert "In production churn-classifier v1" in text(anna.get("/").text)


def test_ones_own_request_has_no_button_and_is_refused(secure_site: Site) -> None:
    dev = secure_site.signed_in("dev", {PROJECT: Role.APPROVER})
    approval = _request(secure_site, requester="dev")
    inbox = dev.get("/approvals").text
    assert f'action="/approvals/{approval}/approve"' not in inbox
    assert "someone else has to decide it" in inbox
    refused = dev.post(f"/approvals/{approval}/approve", {"comment": "mine"})
    assert refused.status_code == 403 and "four-eyes" in refused.text
    assert secure_site.services.promotions.get(approval).status is ApprovalStatus.PENDING


def test_a_viewer_sees_requests_but_cannot_decide(secure_site: Site) -> None:
    viewer = secure_site.signed_in("vic", {PROJECT: Role.VIEWER})
    approval = _request(secure_site)
    assert f'action="/approvals/{approval}/approve"' not in viewer.get("/approvals").text
    assert viewer.post(f"/approvals/{approval}/approve").status_code == 403


def test_a_rejection_needs_a_comment(secure_site: Site) -> None:
    anna = secure_site.signed_in("anna", {PROJECT: Role.APPROVER})
    approval = _request(secure_site)
    refused = anna.post(f"/approvals/{approval}/reject", {"comment": ""})
    assert refused.status_code == 400 and "needs a comment" in refused.text
    assert anna.post(f"/approvals/{approval}/reject", {"comment": "no"}).status_code == 303
    assert secure_site.services.promotions.get(approval).status is ApprovalStatus.REJECTED


def test_a_decision_without_the_forms_csrf_token_is_refused(secure_site: Site) -> None:
    anna = secure_site.signed_in("anna", {PROJECT: Role.APPROVER})
    approval = _request(secure_site)
    forged = anna.post(f"/approvals/{approval}/approve", {"comment": "ok"}, csrf=False)
    assert forged.status_code == 403
    assert secure_site.services.promotions.get(approval).status is ApprovalStatus.PENDING
