"""Promotion, approvals, rollback and model cards over real HTTP: statuses and problem+json."""

from __future__ import annotations

import httpx

from werft.governance.actor import acting_as
from werft.governance.audit import AuditLog
from werft.services import Services

from .conftest import MODEL, Release

PROBLEM = "application/problem+json"
VERSIONS = f"/models/{MODEL}/versions"


def _problem(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    return str(body["detail"])


def _promote(api: httpx.Client, version: int, alias: str, **fields: object) -> httpx.Response:
    return api.post(f"{VERSIONS}/{version}/promote", json={"alias": alias, **fields})


def test_automatic_promotion_moves_the_alias(api: httpx.Client, release: Release) -> None:
    version = release.version()
    response = _promote(api, version, "staging")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["moved"] is True and body["approval"] is None
    assert body["version"]["aliases"] == ["staging"]
    assert api.get(f"/models/{MODEL}/aliases/staging").json()["version"] == version


def test_gate_and_override_errors(api: httpx.Client, release: Release) -> None:
    version = release.version(gate=False)
    assert "werft check" in _problem(_promote(api, version, "staging"), 409, "conflict")
    blank = _promote(api, version, "staging", override_reason="  ")
    assert "an override needs a written reason" in _problem(blank, 400, "invalid_input")
    moved = _promote(api, version, "staging", override_reason="holdout set is being rebuilt")
    assert moved.status_code == 200 and moved.json()["overridden"] is True
    assert _problem(_promote(api, 99, "staging"), 404, "not_found")
    _problem(_promote(api, version, "not an alias"), 400, "invalid_input")


def test_the_requester_gets_403_with_the_reason(
    api: httpx.Client, services: Services, release: Release
) -> None:
    release.use_case(approvers=())
    version = release.version()
    created = _promote(api, version, "production", reason="AUC up")
    assert created.status_code == 200, created.text
    approval = created.json()["approval"]
    assert approval["status"] == "pending" and approval["reason"] == "AUC up"
    denied = api.post(f"/approvals/{approval['id']}/approve", json={"comment": "lgtm"})
    detail = _problem(denied, 403, "permission_denied")
    assert "you requested this promotion; the four-eyes rule needs someone else" in detail
    assert api.get(f"/approvals/{approval['id']}").json()["status"] == "pending"
    cancelled = api.post(f"/approvals/{approval['id']}/cancel", json={})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_someone_else_approves_over_http(
    api: httpx.Client, services: Services, release: Release
) -> None:
    release.use_case(approvers=())
    version = release.version()
    with acting_as("dev"):
        approval = services.promotions.promote(MODEL, version, "production").approval
    assert approval is not None
    listed = api.get("/approvals", params={"status": "pending", "model": MODEL}).json()
    assert [a["id"] for a in listed] == [approval.id]
    approved = api.post(f"/approvals/{approval.id}/approve", json={"comment": "checked"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "approved" and body["comment"] == "checked"
    assert body["decided_by"] != "dev"
    assert api.get(f"/models/{MODEL}/aliases/production").json()["version"] == version
    again = api.post(f"/approvals/{approval.id}/approve", json={})
    assert "already approved" in _problem(again, 409, "conflict")
    assert api.get("/approvals", params={"status": "pending"}).json() == []
    _problem(api.get("/approvals", params={"status": "open"}), 400, "invalid_input")
    _problem(api.get("/approvals/999"), 404, "not_found")


def test_reject_needs_a_comment_and_a_rejected_version_is_409(
    api: httpx.Client, services: Services, release: Release
) -> None:
    release.use_case(approvers=())
    version = release.version()
    with acting_as("dev"):
        approval = services.promotions.promote(MODEL, version, "production").approval
    assert approval is not None
    url = f"/approvals/{approval.id}/reject"
    _problem(api.post(url, json={"comment": ""}), 400, "invalid_input")
    rejected = api.post(url, json={"comment": "recall too low"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    api.patch(f"{VERSIONS}/{version}", json={"status": "rejected"}).raise_for_status()
    detail = _problem(_promote(api, version, "production"), 409, "conflict")
    assert "rejected" in detail


def test_direct_alias_moves_under_an_approval_policy_are_409(
    api: httpx.Client, release: Release
) -> None:
    release.use_case()
    version = release.version()
    moved = api.put(f"/models/{MODEL}/aliases/production", json={"version": version})
    assert "werft promote" in _problem(moved, 409, "conflict")


def test_rollback(api: httpx.Client, services: Services, release: Release) -> None:
    first, second = release.version(), release.version()
    for version in (first, second):
        assert _promote(api, version, "production").status_code == 200
    rolled = api.post(f"/models/{MODEL}/aliases/production/rollback")
    assert rolled.status_code == 200 and rolled.json()["version"] == first
    again = api.post(f"/models/{MODEL}/aliases/production/rollback")
    assert "no previous version" in _problem(again, 409, "conflict")
    [event] = AuditLog(services.db).list_events(action="alias.rolled_back")
    assert event.payload["from"] == second and event.payload["to"] == first


def test_model_card_formats(api: httpx.Client, release: Release) -> None:
    release.use_case(risk_class="high", intended_use="Rank customers by churn risk")
    version = release.version()
    url = f"{VERSIONS}/{version}/card"
    markdown = api.get(url)
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "# Technical documentation: churn-classifier version 1" in markdown.text
    html = api.get(url, params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert "<h2>8. EU declaration of conformity (Article 47)</h2>" in html.text
    data = api.get(url, params={"format": "json"}).json()
    assert data["use_case"]["risk_class"] == "high" and len(data["annex"]) == 9
    _problem(api.get(f"{VERSIONS}/7/card"), 404, "not_found")
    _problem(api.get(url, params={"format": "pdf"}), 422, "invalid_input")
