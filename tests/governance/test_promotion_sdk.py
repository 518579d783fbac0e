"""`werft.promote / approve / reject / cancel_approval / rollback / list_approvals` from Python,
in local and remote mode: the same calls, the same rules, the same errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import werft
from werft.config import Settings
from werft.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from werft.governance.actor import acting_as, set_actor
from werft.governance.approval_entities import ApprovalStatus
from werft.registry.entities import VersionStatus
from werft.sdk.backend import Backend
from werft.sdk.fluent import set_backend
from werft.services import Services

from .conftest import MODEL, Release


@pytest.fixture
def sdk(backend: Backend, settings: Settings) -> Iterator[Backend]:
    set_backend(backend, settings)
    yield backend
    werft.configure()


def test_promote_request_and_approve_by_someone_else(sdk: Backend, release: Release) -> None:
    release.use_case()
    version = release.version()
    with acting_as("dev"):
        staged = werft.promote(MODEL, version, to="staging")
        result = werft.promote(MODEL, version, to="production", reason="AUC +2pt")
        again = werft.promote(MODEL, version, to="production")
    assert staged.moved and staged.version.aliases == ["staging"]
    request = result.approval
    assert request is not None and not result.moved
    assert (request.requested_by, request.reason, request.status) == (
        "dev",
        "AUC +2pt",
        ApprovalStatus.PENDING,
    )
    assert request.approvers == ["anna", "ops-lead"]
    assert again.already_pending and again.approval is not None
    assert again.approval.id == request.id
    assert [a.id for a in werft.list_approvals(status="pending", model=MODEL)] == [request.id]

    with acting_as("anna"):
        approved = werft.approve(request.id, comment="checked the slices")
    assert (approved.status, approved.decided_by, approved.comment) == (
        ApprovalStatus.APPROVED,
        "anna",
        "checked the slices",
    )
    assert werft.get_approval(request.id).status is ApprovalStatus.APPROVED
    in_production = werft.get_model_version(MODEL, alias="production")
    assert in_production.version == version and in_production.status is VersionStatus.APPROVED
    assert werft.list_approvals(status="pending") == []


def test_the_four_eyes_rule_and_the_problems_are_the_same_in_both_modes(
    sdk: Backend, release: Release
) -> None:
    release.use_case()
    version = release.version()
    with acting_as("dev"):
        request = werft.promote(MODEL, version, to="production").approval
        assert request is not None
        with pytest.raises(PermissionDeniedError) as own:
            werft.approve(request.id)
        with pytest.raises(PermissionDeniedError, match="approvals cancel"):
            werft.reject(request.id, comment="changed my mind")
    assert own.value.message == (
        "you requested this promotion; the four-eyes rule needs someone else to approve it "
        f"(approval request #{request.id})"
    )
    with acting_as("bob"), pytest.raises(PermissionDeniedError) as stranger:
        werft.approve(request.id)
    assert "only anna, ops-lead (the approvers of use case 'churn')" in stranger.value.message
    with acting_as("anna"):
        with pytest.raises(InvalidInputError, match="needs a comment"):
            werft.reject(request.id, comment=" ")
        rejected = werft.reject(request.id, comment="recall too low for B2B")
        with pytest.raises(ConflictError, match="already rejected by anna"):
            werft.approve(request.id)
    assert rejected.status is ApprovalStatus.REJECTED
    with pytest.raises(NotFoundError, match="werft approvals list"):
        werft.get_approval(424242)
    with pytest.raises(InvalidInputError, match="pending, approved"):
        werft.list_approvals(status="open")
    with pytest.raises(ConflictError, match="werft check") as gate:
        werft.promote(MODEL, release.version(gate=None), to="production")
    assert "--override-reason" in gate.value.message


def test_cancel_and_rollback(sdk: Backend, release: Release) -> None:
    release.use_case(policy={"production": "automatic", "staging": "approval"})
    first, second = release.version(), release.version()
    with acting_as("dev"):
        assert werft.promote(MODEL, first, to="production").moved
        moved = werft.promote(MODEL, second, to="production")
        request = werft.promote(MODEL, second, to="staging").approval
        assert request is not None
        cancelled = werft.cancel_approval(request.id, comment="wrong alias")
    assert moved.previous_version == first
    assert (cancelled.status, cancelled.comment) == (ApprovalStatus.CANCELLED, "wrong alias")
    with acting_as("ops-lead"):
        assert werft.rollback(MODEL, "production").version == first
        with pytest.raises(ConflictError, match="no previous version to return to"):
            werft.rollback(MODEL, "production")
        with pytest.raises(NotFoundError, match="no alias 'canary'"):
            werft.rollback(MODEL, "canary")
    assert werft.get_model_version(MODEL, alias="production").version == first


@pytest.fixture(params=["local", "remote"])
def configured(
    request: pytest.FixtureRequest, services: Services, settings: Settings, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """How a notebook configures werft: explicit settings, opened on first use."""
    if request.param == "local":
        yield {
            "home": tmp_path / "home",
            "database_url": settings.database_url,
            "artifacts_url": str(tmp_path / "artifacts"),
        }
    else:
        live = request.getfixturevalue("live_server")
        live.app.state.services = services
        yield {"url": live.url}
    werft.configure()
    set_actor(None)  # opening the backend made the configured user this context's actor


def test_the_configured_user_acts(
    configured: dict[str, Any], release: Release, monkeypatch: pytest.MonkeyPatch
) -> None:
    release.use_case(approvers=())
    version = release.version()
    monkeypatch.setenv("WERFT_USER", "dev")
    werft.configure(**configured)
    request = werft.promote(MODEL, version, to="production").approval
    assert request is not None and request.requested_by == "dev"
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        werft.approve(request.id)
    werft.configure(**configured, user="anna")  # an explicit setting beats WERFT_USER
    assert werft.approve(request.id).decided_by == "anna"


def test_approving_your_own_request_is_a_problem_over_http(
    api: httpx.Client, release: Release
) -> None:
    release.use_case()
    version = release.version()
    with acting_as("dev"):
        request = api.post(
            f"/models/{MODEL}/versions/{version}/promote", json={"alias": "production"}
        ).json()["approval"]
        answer = api.post(f"/approvals/{request['id']}/approve", json={})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "permission_denied" and "four-eyes" in problem["detail"]
