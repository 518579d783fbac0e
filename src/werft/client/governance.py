"""Users, roles, tokens and the audit log over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from werft.client._base import ClientBase, _q
from werft.governance.audit_entities import AuditEvent, AuditVerification
from werft.governance.maturity_entities import MaturityReport
from werft.governance.roles import Role
from werft.governance.user_entities import CreatedToken, Identity, Token, User


class GovernanceClient(ClientBase):
    """The users-and-audit part of :class:`~werft.client.http.WerftClient`."""

    # --- maturity ---------------------------------------------------------------------

    def maturity(self, project: str) -> MaturityReport:
        return MaturityReport.model_validate(self._json("GET", f"/projects/{_q(project)}/maturity"))

    # --- audit ------------------------------------------------------------------------

    def list_audit_events(
        self,
        *,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        project: str | None = None,
        actor: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[AuditEvent]:
        filters = {
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "project": project,
            "actor": actor,
        }
        params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        params.update(after_id=after_id, limit=limit)
        return [AuditEvent.model_validate(e) for e in self._json("GET", "/audit", params=params)]

    def verify_audit(self) -> AuditVerification:
        return AuditVerification.model_validate(self._json("GET", "/audit/verify"))

    # --- users and tokens -------------------------------------------------------------

    def create_user(
        self, name: str, *, display_name: str = "", email: str = "", admin: bool = False
    ) -> User:
        body = {"name": name, "display_name": display_name, "email": email, "admin": admin}
        return User.model_validate(self._json("POST", "/users", body))

    def get_user(self, name: str) -> User:
        return User.model_validate(self._json("GET", f"/users/{_q(name)}"))

    def list_users(self) -> list[User]:
        return [User.model_validate(u) for u in self._json("GET", "/users")]

    def set_user_disabled(self, name: str, disabled: bool) -> User:
        return User.model_validate(
            self._json("PATCH", f"/users/{_q(name)}", {"disabled": disabled})
        )

    def grant_role(self, user: str, project: str, role: Role) -> User:
        path = f"/users/{_q(user)}/roles/{_q(project)}"
        return User.model_validate(self._json("PUT", path, {"role": Role(role).value}))

    def revoke_role(self, user: str, project: str) -> User:
        return User.model_validate(self._json("DELETE", f"/users/{_q(user)}/roles/{_q(project)}"))

    def create_token(self, user: str, *, name: str, expires_in: timedelta | None) -> CreatedToken:
        seconds = None if expires_in is None else max(1, int(expires_in.total_seconds()))
        body = {"name": name, "expires_in_seconds": seconds}
        return CreatedToken.model_validate(self._json("POST", f"/users/{_q(user)}/tokens", body))

    def list_tokens(self, user: str) -> list[Token]:
        return [Token.model_validate(t) for t in self._json("GET", f"/users/{_q(user)}/tokens")]

    def revoke_token(self, user: str, token_id: str) -> Token:
        path = f"/users/{_q(user)}/tokens/{_q(token_id)}"
        return Token.model_validate(self._json("DELETE", path))

    def whoami(self) -> Identity:
        """Who the server takes this client for (``GET /me``): checks the token, too."""
        return Identity.model_validate(self._json("GET", "/me"))
