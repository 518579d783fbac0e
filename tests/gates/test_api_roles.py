"""Who may sync a use case and store gate reports when the server requires tokens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from werft.gates.entities import Check, GateEvaluation
from werft.governance.roles import Role
from werft.governance.usecases import parse_use_case
from werft.services import Services

from .conftest import MODEL, USE_CASE

ROLES = {"nobody": None, "viewer": Role.VIEWER, "member": Role.MEMBER, "admin": Role.ADMIN}
REPORTS = f"/models/{MODEL}/versions/1/gate-reports"


@pytest.fixture
def as_user(services: Services, live_server: Any) -> Iterator[Any]:
    """``as_user(who, method, path, json=...)`` against a server with auth on."""
    services.projects.create("churn")
    tokens = {}
    for name, role in ROLES.items():
        services.users.create_user(name)
        if role is not None:
            services.users.grant(name, "churn", role)
        tokens[name] = services.users.create_token(name, name="t", expires_in=None).secret
    services.registry.create_version(
        MODEL,
        project="churn",
        run_id=None,
        artifact_path="model",
        content_hash="sha256:" + "ab" * 32,
        files={},
        flavor="sklearn",
        model_class="sklearn.pipeline.Pipeline",
        signature={},
    )
    live_server.app.state.services = services
    live_server.app.state.auth = True
    try:
        with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as http:

            def call(who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
                headers = {"authorization": f"Bearer {tokens[who]}"}
                return http.request(method, path, headers=headers, **kwargs)

            yield call
    finally:
        live_server.app.state.auth = False


def test_syncing_the_use_case_takes_a_project_admin(as_user: Any) -> None:
    body = parse_use_case(USE_CASE).model_dump(mode="json")
    assert as_user("member", "PUT", "/projects/churn/use-case", json=body).status_code == 403
    denied = as_user("member", "PUT", "/projects/churn/use-case", json=body).json()
    assert "admin" in denied["detail"]
    assert as_user("admin", "PUT", "/projects/churn/use-case", json=body).status_code == 200
    assert as_user("nobody", "GET", "/projects/churn/use-case").status_code == 403
    shown = as_user("viewer", "GET", "/projects/churn/use-case")
    assert shown.status_code == 200 and shown.json()["updated_by"] == "admin"


def test_storing_a_gate_report_takes_a_member(as_user: Any) -> None:
    body = GateEvaluation(
        data_digest="sha256:" + "cd" * 32,
        rows=3,
        checks=[Check(name="data.drift", kind="data", passed=True)],
    ).model_dump(mode="json")
    assert as_user("viewer", "POST", REPORTS, json=body).status_code == 403
    stored = as_user("member", "POST", REPORTS, json=body)
    assert stored.status_code == 201 and stored.json()["created_by"] == "member"
    assert stored.json()["version_status"] == "validated"
    assert as_user("nobody", "GET", REPORTS).status_code == 403
    assert [r["id"] for r in as_user("viewer", "GET", REPORTS).json()] == [stored.json()["id"]]
