"""Authentication and authorisation on the REST API: real HTTP to uvicorn, real databases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from werft.governance.audit import AuditLog
from werft.governance.roles import Role
from werft.governance.users import UserService
from werft.server.app import create_app
from werft.server.deps import declared_rule
from werft.services import Services

MODEL = "churn-classifier"
VERSION_BODY: dict[str, Any] = {
    "project": "churn",
    "artifact_path": "model",
    "content_hash": "sha256:" + "ab" * 32,
    "files": {},
    "flavor": "sklearn",
    "model_class": "sklearn.pipeline.Pipeline",
    "signature": {"inputs": [], "output": {"kind": "classifier", "dtype": "int64"}},
}

# Who holds what: a role in churn (nobody has none; root is a global admin).
PEOPLE: dict[str, Role | None] = {
    "nobody": None,
    "viewer": Role.VIEWER,
    "member": Role.MEMBER,
    "approver": Role.APPROVER,
    "padmin": Role.ADMIN,
    "root": None,
}


@dataclass
class World:
    """A server with auth on, users with each role in project churn, and their tokens."""

    http: httpx.Client
    services: Services
    tokens: dict[str, str]
    run_id: str

    def call(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.http.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def world(services: Services, live_server: Any) -> Iterator[World]:
    services.projects.create("churn")
    services.projects.create("fraud")
    tokens = {}
    for name, role in PEOPLE.items():
        services.users.create_user(name, admin=name == "root")
        if role is not None:
            services.users.grant(name, "churn", role)
        tokens[name] = services.users.create_token(name, name="test", expires_in=None).secret
    services.users.create_user("outsider")
    services.users.grant("outsider", "fraud", Role.ADMIN)
    tokens["outsider"] = services.users.create_token("outsider", name="t", expires_in=None).secret
    run = services.runs.create("churn", name="train")
    services.registry.create_version(MODEL, run_id=run.id, **VERSION_BODY)
    live_server.app.state.services = services
    live_server.app.state.auth = True
    try:
        with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as http:
            yield World(http, services, tokens, run.id)
    finally:
        live_server.app.state.auth = False


# --- the role matrix -----------------------------------------------------------------

RANK = {"nobody": -1, "viewer": 0, "member": 1, "approver": 2, "padmin": 3, "root": 4}
NEEDED = {"viewer": 0, "member": 1, "approver": 2, "admin": 3, "global admin": 4}


def _actions(world: World, who: str) -> dict[str, tuple[str, int, httpx.Response]]:
    """Each guarded kind of action: (role needed, status on success, the answer)."""
    return {
        "read a run": ("viewer", 200, world.call(who, "GET", f"/runs/{world.run_id}")),
        "create a run": (
            "member",
            201,
            world.call(who, "POST", "/projects/churn/runs", json={"name": "x"}),
        ),
        "register a version": (
            "member",
            201,
            world.call(who, "POST", f"/models/{MODEL}/versions", json=VERSION_BODY),
        ),
        "set an alias": (
            "approver",
            200,
            world.call(who, "PUT", f"/models/{MODEL}/aliases/staging", json={"version": 1}),
        ),
        "grant a role": (
            "admin",
            200,
            world.call(who, "PUT", "/users/nobody/roles/churn", json={"role": "viewer"}),
        ),
        "create a user": (
            "global admin",
            201,
            world.call(who, "POST", "/users", json={"name": f"new-{who}"}),
        ),
    }


@pytest.mark.parametrize("who", list(PEOPLE))
def test_the_role_matrix(world: World, who: str) -> None:
    got, expected = {}, {}
    for action, (needed, ok, answer) in _actions(world, who).items():
        allowed = RANK[who] >= NEEDED[needed]
        expected[action] = ok if allowed else 403
        got[action] = answer.status_code
        if answer.status_code == 403:
            assert answer.headers["content-type"] == "application/problem+json"
            detail = answer.json()["detail"]
            if needed == "global admin":
                assert "this needs a global admin" in detail
            else:
                held = PEOPLE[who]
                assert detail.startswith(f"this needs role '{needed}' in project 'churn'; ")
                assert f"you are '{held.value}'" in detail if held else "no role there" in detail
    assert got == expected


def test_without_a_token_everything_but_health_is_401(world: World) -> None:
    for method, path in [("GET", f"/runs/{world.run_id}"), ("GET", "/projects"), ("GET", "/me")]:
        answer = world.call(None, method, path)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "unauthenticated"
        assert "Authorization: Bearer" in answer.json()["detail"]
    assert world.call(None, "GET", "/health").status_code == 200
    basic = world.http.get("/projects", headers={"authorization": "Basic YW5uYTpwdw=="})
    assert basic.status_code == 401 and "Bearer <token>" in basic.json()["detail"]


def test_expired_revoked_and_disabled_are_401(world: World) -> None:
    past = UserService(world.services.db, clock=lambda: datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    expired = past.create_token("member", name="old", expires_in=timedelta(days=1)).secret
    answer = world.http.get("/projects", headers={"authorization": f"Bearer {expired}"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["detail"].startswith("token expired on 2026-01-03 03:04 UTC")

    revoked = world.services.users.create_token("member", name="gone", expires_in=None)
    world.services.users.revoke_token(revoked.token.id)
    answer = world.http.get("/projects", headers={"authorization": f"Bearer {revoked.secret}"})
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]

    assert world.call("member", "GET", "/projects").status_code == 200
    assert world.call("root", "PATCH", "/users/member", json={"disabled": True}).status_code == 200
    answer = world.call("member", "GET", "/projects")
    assert answer.status_code == 401 and "'member' is disabled" in answer.json()["detail"]

    forged = world.tokens["viewer"][:-3] + "xyz"
    answer = world.http.get("/projects", headers={"authorization": f"Bearer {forged}"})
    assert answer.status_code == 401 and answer.json()["detail"].startswith("token is not valid")


def test_the_tokens_user_is_the_actor_of_what_they_change(world: World) -> None:
    created = world.call("member", "POST", "/projects/churn/runs", json={"name": "by-member"})
    assert created.status_code == 201
    assert world.call("root", "POST", "/users", json={"name": "carl"}).status_code == 201
    grant = world.call("padmin", "PUT", "/users/carl/roles/churn", json={"role": "member"})
    assert grant.status_code == 200 and grant.json()["roles"] == {"churn": "member"}
    token = world.call("root", "POST", "/users/carl/tokens", json={"name": "ci"}).json()
    revoked = world.call("root", "DELETE", f"/users/carl/tokens/{token['token']['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    log = AuditLog(world.services.db)
    run_event = log.list_events(action="run.created", object_id=created.json()["id"])
    assert [e.actor for e in run_event] == ["member"]
    actors = {
        e.action: e.actor for e in log.list_events() if "carl" in e.object_id + str(e.payload)
    }
    assert actors == {
        "user.created": "root",
        "role.granted": "padmin",
        "token.created": "root",
        "token.revoked": "root",
    }


def test_me_and_self_service_tokens(world: World) -> None:
    me = world.call("approver", "GET", "/me").json()
    assert me == {
        "name": "approver",
        "display_name": "",
        "email": "",
        "is_admin": False,
        "roles": {"churn": "approver"},
        "authenticated": True,
    }
    mine = world.call("member", "POST", "/users/member/tokens", json={"name": "laptop"})
    assert mine.status_code == 201
    secret = mine.json()["secret"]
    assert world.http.get("/me", headers={"authorization": f"Bearer {secret}"}).status_code == 200
    expires = datetime.fromisoformat(mine.json()["token"]["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    listed = world.call("member", "GET", "/users/member/tokens")
    assert listed.status_code == 200 and secret not in listed.text
    assert {t["name"] for t in listed.json()} == {"test", "laptop"}
    theirs = world.call("member", "GET", "/users/viewer/tokens")
    assert theirs.status_code == 403 and "you are 'member'" in theirs.json()["detail"]
    assert world.call("member", "POST", "/users/viewer/tokens", json={}).status_code == 403
    assert world.call("member", "GET", "/users").status_code == 403
    assert world.call("root", "GET", "/users/member/tokens").status_code == 200


def test_projects_are_found_through_deployments_bodies_and_queries(world: World) -> None:
    deployment = world.services.deployments.register_replica(
        "churn-api",
        models={MODEL: {"alias": "production"}},
        strategy="single",
        replica_id="r1",
        address="http://127.0.0.1:9",
        host="test",
        pid=1,
    )
    assert world.call("viewer", "GET", f"/deployments/{deployment.name}").status_code == 200
    outside = world.call("outsider", "GET", f"/deployments/{deployment.name}")
    assert outside.status_code == 403 and "in project 'churn'" in outside.json()["detail"]
    beat = world.call("viewer", "PUT", "/replicas/r1/heartbeat", json={"status": "ready"})
    assert beat.status_code == 403 and "role 'member'" in beat.json()["detail"]
    assert world.call("viewer", "GET", "/deployments/nope").status_code == 404

    other = world.call("member", "POST", "/models", json={"name": "fraud-m", "project": "fraud"})
    assert other.status_code == 403 and "in project 'fraud'" in other.json()["detail"]
    assert world.call("viewer", "GET", "/models").status_code == 200
    assert world.call("viewer", "GET", "/models", params={"project": "fraud"}).status_code == 403
    nothing = world.call("nobody", "GET", "/models")
    assert nothing.status_code == 403 and "at least one project" in nothing.json()["detail"]
    assert world.call("viewer", "GET", "/audit", params={"project": "churn"}).status_code == 200
    assert world.call("viewer", "GET", "/audit").status_code == 403
    assert world.call("root", "GET", "/audit").status_code == 200


# --- every route declares its permission -----------------------------------------------

DOCS = {"/api/v1/openapi.json", "/api/v1/docs", "/docs/oauth2-redirect"}


def test_every_route_declares_a_permission() -> None:
    app = create_app(services=object(), auth=True)  # type: ignore[arg-type]
    undeclared, public, plain = [], [], []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            plain.append(route.path)
            continue
        rule = declared_rule(route.original_route)
        label = f"{'/'.join(sorted(route.methods or []))} {route.path}"
        if rule is None:
            undeclared.append(label)
        elif rule.scope == "public":
            public.append(label)
    assert undeclared == [], "routes without a permission (see werft.server.deps.require)"
    # The web UI's sign-in form and language switch must be reachable signed out.
    assert public == ["GET /api/v1/health", "GET /signin", "POST /signin", "POST /language"]
    assert set(plain) == DOCS | {"/static"}


def test_an_undeclared_route_is_refused_when_auth_is_on(world: World, live_server: Any) -> None:
    def sneaky() -> dict[str, str]:
        return {"secret": "data"}

    live_server.app.add_api_route("/api/v1/test-undeclared", sneaky, methods=["GET"])
    try:
        refused = world.call("root", "GET", "/test-undeclared")
        assert refused.status_code == 403
        assert "declares no permission" in refused.json()["detail"]
        live_server.app.state.auth = False
        assert world.call(None, "GET", "/test-undeclared").json() == {"secret": "data"}
    finally:
        live_server.app.router.routes[:] = [
            r for r in live_server.app.router.routes if getattr(r, "endpoint", None) is not sneaky
        ]


def test_with_auth_the_token_names_the_actor_not_the_client(world: World) -> None:
    def claiming(who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {world.tokens[who]}", "x-werft-actor": "someone-else"}

    run = world.http.post("/projects/churn/runs", json={"user": "ceo"}, headers=claiming("member"))
    assert run.status_code == 201, run.text
    assert run.json()["user"] == "member"
    moved = world.http.put(
        f"/models/{MODEL}/aliases/staging",
        json={"version": 1, "actor": "ceo"},
        headers=claiming("approver"),
    )
    assert moved.status_code == 200, moved.text
    history = world.services.registry.alias_history(MODEL, "staging")
    assert [event.actor for event in history] == ["approver"]
    audited = AuditLog(world.services.db).list_events(action="alias.moved")
    assert [event.actor for event in audited] == ["approver"]
