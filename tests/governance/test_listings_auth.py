"""Listings across projects on a server with auth show each caller their projects only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from werft.governance.access import visible_projects
from werft.governance.actor import acting_as
from werft.governance.roles import Principal, Role
from werft.pipelines.entities import CodeVersion, NewPipelineRun
from werft.services import Services

from .conftest import Release

SPEC: dict[str, Any] = {"entrypoint": "train.py:main", "data": {"train": "customers@latest"}}
CODE = CodeVersion(digest="sha256:" + "5a" * 32)

# Each project: a model, a pending approval request, a deployment with a monitor and a
# firing alert, a pipeline run. A third deployment serves models of both projects.
PROJECTS = ("churn", "fraud")


def _fill(services: Services) -> None:
    # Nothing listens on the channel: the notices stay in the outbox, to be listed.
    services.alerts.create_channel("hook", "webhook", {"url": "http://127.0.0.1:9/hook"})
    services.alerts.create_rule("drift", condition="drift.share > 0.3", channels=["hook"])
    for key in PROJECTS:
        release = Release(services, project=key)
        release.use_case(approvers=(), notify=["hook"])
        model = f"{key}-model"
        version = release.version(name=model)
        with acting_as("dev"):
            services.promotions.promote(model, version, "production")
        _deploy(services, key, {model: {"alias": "production"}})
        services.monitors.create(f"{key}-monitor", deployment=key)
        services.alerts.evaluate(f"{key}-monitor", {"drift.share": 0.5}, datetime.now(UTC))
        services.pipelines.create_run(key, NewPipelineRun(spec=SPEC, code=CODE))
    _deploy(services, "both", {f"{key}-model": {"alias": "production"} for key in PROJECTS})
    services.monitors.create("both-monitor", deployment="both")
    services.alerts.evaluate("both-monitor", {"drift.share": 0.5}, datetime.now(UTC))


def _deploy(services: Services, name: str, models: dict[str, Any]) -> None:
    services.deployments.register_replica(
        name,
        models=models,
        strategy="single",
        replica_id=f"{name}-r1",
        address="http://127.0.0.1:1",
        host="h",
        pid=1,
    )


@dataclass
class Server:
    http: httpx.Client
    tokens: dict[str, str]

    def get(self, who: str | None, path: str, **params: Any) -> Any:
        headers = {"authorization": f"Bearer {self.tokens[who]}"} if who else {}
        response = self.http.get(path, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def server(services: Services, live_server: Any) -> Iterator[Server]:
    """ana: viewer in churn; fred: member in fraud; both: viewer in each; root: global admin."""
    _fill(services)
    grants = {"ana": ["churn"], "fred": ["fraud"], "both": list(PROJECTS), "root": []}
    tokens = {}
    for name, keys in grants.items():
        services.users.create_user(name, admin=name == "root")
        for key in keys:
            services.users.grant(name, key, Role.MEMBER if name == "fred" else Role.VIEWER)
        tokens[name] = services.users.create_token(name, name="t", expires_in=None).secret
    live_server.app.state.services = services
    live_server.app.state.auth = True
    try:
        with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as http:
            yield Server(http, tokens)
    finally:
        live_server.app.state.auth = False


def _listings(server: Server, who: str | None) -> dict[str, list[str]]:
    """What each listing across projects shows ``who``, by name."""
    return {
        "projects": sorted(p["key"] for p in server.get(who, "/projects")["items"]),
        "models": sorted(m["name"] for m in server.get(who, "/models")["items"]),
        "approvals": sorted(a["model"] for a in server.get(who, "/approvals")),
        "deployments": sorted(d["name"] for d in server.get(who, "/deployments")),
        "monitors": sorted(m["name"] for m in server.get(who, "/monitors")),
        "alerts": sorted(a["monitor"] for a in server.get(who, "/alerts")),
        "pipeline-runs": sorted(r["project"] for r in server.get(who, "/pipeline-runs")),
        "notifications": sorted(
            n["monitor"] or n["subject"].split(": ")[1].split(" ")[0]
            for n in server.get(who, "/alerts/notifications")
        ),
    }


def _seen_by(*keys: str) -> dict[str, list[str]]:
    deployments = sorted([*keys, *(["both"] if len(keys) == 2 else [])])
    return {
        "projects": sorted(keys),
        "models": sorted(f"{k}-model" for k in keys),
        "approvals": sorted(f"{k}-model" for k in keys),
        "deployments": deployments,
        "monitors": [f"{d}-monitor" for d in deployments],
        "alerts": [f"{d}-monitor" for d in deployments],
        "pipeline-runs": sorted(keys),
        # An alert notice per monitor within the projects, an approval notice per request.
        "notifications": sorted(
            [*(f"{d}-monitor" for d in deployments), *(f"{k}-model" for k in keys)]
        ),
    }


@pytest.mark.parametrize(
    ("who", "keys"),
    [("ana", ("churn",)), ("fred", ("fraud",)), ("both", PROJECTS), ("root", PROJECTS)],
)
def test_each_caller_sees_the_projects_they_hold_a_role_in(
    server: Server, who: str, keys: tuple[str, ...]
) -> None:
    assert _listings(server, who) == _seen_by(*keys)


def test_a_filter_on_another_project_is_still_refused(server: Server) -> None:
    headers = {"authorization": f"Bearer {server.tokens['ana']}"}
    for path, params in [
        ("/models", {"project": "fraud"}),
        ("/pipeline-runs", {"project": "fraud"}),
        ("/approvals", {"model": "fraud-model"}),
        ("/monitors", {"deployment": "both"}),
    ]:
        refused = server.http.get(path, headers=headers, params=params)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert "project 'fraud'" in refused.json()["detail"]


def test_pages_hold_only_the_callers_models(server: Server, services: Services) -> None:
    for key in PROJECTS:
        release = Release(services, project=key)
        for n in range(3):
            release.version(name=f"{'a' if key == 'fraud' else 'b'}{n}-{key}", gate=None)
    names, cursor = [], None
    while True:
        page = server.get("ana", "/models", limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) == 2 or page["next_cursor"] is None
        names += [m["name"] for m in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert names == ["b0-churn", "b1-churn", "b2-churn", "churn-model"]


def test_a_cursor_from_another_callers_listing_is_refused(server: Server) -> None:
    page = server.get("root", "/models", limit=1)
    response = server.http.get(
        "/models",
        headers={"authorization": f"Bearer {server.tokens['ana']}"},
        params={"limit": 1, "cursor": page["next_cursor"]},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_without_auth_every_listing_shows_every_project(
    services: Services, api: httpx.Client
) -> None:
    _fill(services)
    server = Server(api, {})
    assert _listings(server, None) == _seen_by(*PROJECTS)


def test_every_role_counts_and_a_global_admin_is_not_restricted() -> None:
    roles = {"churn": Role.VIEWER, "fraud": Role.ADMIN}
    assert visible_projects(Principal(user="ana", roles=roles)) == {"churn", "fraud"}
    assert visible_projects(Principal(user="root", is_admin=True, roles=roles)) is None
    assert visible_projects(Principal(user="new")) == frozenset()
    assert visible_projects(None) == frozenset()  # auth on, nobody signed in: nothing
