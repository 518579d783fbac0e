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

The spec is read defensively (missing keys, wrong types): this module never
fails on a use case, it only decides less.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.errors import ConflictError
from werft.governance.policy_entities import Policy, StoredUseCase
from werft.store.models import (
    GateReportRow,
    ModelVersionRow,
    ProjectRow,
    RegisteredModelRow,
    UseCaseRow,
)

__all__ = [
    "Policy",
    "StoredUseCase",
    "check_direct_move",
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
