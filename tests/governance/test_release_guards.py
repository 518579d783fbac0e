"""What could release or withdraw a version around `werft promote`: statuses set by hand
and deleting an alias the use case releases with approval."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from werft.cli.main import app
from werft.config import load_settings
from werft.errors import ConflictError, InvalidInputError
from werft.governance.actor import acting_as
from werft.governance.audit import AuditLog
from werft.governance.roles import Role
from werft.registry.entities import VersionStatus
from werft.sdk.backend import Backend
from werft.services import Services, build_services

from .conftest import MODEL, Release

VERSIONS = f"/models/{MODEL}/versions"
PRODUCTION = f"/models/{MODEL}/aliases/production"


def _in_production(services: Services, release: Release) -> int:
    """A version released to production the proper way: dev requests, anna approves."""
    release.use_case(approvers=())
    version = release.version()
    with acting_as("dev"):
        approval = services.promotions.promote(MODEL, version, "production").approval
    assert approval is not None
    with acting_as("anna"):
        services.promotions.approve(approval.id)
    return version


# --- statuses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "how"),
    [(VersionStatus.VALIDATED, "werft check"), (VersionStatus.APPROVED, "werft promote")],
)
def test_validated_and_approved_are_earned_never_set_by_hand(
    services: Services, release: Release, status: VersionStatus, how: str
) -> None:
    version = release.version()
    with pytest.raises(ConflictError, match=f"only through .*{how}.*cannot be set directly"):
        services.registry.set_status(MODEL, version, status)
    assert services.registry.get_version(MODEL, version).status is VersionStatus.CANDIDATE
    assert AuditLog(services.db).list_events(action="model_version.status_changed") == []


def test_setting_the_status_a_version_has_changes_nothing(
    services: Services, release: Release
) -> None:
    version = _in_production(services, release)
    again = services.registry.set_status(MODEL, version, VersionStatus.APPROVED)
    assert again.status is VersionStatus.APPROVED


def test_a_version_an_alias_points_at_is_not_rejected_or_archived_under_it(
    services: Services, release: Release
) -> None:
    version = _in_production(services, release)
    for status in (VersionStatus.REJECTED, VersionStatus.ARCHIVED):
        with pytest.raises(ConflictError, match=r"@production points at.*werft rollback"):
            services.registry.set_status(MODEL, version, status)
    assert services.registry.get_version(MODEL, version).status is VersionStatus.APPROVED


def test_a_withdrawn_version_is_reopened_as_a_candidate(
    services: Services, release: Release
) -> None:
    version = release.version()
    services.registry.set_status(MODEL, version, VersionStatus.ARCHIVED)
    reopened = services.registry.set_status(MODEL, version, VersionStatus.CANDIDATE)
    assert reopened.status is VersionStatus.CANDIDATE
    changes = AuditLog(services.db).list_events(action="model_version.status_changed")
    assert [(e.payload["from"], e.payload["to"]) for e in changes] == [
        ("candidate", "archived"),
        ("archived", "candidate"),
    ]


# --- deleting an alias ----------------------------------------------------------------


def test_deleting_an_approval_alias_needs_a_reason_and_is_audited(
    services: Services, release: Release
) -> None:
    version = _in_production(services, release)
    with acting_as("ops"):
        with pytest.raises(InvalidInputError, match=r"stops serving it.*--reason"):
            services.registry.delete_alias(MODEL, "production")
        assert services.registry.get_alias(MODEL, "production").version == version
        services.registry.delete_alias(MODEL, "production", reason="  predictions are wrong  ")
    [event] = AuditLog(services.db).list_events(action="alias.deleted")
    assert event.actor == "ops"
    assert event.payload == {
        "from": version,
        "policy": "approval",
        "reason": "predictions are wrong",
    }


def test_other_aliases_are_deleted_as_before(services: Services, release: Release) -> None:
    release.use_case(approvers=())
    version = release.version()
    services.promotions.promote(MODEL, version, "staging")  # automatic
    services.registry.set_alias(MODEL, "shadow", version)  # no policy names it
    services.registry.delete_alias(MODEL, "staging")
    services.registry.delete_alias(MODEL, "shadow")
    payloads = [e.payload for e in AuditLog(services.db).list_events(action="alias.deleted")]
    assert payloads == [{"from": version, "policy": "automatic"}, {"from": version}]


def test_both_backends_keep_the_rules(
    backend: Backend, services: Services, release: Release
) -> None:
    version = _in_production(services, release)
    with pytest.raises(ConflictError, match="werft promote"):
        backend.set_version_status(MODEL, release.version(), VersionStatus.APPROVED)
    with pytest.raises(ConflictError, match="@production"):
        backend.set_version_status(MODEL, version, VersionStatus.ARCHIVED)
    with pytest.raises(InvalidInputError, match="reason"):
        backend.delete_alias(MODEL, "production")
    backend.delete_alias(MODEL, "production", reason="model misbehaves; off until fixed")
    assert backend.get_model(MODEL).aliases == {}
    assert backend.set_version_status(MODEL, version, VersionStatus.ARCHIVED).status == "archived"


# --- with auth: who may ---------------------------------------------------------------


@dataclass
class Team:
    http: httpx.Client
    tokens: dict[str, str]

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.tokens[who]}"}
        return self.http.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def team(services: Services, live_server: Any) -> Iterator[Team]:
    """dev (member), anna (approver), padmin (project admin) in churn."""
    services.projects.get_or_create("churn")
    tokens = {}
    for name, role in {"dev": Role.MEMBER, "anna": Role.APPROVER, "padmin": Role.ADMIN}.items():
        services.users.create_user(name)
        services.users.grant(name, "churn", role)
        tokens[name] = services.users.create_token(name, name="laptop", expires_in=None).secret
    live_server.app.state.services = services
    live_server.app.state.auth = True
    try:
        with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as http:
            yield Team(http, tokens)
    finally:
        live_server.app.state.auth = False


def _problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["detail"])


def test_a_member_withdraws_an_approver_reopens_nobody_approves_by_hand(
    team: Team, release: Release
) -> None:
    version = release.version()
    url = f"{VERSIONS}/{version}"
    archived = team.call("dev", "PATCH", url, json={"status": "archived"})
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    detail = _problem(team.call("dev", "PATCH", url, json={"status": "candidate"}), 403)
    assert "this needs role 'approver' in project 'churn'; you are 'member'" in detail
    reopened = team.call("anna", "PATCH", url, json={"status": "candidate"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "candidate"
    for who in ("anna", "padmin"):
        approved = team.call(who, "PATCH", url, json={"status": "approved"})
        assert "werft promote" in _problem(approved, 409)
        assert "werft check" in _problem(
            team.call(who, "PATCH", url, json={"status": "validated"}), 409
        )


def test_only_a_project_admin_deletes_production_and_says_why(
    team: Team, services: Services, release: Release
) -> None:
    version = _in_production(services, release)
    detail = _problem(team.call("anna", "DELETE", PRODUCTION, params={"reason": "bad"}), 403)
    assert "needs role 'admin' in project 'churn'" in detail and "werft rollback" in detail
    assert "--reason" in _problem(team.call("padmin", "DELETE", PRODUCTION), 400)
    deleted = team.call("padmin", "DELETE", PRODUCTION, params={"reason": "drift on all inputs"})
    assert deleted.status_code == 204, deleted.text
    [event] = AuditLog(services.db).list_events(action="alias.deleted")
    assert (event.actor, event.payload["reason"]) == ("padmin", "drift on all inputs")
    assert services.registry.get_version(MODEL, version).aliases == []


# --- the CLI --------------------------------------------------------------------------


def test_the_cli_passes_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "cli-home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    built = build_services(load_settings(home=home).settings)
    try:
        _in_production(built, Release(built))
    finally:
        built.close()
    runner = CliRunner()
    refused = runner.invoke(app, ["models", "alias", "delete", MODEL, "production"])
    assert refused.exit_code == 5 and "--reason" in refused.stderr
    deleted = runner.invoke(
        app, ["models", "alias", "delete", MODEL, "production", "--reason", "stop serving it"]
    )
    assert deleted.exit_code == 0, deleted.stderr
    assert deleted.stdout.strip() == f"deleted {MODEL}@production"
