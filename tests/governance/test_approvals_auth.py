"""The four-eyes rule and gate overrides on a server with auth: real tokens, real roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from werft.governance.audit import AuditLog
from werft.governance.roles import Role
from werft.services import Services

from .conftest import MODEL, Release

VERSIONS = f"/models/{MODEL}/versions"


@dataclass
class Team:
    http: httpx.Client
    tokens: dict[str, str]

    def call(self, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.tokens[token]}"}
        return self.http.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def team(services: Services, release: Release, live_server: Any) -> Iterator[Team]:
    """dev (member), anna and ben (approvers, anna with two tokens), padmin (project admin)."""
    release.use_case(approvers=["anna", "ops-lead"])
    people = {"dev": Role.MEMBER, "anna": Role.APPROVER, "ben": Role.APPROVER, "padmin": Role.ADMIN}
    tokens = {}
    for name, role in people.items():
        services.users.create_user(name)
        services.users.grant(name, "churn", role)
        tokens[name] = services.users.create_token(name, name="laptop", expires_in=None).secret
    tokens["anna-ci"] = services.users.create_token("anna", name="ci", expires_in=None).secret
    live_server.app.state.services = services
    live_server.app.state.auth = True
    try:
        with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as http:
            yield Team(http, tokens)
    finally:
        live_server.app.state.auth = False


def _detail(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["detail"])


def test_the_same_user_with_a_second_token_cannot_approve(team: Team, release: Release) -> None:
    version = release.version()
    created = team.call(
        "anna", "POST", f"{VERSIONS}/{version}/promote", json={"alias": "production"}
    )
    approval = created.json()["approval"]
    assert approval["requested_by"] == "anna"
    url = f"/approvals/{approval['id']}/approve"
    for token in ("anna", "anna-ci"):
        assert "four-eyes" in _detail(team.call(token, "POST", url, json={}), 403)
    assert "role 'approver'" in _detail(team.call("dev", "POST", url, json={}), 403)
    # ben holds the approver role but the use case names anna and ops-lead.
    assert "anna, ops-lead" in _detail(team.call("ben", "POST", url, json={}), 403)
    approved = team.call("padmin", "POST", url, json={"comment": "as project admin"})
    assert approved.status_code == 200 and approved.json()["decided_by"] == "padmin"


def test_only_an_admin_overrides_a_gate_and_only_with_a_reason(
    team: Team, services: Services, release: Release
) -> None:
    version = release.version(gate=False)
    url = f"{VERSIONS}/{version}/promote"
    staging = {"alias": "staging", "override_reason": "holdout set is being rebuilt"}
    assert "only an admin" in _detail(team.call("dev", "POST", url, json=staging), 403)
    blank = {"alias": "staging", "override_reason": ""}
    assert "written reason" in _detail(team.call("padmin", "POST", url, json=blank), 400)
    moved = team.call("padmin", "POST", url, json=staging)
    assert moved.status_code == 200 and moved.json()["moved"] is True
    [event] = AuditLog(services.db).list_events(action="promotion.overridden")
    assert event.actor == "padmin" and event.payload["reason"] == "holdout set is being rebuilt"
