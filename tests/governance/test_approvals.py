"""Promotion through the use case's policy, the four-eyes rule, overrides, rollback."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from werft.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    WerftError,
)
from werft.governance.actor import acting_as
from werft.governance.approval_entities import Approval, ApprovalStatus
from werft.governance.approvals import PromotionService
from werft.governance.audit import AuditLog
from werft.registry.entities import VersionStatus
from werft.services import Services
from werft.store.models import GateReportRow

from .conftest import MODEL, Release


def _actions(services: Services) -> list[str]:
    return [e.action for e in AuditLog(services.db).list_events()]


def _history(services: Services, alias: str) -> list[tuple[int | None, int | None, str]]:
    return [
        (e.from_version, e.to_version, e.actor)
        for e in services.registry.alias_history(MODEL, alias)
    ]


def _request(services: Services, release: Release, *, by: str = "dev") -> Approval:
    release.use_case()
    version = release.version()
    with acting_as(by):
        result = services.promotions.promote(MODEL, version, "production", reason="better AUC")
    assert result.approval is not None
    return result.approval


def test_without_a_use_case_promotion_moves_the_alias_when_the_gate_passed(
    services: Services, release: Release
) -> None:
    first, second = release.version(), release.version()
    with acting_as("dev"):
        assert services.promotions.promote(MODEL, first, "production").moved
        result = services.promotions.promote(MODEL, second, "production")
    assert result.moved and result.approval is None and result.previous_version == first
    assert result.version.aliases == ["production"]
    assert services.registry.get_alias(MODEL, "production").version == second
    assert _history(services, "production") == [(None, first, "dev"), (first, second, "dev")]
    moved = AuditLog(services.db).list_events(action="alias.moved")
    assert [e.payload["to"] for e in moved] == [first, second]
    assert {e.actor for e in moved} == {"dev"}
    again = services.promotions.promote(MODEL, second, "production")
    assert not again.moved and again.approval is None


@pytest.mark.parametrize(("gate", "words"), [(None, "no gate report"), (False, "failed")])
def test_a_missing_or_failed_gate_blocks_promotion(
    services: Services, release: Release, gate: bool | None, words: str
) -> None:
    version = release.version(gate=gate)
    with pytest.raises(ConflictError, match=words) as caught:
        services.promotions.promote(MODEL, version, "staging")
    assert "werft check" in caught.value.message and "--override-reason" in caught.value.message
    with pytest.raises(NotFoundError):
        services.registry.get_alias(MODEL, "staging")


def test_a_gate_run_against_another_werft_yaml_does_not_release(
    services: Services, release: Release
) -> None:
    release.use_case(policy={"staging": "automatic"})
    version = release.version()
    with services.db.session() as session:  # as if `werft check --use-case loosened.yaml`
        gate = session.get(GateReportRow, release.gate(version, passed=True))
        assert gate is not None
        gate.report = {**gate.report, "use_case_digest": "sha256:" + "00" * 32}
    with pytest.raises(ConflictError, match=r"another werft\.yaml"):
        services.promotions.promote(MODEL, version, "staging")
    release.gate(version, passed=True)  # checked again against the synced use case
    assert services.promotions.promote(MODEL, version, "staging").moved


def test_only_the_newest_gate_report_counts(services: Services, release: Release) -> None:
    version = release.version(gate=False)
    release.gate(version, passed=True)
    assert services.promotions.promote(MODEL, version, "staging").moved
    release.gate(version, passed=False)
    with pytest.raises(ConflictError, match="failed"):
        services.promotions.promote(MODEL, release.version(gate=False), "staging")


def test_automatic_policy_moves_and_approval_policy_requests(
    services: Services, release: Release
) -> None:
    release.use_case()
    version = release.version()
    with acting_as("dev"):
        staged = services.promotions.promote(MODEL, version, "staging")
        requested = services.promotions.promote(MODEL, version, "production", reason="AUC +2pt")
    assert staged.moved and staged.approval is None
    assert not requested.moved and requested.approval is not None
    approval = requested.approval
    assert approval.status is ApprovalStatus.PENDING and approval.requested_by == "dev"
    assert approval.approvers == ["anna", "ops-lead"] and approval.reason == "AUC +2pt"
    assert approval.gate_report_id is not None
    assert services.registry.get_model(MODEL).aliases == {"staging": version}
    assert "approval.requested" in _actions(services)


def test_a_second_request_for_the_same_version_and_alias_returns_the_first(
    services: Services, release: Release
) -> None:
    first = _request(services, release)
    with acting_as("someone-else"):
        again = services.promotions.promote(MODEL, first.version, "production")
    assert again.already_pending and again.approval is not None
    assert again.approval.id == first.id
    assert len(services.promotions.list_requests()) == 1


def test_the_requester_cannot_approve_their_own_request(
    services: Services, release: Release
) -> None:
    approval = _request(services, release, by="anna")
    with acting_as("anna"), pytest.raises(PermissionDeniedError, match="four-eyes") as caught:
        services.promotions.approve(approval.id)
    assert "you requested this promotion" in caught.value.message
    # The same person through a second session (another token, another terminal) is the
    # same name: still refused.
    with acting_as("anna"), acting_as("anna"), pytest.raises(PermissionDeniedError):
        services.promotions.approve(approval.id, comment="second token")
    assert services.promotions.get(approval.id).status is ApprovalStatus.PENDING
    with pytest.raises(NotFoundError):
        services.registry.get_alias(MODEL, "production")


def test_the_requester_cannot_approve_even_as_an_admin(
    services: Services, release: Release
) -> None:
    admin = PromotionService(services.db, registry=services.registry, is_admin=lambda *_: True)
    approval = _request(services, release, by="anna")
    with acting_as("anna"), pytest.raises(PermissionDeniedError, match="four-eyes"):
        admin.approve(approval.id)


def test_an_approver_approves_and_the_alias_moves_in_the_same_step(
    services: Services, release: Release
) -> None:
    approval = _request(services, release)
    with acting_as("anna"):
        decided = services.promotions.approve(approval.id, comment="checked the slices")
    assert decided.status is ApprovalStatus.APPROVED
    assert (decided.decided_by, decided.comment) == ("anna", "checked the slices")
    assert decided.decided_at is not None
    version = services.registry.get_alias(MODEL, "production")
    assert version.version == approval.version and version.status is VersionStatus.APPROVED
    assert _history(services, "production") == [(None, approval.version, "anna")]
    events = AuditLog(services.db).list_events(object_type="approval")
    assert [e.action for e in events] == ["approval.requested", "approval.approved"]
    assert events[1].actor == "anna" and events[1].payload["comment"] == "checked the slices"
    [moved] = AuditLog(services.db).list_events(action="alias.moved")
    assert moved.payload == {"from": None, "to": approval.version, "approval": approval.id}
    with acting_as("ops-lead"), pytest.raises(ConflictError, match="already approved by anna"):
        services.promotions.approve(approval.id)


def test_the_approvers_list_is_enforced_unless_the_actor_is_an_admin(
    services: Services, release: Release
) -> None:
    approval = _request(services, release)
    with acting_as("bob"), pytest.raises(PermissionDeniedError) as caught:
        services.promotions.approve(approval.id)
    assert "anna, ops-lead" in caught.value.message and "'bob'" in caught.value.message
    admin = PromotionService(
        services.db, registry=services.registry, is_admin=lambda user, _: user == "bob"
    )
    with acting_as("bob"):
        assert admin.approve(approval.id).status is ApprovalStatus.APPROVED


def test_without_approvers_anyone_but_the_requester_may_approve(
    services: Services, release: Release
) -> None:
    release.use_case(approvers=())
    version = release.version()
    with acting_as("dev"):
        approval = services.promotions.promote(MODEL, version, "production").approval
    assert approval is not None and approval.approvers == []
    with acting_as("carl"):
        assert services.promotions.approve(approval.id).decided_by == "carl"


def test_an_override_needs_an_admin_and_a_written_reason(
    services: Services, release: Release
) -> None:
    version = release.version(gate=False)
    for blank in ("", "   "):
        with pytest.raises(InvalidInputError, match="an override needs a written reason"):
            services.promotions.promote(MODEL, version, "staging", override_reason=blank)
    strict = PromotionService(services.db, registry=services.registry, is_admin=lambda *_: False)
    with acting_as("dev"), pytest.raises(PermissionDeniedError, match="only an admin"):
        strict.promote(MODEL, version, "staging", override_reason="hotfix")
    assert "promotion.overridden" not in _actions(services)
    admin = PromotionService(services.db, registry=services.registry, is_admin=lambda *_: True)
    with acting_as("ops-lead"):
        result = admin.promote(
            MODEL, version, "staging", override_reason="the holdout set is being rebuilt"
        )
    assert result.moved and result.overridden
    [event] = AuditLog(services.db).list_events(action="promotion.overridden")
    assert event.actor == "ops-lead" and event.object_id == f"{MODEL}/{version}"
    assert event.payload["reason"] == "the holdout set is being rebuilt"
    assert event.payload["gate"] == "failed" and event.payload["alias"] == "staging"


def test_an_overridden_request_still_needs_an_approval(
    services: Services, release: Release
) -> None:
    release.use_case()
    version = release.version(gate=None)
    with acting_as("dev"):
        result = services.promotions.promote(
            MODEL, version, "production", override_reason="gate job is down, CI verified by hand"
        )
    assert result.overridden and result.approval is not None and not result.moved
    assert result.approval.override_reason == "gate job is down, CI verified by hand"
    with acting_as("anna"):
        assert services.promotions.approve(result.approval.id).status is ApprovalStatus.APPROVED


@pytest.mark.parametrize("status", [VersionStatus.REJECTED, VersionStatus.ARCHIVED])
def test_a_rejected_or_archived_version_cannot_be_promoted(
    services: Services, release: Release, status: VersionStatus
) -> None:
    version = release.version()
    services.registry.set_status(MODEL, version, status)
    with pytest.raises(ConflictError, match=f"is {status.value}"):
        services.promotions.promote(MODEL, version, "staging", override_reason="please")


def test_a_version_closed_while_its_request_waited_cannot_be_approved(
    services: Services, release: Release
) -> None:
    approval = _request(services, release)
    services.registry.set_status(MODEL, approval.version, VersionStatus.REJECTED)
    with acting_as("anna"), pytest.raises(ConflictError, match="rejected"):
        services.promotions.approve(approval.id)


def test_a_gate_that_failed_after_the_request_blocks_the_approval(
    services: Services, release: Release
) -> None:
    approval = _request(services, release)
    release.gate(approval.version, passed=False)
    with acting_as("anna"), pytest.raises(ConflictError, match="cannot be approved now"):
        services.promotions.approve(approval.id)


def test_reject_needs_a_comment_and_closes_the_request(
    services: Services, release: Release
) -> None:
    approval = _request(services, release)
    with acting_as("anna"), pytest.raises(InvalidInputError, match="comment"):
        services.promotions.reject(approval.id, comment=" ")
    with acting_as("dev"), pytest.raises(PermissionDeniedError, match="cancel"):
        services.promotions.reject(approval.id, comment="never mind")
    with acting_as("anna"):
        rejected = services.promotions.reject(approval.id, comment="recall too low on B2B")
    assert rejected.status is ApprovalStatus.REJECTED and rejected.decided_by == "anna"
    with acting_as("ops-lead"), pytest.raises(ConflictError, match="already rejected"):
        services.promotions.approve(approval.id)
    assert "approval.rejected" in _actions(services)
    assert services.registry.get_version(MODEL, approval.version).status is not (
        VersionStatus.APPROVED
    )


def test_only_the_requester_cancels(services: Services, release: Release) -> None:
    approval = _request(services, release)
    with acting_as("anna"), pytest.raises(PermissionDeniedError, match="only 'dev'"):
        services.promotions.cancel(approval.id)
    with acting_as("dev"):
        cancelled = services.promotions.cancel(approval.id)
    assert cancelled.status is ApprovalStatus.CANCELLED
    with acting_as("dev"), pytest.raises(ConflictError, match="already cancelled"):
        services.promotions.cancel(approval.id)
    with acting_as("dev"):
        again = services.promotions.promote(MODEL, approval.version, "production")
    assert again.approval is not None and again.approval.id != approval.id


def test_list_and_get(services: Services, release: Release) -> None:
    approval = _request(services, release)
    other = Release(services, project="fraud").version(name="fraud-detector")
    with acting_as("dev"):
        assert services.promotions.promote("fraud-detector", other, "production").moved
    assert [a.id for a in services.promotions.list_requests(status="pending")] == [approval.id]
    assert services.promotions.list_requests(model="fraud-detector") == []
    assert services.promotions.list_requests(status="approved") == []
    assert services.promotions.get(approval.id) == approval
    with pytest.raises(NotFoundError, match="#999"):
        services.promotions.get(999)
    with pytest.raises(InvalidInputError, match="status 'open' is unknown"):
        services.promotions.list_requests(status="open")


def test_rollback_returns_to_the_previous_version_step_by_step(
    services: Services, release: Release
) -> None:
    v1, v2, v3, v4 = (release.version() for _ in range(4))
    with acting_as("dev"):
        for version in (v1, v2, v3, v4):
            services.promotions.promote(MODEL, version, "production")
    services.registry.set_status(MODEL, v3, VersionStatus.REJECTED)
    with acting_as("ops"):
        assert services.promotions.rollback(MODEL, "production").version == v2  # skips v3
        assert services.promotions.rollback(MODEL, "production").version == v1
        with pytest.raises(ConflictError, match="no previous version"):
            services.promotions.rollback(MODEL, "production")
    assert _history(services, "production")[-2:] == [(v4, v2, "ops"), (v2, v1, "ops")]
    events = AuditLog(services.db).list_events(action="alias.rolled_back")
    assert [(e.payload["from"], e.payload["to"], e.payload["skipped"]) for e in events] == [
        (v4, v2, [v3]),
        (v2, v1, []),
    ]
    with pytest.raises(NotFoundError, match="no alias 'staging'"):
        services.promotions.rollback(MODEL, "staging")


def test_rollback_needs_no_approval_under_an_approval_policy(
    services: Services, release: Release
) -> None:
    release.use_case()
    v1, v2 = release.version(), release.version()
    for version in (v1, v2):
        with acting_as("dev"):
            request = services.promotions.promote(MODEL, version, "production").approval
        assert request is not None
        with acting_as("anna"):
            services.promotions.approve(request.id)
    with acting_as("ops-lead"):
        assert services.promotions.rollback(MODEL, "production").version == v1


def test_direct_alias_moves_follow_the_policy(services: Services, release: Release) -> None:
    version = release.version(gate=None)
    services.registry.set_alias(MODEL, "production", version)  # no use case: as always
    release.use_case(policy={"production": "approval", "staging": "automatic"})
    with pytest.raises(ConflictError, match="werft promote") as caught:
        services.registry.set_alias(MODEL, "production", version)
    assert "approval" in caught.value.message
    with pytest.raises(ConflictError, match="no gate report"):
        services.registry.set_alias(MODEL, "staging", version)
    release.gate(version, passed=True)
    assert services.registry.set_alias(MODEL, "staging", version).aliases == [
        "production",
        "staging",
    ]
    services.registry.set_alias(MODEL, "shadow", version)  # an alias no policy names


def test_an_unknown_policy_word_is_read_as_approval(services: Services, release: Release) -> None:
    release.use_case(policy={"production": "manual"})
    version = release.version()
    with acting_as("dev"):
        assert services.promotions.promote(MODEL, version, "production").approval is not None


def test_approvers_hear_about_requests_through_the_outbox_and_the_notifier(
    services: Services, release: Release, webhook: Any
) -> None:
    services.alerts.create_channel("ops-hook", "webhook", {"url": webhook.url})
    release.use_case(notify=["ops-hook", "missing"])
    heard: list[tuple[str, int]] = []
    service = PromotionService(
        services.db,
        registry=services.registry,
        notifier=lambda event, approval: heard.append((event, approval.id)),
    )
    version = release.version()
    with acting_as("dev"):
        result = service.promote(MODEL, version, "production")
    assert result.approval is not None
    outcomes = {n.target: n for n in result.notifications}
    assert outcomes["ops-hook"].ok and outcomes["ops-hook"].status == "queued"
    assert outcomes["notifier"].ok and outcomes["notifier"].status == "sent"
    assert not outcomes["missing"].ok and outcomes["missing"].status == "failed"
    assert "does not exist" in outcomes["missing"].error
    assert webhook.requests == []  # the worker sends it, not the request
    [queued] = services.alerts.list_notifications(approval_id=result.approval.id)
    assert queued.id == outcomes["ops-hook"].notification_id and queued.event == "requested"
    assert services.alerts.deliver_due().sent == 1
    [body] = webhook.bodies()
    assert body["status"] == "notice" and f"#{result.approval.id}" in body["title"]
    assert f"werft approve {result.approval.id}" in body["hint"]
    with acting_as("anna"):
        service.approve(result.approval.id)
    assert heard == [("requested", result.approval.id), ("approved", result.approval.id)]
    [notified, _] = AuditLog(services.db).list_events(action="approval.notified")
    failed = [d["target"] for d in notified.payload["deliveries"] if not d["ok"]]
    assert failed == ["missing"]


def test_a_failing_notifier_is_recorded_and_the_request_stands(
    services: Services, release: Release
) -> None:
    def broken(event: str, approval: Approval) -> None:
        raise RuntimeError("mail relay down")

    release.use_case()
    service = PromotionService(services.db, registry=services.registry, notifier=broken)
    with acting_as("dev"):
        result = service.promote(MODEL, release.version(), "production")
    assert result.approval is not None
    [outcome] = result.notifications
    assert not outcome.ok and "mail relay down" in outcome.error
    assert service.get(result.approval.id).status is ApprovalStatus.PENDING


# --- concurrency: the model's row lock serialises every move of its aliases ------------
# (on PostgreSQL the lock does it; SQLite serialises its writers anyway)


def _in_threads(count: int, work: Any) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except WerftError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _consistent(services: Services, alias: str) -> list[int | None]:
    """Each move starts where the one before ended; the alias is where the last one ended."""
    history = services.registry.alias_history(MODEL, alias)
    assert all(b.from_version == a.to_version for a, b in itertools.pairwise(history))
    assert services.registry.get_alias(MODEL, alias).version == history[-1].to_version
    return [e.to_version for e in history]


def test_concurrent_approvals_of_one_request_let_exactly_one_win(
    services: Services, release: Release
) -> None:
    approval = _request(services, release)
    release.use_case(approvers=())

    def approve(i: int) -> Approval:
        with acting_as(f"approver-{i}"):
            return services.promotions.approve(approval.id)

    results = _in_threads(6, approve)
    won = [r for r in results if isinstance(r, Approval)]
    lost = [r for r in results if isinstance(r, ConflictError)]
    assert len(won) == 1 and len(lost) == 5, results
    assert all("already approved" in e.message for e in lost)
    assert _consistent(services, "production") == [approval.version]
    assert len(AuditLog(services.db).list_events(action="approval.approved")) == 1
    assert AuditLog(services.db).verify().ok


def test_concurrent_promotions_of_one_alias_serialise(services: Services, release: Release) -> None:
    versions = [release.version() for _ in range(8)]

    def promote(i: int) -> bool:
        with acting_as(f"dev-{i}"):
            return services.promotions.promote(MODEL, versions[i], "production").moved

    assert _in_threads(8, promote) == [True] * 8
    assert sorted(v for v in _consistent(services, "production") if v) == versions
    # Rollbacks racing with promotions keep the history a chain too.
    release.use_case(policy={"production": "automatic"})

    def mixed(i: int) -> object:
        with acting_as(f"ops-{i}"):
            if i % 2:
                return services.promotions.rollback(MODEL, "production")
            return services.promotions.promote(MODEL, versions[i], "production")

    _in_threads(6, mixed)
    _consistent(services, "production")
    assert AuditLog(services.db).verify().ok


def test_concurrent_requests_for_one_version_make_one_request(
    services: Services, release: Release
) -> None:
    release.use_case()
    version = release.version()

    def promote(i: int) -> int:
        with acting_as(f"dev-{i}"):
            approval = services.promotions.promote(MODEL, version, "production").approval
        assert approval is not None
        return approval.id

    assert len(set(_in_threads(6, promote))) == 1
    assert len(services.promotions.list_requests()) == 1
