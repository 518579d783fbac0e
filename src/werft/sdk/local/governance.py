"""Users, roles, tokens and the audit log in process."""

from __future__ import annotations

from datetime import timedelta

from werft.governance.audit_entities import AuditEvent, AuditVerification
from werft.governance.maturity_entities import MaturityReport
from werft.governance.roles import Role
from werft.governance.user_entities import CreatedToken, Identity, Token, User
from werft.sdk.local._base import LocalBase


class LocalGovernance(LocalBase):
    """The governance part of :class:`~werft.sdk.local.LocalBackend`."""

    # maturity
    def maturity(self, project: str) -> MaturityReport:
        return self.services.maturity.report(project)

    # audit
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
        return self.services.audit.list_events(
            action=action,
            object_type=object_type,
            object_id=object_id,
            project=project,
            actor=actor,
            after_id=after_id,
            limit=limit,
        )

    def verify_audit(self) -> AuditVerification:
        return self.services.audit.verify()

    # users (local mode talks to the database directly: no token, no role check)
    def create_user(
        self, name: str, *, display_name: str = "", email: str = "", admin: bool = False
    ) -> User:
        return self.services.users.create_user(
            name, display_name=display_name, email=email, admin=admin
        )

    def get_user(self, name: str) -> User:
        return self.services.users.get_user(name)

    def list_users(self) -> list[User]:
        return self.services.users.list_users()

    def set_user_disabled(self, name: str, disabled: bool) -> User:
        if disabled:
            return self.services.users.disable_user(name)
        return self.services.users.enable_user(name)

    def grant_role(self, user: str, project: str, role: Role) -> User:
        return self.services.users.grant(user, project, role)

    def revoke_role(self, user: str, project: str) -> User:
        return self.services.users.revoke(user, project)

    def create_token(self, user: str, *, name: str, expires_in: timedelta | None) -> CreatedToken:
        return self.services.users.create_token(user, name=name, expires_in=expires_in)

    def list_tokens(self, user: str) -> list[Token]:
        return self.services.users.list_tokens(user)

    def revoke_token(self, user: str, token_id: str) -> Token:
        return self.services.users.revoke_token(token_id, user=user)

    def whoami(self) -> Identity:
        return self.services.users.identity(None)
