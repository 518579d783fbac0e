"""A use case's release policy: how each alias may move, and what the gate must say first.

The use case (``werft.yaml``, synced into ``use_cases.spec``) names a policy
per alias — ``{"production": "approval", "staging": "automatic"}``:

- ``automatic``: the alias moves as soon as someone promotes a version whose
  newest gate report passed;
- ``approval``: promoting creates an approval request; the alias moves when
  someone other than the requester approves it. Any value other than
  ``automatic`` is read as ``approval`` — an unknown word must never loosen
  the rule.

An alias no policy names keeps working as it always has: a direct move
(``werft models alias set``) needs no gate. A direct move of a policy-covered
alias is checked here, so no edge can bypass the use case: ``approval``
aliases move only through ``werft promote``, ``automatic`` ones only onto a
version whose gate passed.

The policy also governs what could release or withdraw a version around
``werft promote`` (:func:`check_status_change`, :func:`check_alias_deletion`):
``validated`` comes only from a passed gate and ``approved`` only from an
approval, so neither is set by hand; a version an alias points at is not
rejected or archived under it; deleting an ``approval`` alias, which stops
serving it, needs a project admin and a written reason.

The spec is read defensively (missing keys, wrong types): this module never
fails on a use case, it only decides less.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.errors import ConflictError, InvalidInputError, PermissionDeniedError
from werft.governance.policy_entities import Policy, StoredUseCase
from werft.governance.roles import Role, current_principal
from werft.registry.entities import VersionStatus
from werft.store.models import (
    AliasRow,
    GateReportRow,
    ModelVersionRow,
    ProjectRow,
    RegisteredModelRow,
    UseCaseRow,
)

__all__ = [
    "Policy",
    "StoredUseCase",
    "check_alias_deletion",
    "check_direct_move",
    "check_status_change",
    "gate_problem",
    "latest_gate",
    "load_use_case",
    "project_key",
    "synced_digest",
]


def load_use_case(session: Session, project_id: str) -> StoredUseCase | None:
    """The project's synced use case, or ``None`` when it has none."""
    row = session.get(UseCaseRow, project_id)
    return StoredUseCase.from_spec(row.spec) if row is not None else None


def project_key(session: Session, model: RegisteredModelRow) -> str:
    """The key of the project a model belongs to."""
    return session.scalar(select(ProjectRow.key).where(ProjectRow.id == model.project_id)) or ""


def latest_gate(session: Session, version_id: str) -> GateReportRow | None:
    """The newest gate report of a model version (what ``werft check`` last found)."""
    return session.scalars(
        select(GateReportRow)
        .where(GateReportRow.model_version_id == version_id)
        .order_by(GateReportRow.id.desc())
        .limit(1)
    ).first()


def synced_digest(session: Session, model: RegisteredModelRow) -> str | None:
    """The digest of the werft.yaml synced for the model's project, if any."""
    row = session.get(UseCaseRow, model.project_id)
    return row.digest if row is not None else None


def gate_problem(
    model: str, version: int, gate: GateReportRow | None, *, use_case_digest: str | None = None
) -> str:
    """Why the gate blocks a promotion ("" when it passed).

    A passed gate only counts if it applied the use case the project has
    synced (``use_case_digest``): a gate run against a loosened local copy of
    werft.yaml does not release a model.
    """
    if gate is None:
        return (
            f"version {version} of {model!r} has no gate report; run "
            f"`werft check {model} {version} --data EVALUATION_DATA` first"
        )
    if not gate.passed:
        return (
            f"the newest gate report (#{gate.id}) of version {version} of {model!r} failed; "
            f"see it with `werft check`, fix the model or the data and check again"
        )
    applied = gate.report.get("use_case_digest")
    if use_case_digest is not None and applied != use_case_digest:
        return (
            f"the newest gate report (#{gate.id}) of version {version} of {model!r} applied "
            f"another werft.yaml ({applied or 'none'}) than the one synced for the project "
            f"({use_case_digest}); run `werft check {model} {version} --data ...` again "
            "with the synced use case"
        )
    return ""


def check_direct_move(
    session: Session, model: RegisteredModelRow, alias: str, target: ModelVersionRow
) -> None:
    """Refuse a direct alias move that the use case's policy does not allow.

    Called by :meth:`werft.registry.service.ModelRegistry.set_alias` inside its
    transaction, with the model row locked.

    Raises:
        ConflictError: The alias needs an approval (use ``werft promote``), or
            it is ``automatic`` and the version's gate did not pass.
    """
    use_case = load_use_case(session, model.project_id)
    policy = use_case.policy_for(alias) if use_case is not None else None
    if policy is None:
        return
    if policy is Policy.APPROVAL:
        raise ConflictError(
            f"alias {alias!r} of {model.name!r} moves only with an approval (the use case's "
            f"policy); request one with `werft promote {model.name} {target.version} "
            f"--to {alias}`"
        )
    problem = gate_problem(
        model.name,
        target.version,
        latest_gate(session, target.id),
        use_case_digest=synced_digest(session, model),
    )
    if problem:
        raise ConflictError(
            f"alias {alias!r} moves automatically only onto a version whose gate passed: "
            f"{problem} (an admin may override with `werft promote --override-reason`)"
        )


# How a version reaches a status nobody may set by hand.
_EARNED = {
    VersionStatus.VALIDATED: "a passed gate: run `werft check {model} {version} --data "
    "EVALUATION_DATA`, which sets it",
    VersionStatus.APPROVED: "an approved promotion (the four-eyes rule): request one with "
    "`werft promote {model} {version} --to ALIAS`; someone else approves it with `werft approve`",
}
_CLOSED = (VersionStatus.REJECTED, VersionStatus.ARCHIVED)


def check_status_change(
    session: Session, model: RegisteredModelRow, row: ModelVersionRow, status: VersionStatus
) -> None:
    """Refuse a status set by hand that would skip the gate or the four-eyes rule.

    Called by :meth:`werft.registry.service.ModelRegistry.set_status` inside its
    transaction, with the model row locked, for a status other than the current one.

    - ``validated`` and ``approved`` are earned (a passed gate, an approval), never set.
    - ``rejected`` and ``archived`` withdraw a version; not while an alias points
      at it (an alias never points at a closed version: move it first).
    - ``candidate`` reopens or demotes a version, undoing someone's decision: it
      needs the ``approver`` role in the project when a caller is authenticated.

    Raises:
        ConflictError: The status is earned, or an alias points at the version.
        PermissionDeniedError: An authenticated caller below ``approver`` reopens it.
    """
    if status in _EARNED:
        how = _EARNED[status].format(model=model.name, version=row.version)
        raise ConflictError(
            f"a version becomes {status.value!r} only through {how}; it cannot be set directly"
        )
    if status in _CLOSED:
        aliases = sorted(
            session.scalars(
                select(AliasRow.alias).where(
                    AliasRow.model_id == model.id, AliasRow.version_id == row.id
                )
            )
        )
        if aliases:
            named = ", ".join(f"@{alias}" for alias in aliases)
            raise ConflictError(
                f"version {row.version} of {model.name!r} is what {named} points at, and an "
                f"alias never points at a {status.value} version: first move it away "
                f"(`werft rollback {model.name} --alias {aliases[0]}`, or `werft promote "
                f"{model.name} VERSION --to {aliases[0]}`), then set the status"
            )
        return
    principal = current_principal()
    if principal is not None:
        principal.require(project_key(session, model), Role.APPROVER)


def check_alias_deletion(
    session: Session, model: RegisteredModelRow, alias: str, reason: str
) -> Policy | None:
    """Refuse deleting an ``approval`` alias without an admin and a written reason.

    Deleting such an alias (``production``) stops serving the released model:
    not a release, but as consequential, so it is kept to a project admin (with
    authentication; anyone without, as for a gate override) who says why; the
    reason goes into the audit log. Other aliases are deleted as before.

    Returns:
        The alias's policy, or None when no policy names it.

    Raises:
        PermissionDeniedError: An authenticated caller who is not a project admin.
        InvalidInputError: No reason was given.
    """
    use_case = load_use_case(session, model.project_id)
    policy = use_case.policy_for(alias) if use_case is not None else None
    if policy is not Policy.APPROVAL:
        return policy
    project = project_key(session, model)
    principal = current_principal()
    if principal is not None and not principal.can(project, Role.ADMIN):
        raise PermissionDeniedError(
            f"alias {alias!r} of {model.name!r} moves only with an approval, so deleting it "
            f"(which stops serving it) needs role 'admin' in project {project!r}; to return "
            f"to the version before, use `werft rollback {model.name} --alias {alias}`"
        )
    if not reason.strip():
        raise InvalidInputError(
            f"deleting alias {alias!r} of {model.name!r} stops serving it, and its policy is "
            "approval: say why with a reason (`werft models alias delete ... --reason TEXT`); "
            "it is audited"
        )
    return policy
