"""Releasing from Python: ``werft.promote()``, ``werft.approve()``, ``werft.rollback()`` ...

The same rules as ``werft promote`` and ``werft approve`` (docs/promotion.md):
the use case's policy decides whether an alias moves at once or waits for an
approval request, the version's newest gate must have passed, and the four-eyes
rule refuses to let the requester approve their own request. Who acts is the
configured user (``WERFT_USER``, the ``user`` setting), else the operating-system
user (:mod:`werft.governance.actor`); against a server with authentication, the
token's user. Errors are the werft errors the CLI maps to exit codes:
``PermissionDeniedError`` for the four-eyes rule, ``ConflictError`` for a failed
or missing gate, ``NotFoundError`` for an unknown model or request.

These live beside :mod:`werft.sdk.fluent` rather than in it, which holds the
tracking calls and is long enough already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werft.sdk import fluent

if TYPE_CHECKING:
    from werft.governance.approval_entities import Approval, PromotionResult
    from werft.registry.entities import ModelVersion


def promote(
    name: str,
    version: int,
    *,
    to: str,
    reason: str = "",
    override_reason: str | None = None,
) -> PromotionResult:
    """Move the alias ``to`` (``staging``, ``production`` ...) to ``version``, as the use
    case's policy says: at once, or through an approval request.

    Args:
        name: The registered model.
        version: The version to release.
        to: The alias to move.
        reason: Why this version should go there; shown to the approvers.
        override_reason: Promote despite a failed or missing gate, saying why
            (an admin, with authentication on); audited and shown on the model card.

    Returns:
        What happened: ``moved`` (the alias points at the version now), or the
        ``approval`` request that waits for a decision (``already_pending`` when
        it existed before), and ``notifications``: each channel of the use
        case's ``notify`` list, ``queued`` in the notification outbox (the
        worker sends it, with retries) or ``failed`` with the reason.

    Raises:
        NotFoundError: No such model or version.
        ConflictError: The version is rejected or archived, or its gate failed
            or is missing and no ``override_reason`` was given.
        InvalidInputError: ``override_reason`` is blank.
        PermissionDeniedError: A non-admin asked to override the gate.
    """
    return fluent._backend().promote(
        name, version, to, reason=reason, override_reason=override_reason
    )


def approve(request_id: int, *, comment: str = "") -> Approval:
    """Approve a pending approval request: the alias moves at once.

    Raises:
        PermissionDeniedError: You requested it (the four-eyes rule needs someone
            else), or the use case's approvers do not include you.
        ConflictError: The request is no longer pending, or the version can no
            longer be released (rejected, archived, or its newest gate failed).
        NotFoundError: No such request.
    """
    return fluent._backend().approve(request_id, comment=comment)


def reject(request_id: int, *, comment: str) -> Approval:
    """Turn a pending approval request down; ``comment`` says why (required).

    Raises:
        InvalidInputError: The comment is blank.
        PermissionDeniedError: You requested it (withdraw it with
            :func:`cancel_approval`), or you are not one of the approvers.
        ConflictError: The request is no longer pending.
        NotFoundError: No such request.
    """
    return fluent._backend().reject(request_id, comment=comment)


def cancel_approval(request_id: int, *, comment: str = "") -> Approval:
    """Withdraw a pending approval request (its requester, or an admin).

    Raises:
        PermissionDeniedError: Someone else requested it.
        ConflictError: The request is no longer pending.
        NotFoundError: No such request.
    """
    return fluent._backend().cancel_approval(request_id, comment=comment)


def get_approval(request_id: int) -> Approval:
    """One approval request.

    Raises:
        NotFoundError: No such request.
    """
    return fluent._backend().get_approval(request_id)


def list_approvals(*, status: str | None = None, model: str | None = None) -> list[Approval]:
    """Approval requests, newest first.

    Args:
        status: Only ``pending``, ``approved``, ``rejected`` or ``cancelled`` ones.
        model: Only this registered model's.

    Raises:
        InvalidInputError: An unknown status.
        NotFoundError: No such model.
    """
    return fluent._backend().list_approvals(status=status, model=model)


def rollback(name: str, alias: str) -> ModelVersion:
    """Return ``alias`` to the version it pointed at before, in one step.

    Needs no gate and no approval (the version was released once already);
    rejected and archived versions are skipped; audited as ``alias.rolled_back``.

    Returns:
        The version the alias points at now.

    Raises:
        NotFoundError: No such model or alias.
        ConflictError: There is no previous version to return to.
    """
    return fluent._backend().rollback(name, alias)
