"""Roles per project, and the signed-in caller (a :class:`Principal`) who holds them.

Roles are ordered: ``viewer < member < approver < admin``; each may do what the
ones below it may. A global admin (``users.is_admin``) is admin of every
project, including those that do not exist yet. The edge that authenticated
the caller makes the principal current for one request
(:func:`authenticated_as`); services that need more than the actor's name
(an admin override, say) read it with :func:`current_principal`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from werft.errors import InvalidInputError, PermissionDeniedError, UnauthenticatedError
from werft.governance.actor import acting_as, current_actor


class Role(StrEnum):
    """What a user may do in one project; each role includes the ones before it."""

    VIEWER = "viewer"
    """Read everything in the project."""
    MEMBER = "member"
    """Also change it: runs, datasets, models and versions, deployments, monitors."""
    APPROVER = "approver"
    """Also release: approve promotions, move aliases, set a version's status."""
    ADMIN = "admin"
    """Also govern it: grant and revoke roles, delete and restore the project."""

    @property
    def rank(self) -> int:
        return _RANK[self]

    def includes(self, other: Role) -> bool:
        """True when holding this role is enough for ``other``."""
        return self.rank >= other.rank


_RANK = {role: rank for rank, role in enumerate(Role)}


def parse_role(text: str) -> Role:
    """The role named ``text``; ``InvalidInputError`` lists the roles otherwise."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InvalidInputError(
            f"role {text!r} is unknown; use one of {', '.join(r.value for r in Role)}"
        ) from None


NEEDS_TOKEN = (
    "this needs an API token: send `Authorization: Bearer <token>` "
    "(`werft login` stores one; an admin creates it with `werft tokens create USER`)"
)


class Principal(BaseModel):
    """An authenticated caller: the user behind a token and the roles they hold."""

    model_config = ConfigDict(frozen=True)

    user: str
    is_admin: bool = Field(default=False, description="Admin of every project.")
    roles: dict[str, Role] = Field(default_factory=dict, description="Project key -> role.")

    def role_in(self, project: str) -> Role | None:
        """The role held in ``project`` (``admin`` for a global admin), or None."""
        return Role.ADMIN if self.is_admin else self.roles.get(project)

    def can(self, project: str, role: Role) -> bool:
        held = self.role_in(project)
        return held is not None and held.includes(role)

    def require(self, project: str, role: Role) -> None:
        """Raise ``PermissionDeniedError`` unless ``role`` (or more) is held in ``project``."""
        if self.can(project, role):
            return
        held = self.roles.get(project)
        now = (
            f"you are {held.value!r}"
            if held is not None
            else "you have no role there; a project admin grants one with "
            f"`werft users grant {self.user} {project} {role.value}`"
        )
        raise PermissionDeniedError(f"this needs role {role.value!r} in project {project!r}; {now}")

    def require_any(self, role: Role) -> None:
        """Raise unless ``role`` (or more) is held in at least one project."""
        if self.is_admin or any(held.includes(role) for held in self.roles.values()):
            return
        best = max(self.roles.values(), key=lambda r: r.rank, default=None)
        now = f"your highest role is {best.value!r}" if best else "you have no role in any project"
        raise PermissionDeniedError(
            f"this needs role {role.value!r} in at least one project; {now}"
        )

    def require_admin(self) -> None:
        """Raise unless the caller is a global admin."""
        if not self.is_admin:
            raise PermissionDeniedError(
                f"this needs a global admin; {self.user!r} is not one "
                "(`werft users create NAME --admin` on the server makes one)"
            )


_principal: ContextVar[Principal | None] = ContextVar("werft_principal", default=None)


def current_principal() -> Principal | None:
    """The caller authenticated for this request, or None (local mode, auth off)."""
    return _principal.get()


def trusted_name(claimed: str = "") -> str:
    """The name to record for an action: the signed-in user's, whatever a client claims.

    Without an authenticated caller (auth off, local mode) the claimed name
    is taken, else the acting user (:func:`~werft.governance.actor.current_actor`).
    """
    principal = _principal.get()
    if principal is not None:
        return principal.user
    return claimed or current_actor()


def require_principal() -> Principal:
    """The authenticated caller; ``UnauthenticatedError`` when there is none."""
    principal = _principal.get()
    if principal is None:
        raise UnauthenticatedError(NEEDS_TOKEN)
    return principal


@contextlib.contextmanager
def authenticated_as(principal: Principal) -> Iterator[None]:
    """Make ``principal`` the caller, and its user the actor, inside the block."""
    token = _principal.set(principal)
    try:
        with acting_as(principal.user):
            yield
    finally:
        _principal.reset(token)
