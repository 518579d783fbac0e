"""Who may call what: permission rules, and the one place that checks them.

Each API route declares a :class:`Rule` — the role it needs and where its
project comes from (a path parameter that is a project key, a run id, a model
name, a deployment ...). The API edge hands the rule, the authenticated
:class:`~werft.governance.roles.Principal` and the raw request values to
:meth:`AccessControl.authorize`; the lookups from an id to its project and the
decision live here, not in the edge.

Decisions:

- A global admin passes every rule.
- An object whose project cannot be found (it does not exist) is reported as
  not found to everyone but a global admin, and nothing runs.
- A deployment belongs to the projects of the models it serves; a monitor and a
  replica to their deployment's; a role is needed in *each* of them.
- Listings that span projects (``GET /models`` without ``?project=``, the alerts
  of every monitor) need the role in at least one project, and show only the
  entries of the projects the caller holds a role in (:func:`visible_projects`;
  the services filter in their queries, so pages stay whole). A deployment, and
  what hangs off it, is shown when the caller may read every project it serves.
  Blobs by content hash and alert rules and channels are shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from werft.errors import NotFoundError, PermissionDeniedError, UnauthenticatedError
from werft.governance.roles import NEEDS_TOKEN, Principal, Role
from werft.store.db import Database
from werft.store.models import (
    ApprovalRow,
    DatasetVersionRow,
    DeploymentRow,
    GateReportRow,
    ModelVersionRow,
    MonitorRow,
    ProjectRow,
    RegisteredModelRow,
    ReplicaRow,
    RunRow,
)
from werft.store.pipeline_models import PipelineRunRow

Where = Literal["path", "query", "body"]
Kind = Literal[
    "project",
    "run",
    "model",
    "deployment",
    "monitor",
    "replica",
    "dataset_version",
    "approval",
    "gate_report",
    "pipeline_run",
    "user",
]


@dataclass(frozen=True)
class Lookup:
    """Where a request names the object whose project decides.

    Attributes:
        kind: What the value is: a project key, a run id, a model name ...
        field: The path parameter, query parameter or top-level body field.
        where: ``path``, ``query`` or ``body``. A body value may be a list or
            an object (its keys are taken) to name several objects.
        optional: When no lookup of the rule finds a value, an optional one
            turns the rule into "the role in at least one project" (a listing
            without a filter) instead of a refusal.
    """

    kind: Kind
    field: str
    where: Where = "path"
    optional: bool = False


def project(field: str = "key", where: Where = "path", *, optional: bool = False) -> Lookup:
    """The value is a project key."""
    return Lookup("project", field, where, optional)


def run(field: str = "run_id", where: Where = "path") -> Lookup:
    """The value is a run id."""
    return Lookup("run", field, where)


def model(field: str = "name", where: Where = "path", *, optional: bool = False) -> Lookup:
    """The value is a registered model's name (or several, in a body list or object)."""
    return Lookup("model", field, where, optional)


def deployment(field: str = "name", where: Where = "path", *, optional: bool = False) -> Lookup:
    """The value is a deployment name: the projects of the models it serves."""
    return Lookup("deployment", field, where, optional)


def monitor(field: str = "name", where: Where = "path") -> Lookup:
    """The value is a monitor name: its deployment's projects."""
    return Lookup("monitor", field, where)


def replica(field: str = "replica_id", where: Where = "path") -> Lookup:
    """The value is a serving replica's id: its deployment's projects."""
    return Lookup("replica", field, where)


def dataset_version(field: str = "dataset_version_id", where: Where = "path") -> Lookup:
    """The value is a dataset version's id."""
    return Lookup("dataset_version", field, where)


def approval(field: str = "approval_id", where: Where = "path") -> Lookup:
    """The value is an approval request's id: the project of its model."""
    return Lookup("approval", field, where)


def gate_report(field: str = "report_id", where: Where = "path") -> Lookup:
    """The value is a gate report's id: the project of its model."""
    return Lookup("gate_report", field, where)


def pipeline_run(field: str = "run_id", where: Where = "path") -> Lookup:
    """The value is a pipeline run's number: its project."""
    return Lookup("pipeline_run", field, where)


class Scope(StrEnum):
    """What a rule checks."""

    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    ADMIN = "admin"
    ANY_PROJECT = "any_project"
    PROJECT = "project"
    SELF_OR_ADMIN = "self_or_admin"


@dataclass(frozen=True)
class Rule:
    """The permission one route declares. Build it with the class methods."""

    scope: Scope
    role: Role | None = None
    lookups: tuple[Lookup, ...] = ()

    @classmethod
    def public(cls) -> Rule:
        """Anyone, signed in or not (health checks)."""
        return cls(Scope.PUBLIC)

    @classmethod
    def signed_in(cls) -> Rule:
        """Any user with a valid token."""
        return cls(Scope.SIGNED_IN)

    @classmethod
    def admin(cls) -> Rule:
        """A global admin."""
        return cls(Scope.ADMIN)

    @classmethod
    def any_project(cls, role: Role) -> Rule:
        """``role`` (or more) in at least one project."""
        return cls(Scope.ANY_PROJECT, role)

    @classmethod
    def in_project(cls, role: Role, *lookups: Lookup) -> Rule:
        """``role`` (or more) in every project the lookups find."""
        if not lookups:
            raise ValueError("a project rule needs at least one lookup")
        return cls(Scope.PROJECT, role, tuple(lookups))

    @classmethod
    def self_or_admin(cls, user_field: str = "name") -> Rule:
        """The user named by the path parameter ``user_field`` themselves, or a global admin."""
        return cls(Scope.SELF_OR_ADMIN, lookups=(Lookup("user", user_field),))

    def describe(self) -> str:
        """The rule in words, for listings and docs."""
        if self.scope is Scope.PROJECT:
            assert self.role is not None
            where = ", ".join(f"{lk.kind} from {lk.where} {lk.field!r}" for lk in self.lookups)
            return f"{self.role.value} in the project of {where}"
        if self.scope is Scope.ANY_PROJECT:
            assert self.role is not None
            return f"{self.role.value} in any project"
        if self.scope is Scope.SELF_OR_ADMIN:
            return f"the user in path {self.lookups[0].field!r}, or a global admin"
        return {
            Scope.PUBLIC: "anyone",
            Scope.SIGNED_IN: "any signed-in user",
            Scope.ADMIN: "a global admin",
        }[self.scope]


def _names(value: Any) -> list[str]:
    """The identifiers in a request value: one, a list of them, or an object's keys."""
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return [str(k) for k in value]
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def visible_projects(principal: Principal | None) -> frozenset[str] | None:
    """The project keys whose entries a listing across projects shows the caller.

    None means every project: a global admin. Every role includes reading, so
    each project the caller holds a role in counts. Without a principal (a
    server with auth on answering an unauthenticated call) nothing is visible:
    callers without auth, where everything is open, do not ask.
    """
    if principal is None:
        return frozenset()
    if principal.is_admin:
        return None
    return frozenset(principal.roles)


class AccessControl:
    """Checks a principal against a route's rule, finding projects in the metadata store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def authorize(
        self, principal: Principal | None, rule: Rule, values: Mapping[Lookup, Any]
    ) -> None:
        """Raise unless ``principal`` may do what ``rule`` guards.

        Args:
            principal: The authenticated caller, or None when no token came.
            rule: The route's declared rule.
            values: The raw request value of each of the rule's lookups
                (missing or None when the request does not carry it).

        Raises:
            UnauthenticatedError: A signed-in caller is needed and there is none.
            PermissionDeniedError: The caller lacks the role; the message names
                the role needed and the one held.
            NotFoundError: The object the request names does not exist (only
                a global admin gets the route's own answer instead).
        """
        if rule.scope is Scope.PUBLIC:
            return
        if principal is None:
            raise UnauthenticatedError(NEEDS_TOKEN)
        if principal.is_admin:
            return
        if rule.scope is Scope.SIGNED_IN:
            return
        if rule.scope is Scope.ADMIN:
            principal.require_admin()
        elif rule.scope is Scope.ANY_PROJECT:
            assert rule.role is not None
            principal.require_any(rule.role)
        elif rule.scope is Scope.SELF_OR_ADMIN:
            named = _names(values.get(rule.lookups[0]))
            if named != [principal.user]:
                raise PermissionDeniedError(
                    f"this is for the user {named[0] if named else '?'!r} themselves or a "
                    f"global admin; you are {principal.user!r}"
                )
        else:
            assert rule.role is not None
            self._authorize_project(principal, rule.role, rule.lookups, values)

    def _authorize_project(
        self,
        principal: Principal,
        role: Role,
        lookups: Iterable[Lookup],
        values: Mapping[Lookup, Any],
    ) -> None:
        given = [(lk, names) for lk in lookups if (names := _names(values.get(lk)))]
        if not given:
            if any(lk.optional for lk in lookups):
                principal.require_any(role)
                return
            raise PermissionDeniedError(
                f"this needs role {role.value!r} in a project, and the request names none"
            )
        projects: set[str] = set()
        missing: list[str] = []
        with self._db.session(write=False) as session:
            for lookup, names in given:
                for name in names:
                    found = projects_of(session, lookup.kind, name)
                    if found:
                        projects |= found
                    else:
                        missing.append(f"{lookup.kind.replace('_', ' ')} {name!r}")
        if not projects:
            raise NotFoundError(f"{missing[0]} not found")
        for key in sorted(projects):
            principal.require(key, role)


def projects_of(session: Session, kind: Kind, name: str) -> set[str]:
    """The keys of the projects an object belongs to; empty when it does not exist."""
    if kind == "project":
        return {name}
    if kind == "user":
        raise ValueError("a user lookup names no project; use Rule.self_or_admin")
    if kind == "run":
        stmt = select(ProjectRow.key).join(RunRow, RunRow.project_id == ProjectRow.id)
        return set(session.scalars(stmt.where(RunRow.id == name)))
    if kind == "dataset_version":
        stmt = select(ProjectRow.key).join(
            DatasetVersionRow, DatasetVersionRow.project_id == ProjectRow.id
        )
        return set(session.scalars(stmt.where(DatasetVersionRow.id == name)))
    if kind == "model":
        return _model_projects(session, [name])
    if kind == "pipeline_run":
        try:
            number = int(name)
        except ValueError:
            return set()
        stmt = select(ProjectRow.key).join(
            PipelineRunRow, PipelineRunRow.project_id == ProjectRow.id
        )
        return set(session.scalars(stmt.where(PipelineRunRow.id == number)))
    if kind in ("approval", "gate_report"):
        table = ApprovalRow if kind == "approval" else GateReportRow
        try:
            number = int(name)
        except ValueError:
            return set()
        stmt = (
            select(ProjectRow.key)
            .join(RegisteredModelRow, RegisteredModelRow.project_id == ProjectRow.id)
            .join(ModelVersionRow, ModelVersionRow.model_id == RegisteredModelRow.id)
            .join(table, table.model_version_id == ModelVersionRow.id)
            .where(table.id == number)
        )
        return set(session.scalars(stmt))
    deployment_id: Any
    if kind == "deployment":
        deployment_id = select(DeploymentRow.id).where(DeploymentRow.name == name)
    elif kind == "monitor":
        deployment_id = select(MonitorRow.deployment_id).where(MonitorRow.name == name)
    else:  # replica
        deployment_id = select(ReplicaRow.deployment_id).where(ReplicaRow.id == name)
    served = session.scalars(
        select(DeploymentRow.models).where(DeploymentRow.id == deployment_id.scalar_subquery())
    ).first()
    return _model_projects(session, list(served or {}))


def _model_projects(session: Session, names: list[str]) -> set[str]:
    if not names:
        return set()
    stmt = (
        select(ProjectRow.key)
        .join(RegisteredModelRow, RegisteredModelRow.project_id == ProjectRow.id)
        .where(RegisteredModelRow.name.in_(names))
    )
    return set(session.scalars(stmt))
