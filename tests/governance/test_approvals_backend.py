"""Promotion, approvals, rollback and cards through both backends: the same calls, the same errors.

Local mode acts as the process's user, remote mode as the server's; both are
one person calling twice, so the four-eyes rule must refuse the second call.
"""

from __future__ import annotations

import pytest

from werft.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from werft.governance.actor import acting_as
from werft.governance.approval_entities import ApprovalStatus
from werft.registry.entities import VersionStatus
from werft.sdk.backend import Backend
from werft.services import Services

from .conftest import MODEL, Release


def test_promotion_and_the_four_eyes_rule(backend: Backend, release: Release) -> None:
    release.use_case(approvers=())
    version = release.version()
    staged = backend.promote(MODEL, version, "staging")
    assert staged.moved and staged.version.aliases == ["staging"]
    requested = backend.promote(MODEL, version, "production", reason="AUC up")
    assert requested.approval is not None and not requested.moved
    approval = requested.approval
    again = backend.promote(MODEL, version, "production")
    assert again.already_pending and again.approval is not None
    assert again.approval.id == approval.id
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        backend.approve(approval.id)
    with pytest.raises(InvalidInputError, match="comment"):
        backend.reject(approval.id, comment="")
    assert backend.get_approval(approval.id).status is ApprovalStatus.PENDING
    cancelled = backend.cancel_approval(approval.id, comment="wrong version")
    assert cancelled.status is ApprovalStatus.CANCELLED and cancelled.comment == "wrong version"
    assert [a.id for a in backend.list_approvals(status="cancelled", model=MODEL)] == [approval.id]


def test_another_user_approves_or_rejects(
    backend: Backend, services: Services, release: Release
) -> None:
    release.use_case(approvers=())
    first, second = release.version(), release.version()
    with acting_as("dev"):
        one = services.promotions.promote(MODEL, first, "production").approval
        two = services.promotions.promote(MODEL, second, "production").approval
    assert one is not None and two is not None
    approved = backend.approve(one.id, comment="checked the slices")
    assert approved.status is ApprovalStatus.APPROVED and approved.decided_by != "dev"
    assert backend.get_alias(MODEL, "production").status is VersionStatus.APPROVED
    rejected = backend.reject(two.id, comment="recall too low")
    assert rejected.status is ApprovalStatus.REJECTED
    with pytest.raises(ConflictError, match="already rejected"):
        backend.approve(two.id)
    with pytest.raises(NotFoundError):
        backend.get_approval(999)


def test_rollback_and_closed_versions(backend: Backend, release: Release) -> None:
    first, second = release.version(), release.version()
    backend.promote(MODEL, first, "production")
    backend.promote(MODEL, second, "production")
    assert backend.rollback(MODEL, "production").version == first
    with pytest.raises(ConflictError, match="no previous version"):
        backend.rollback(MODEL, "production")
    backend.set_version_status(MODEL, second, VersionStatus.REJECTED)
    with pytest.raises(ConflictError, match="rejected"):
        backend.promote(MODEL, second, "production")
    with pytest.raises(ConflictError, match="werft check"):
        backend.promote(MODEL, release.version(gate=None), "production")


def test_model_card(backend: Backend, release: Release) -> None:
    release.use_case(risk_class="high")
    version = release.version()
    card = backend.model_card(MODEL, version)
    assert card.high_risk and card.version.version == version
    assert [d.name for d in card.datasets] == ["customers"]
    assert [s.number for s in card.open_sections] == [1, 2, 3, 4, 5, 7, 8, 9]
    assert card.gates[0].checks[1].name == "model.acceptance.roc_auc"
