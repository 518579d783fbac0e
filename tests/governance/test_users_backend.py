"""Users, roles and tokens through both backends (in-process, and HTTP to a server without auth)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from werft.errors import AlreadyExistsError, NotFoundError, UnauthenticatedError
from werft.governance.actor import acting_as
from werft.governance.roles import Role
from werft.sdk.backend import Backend
from werft.services import Services


def test_users_roles_and_tokens(backend: Backend, services: Services) -> None:
    backend.create_project("churn")
    anna = backend.create_user("anna", display_name="Anna", email="anna@example.com")
    assert (anna.name, anna.is_admin, anna.disabled, anna.roles) == ("anna", False, False, {})
    with pytest.raises(AlreadyExistsError, match="user 'anna' already exists"):
        backend.create_user("anna")
    backend.create_user("root", admin=True)
    assert backend.grant_role("anna", "churn", Role.APPROVER).roles == {"churn": Role.APPROVER}
    assert [(u.name, u.is_admin) for u in backend.list_users()] == [
        ("anna", False),
        ("root", True),
    ]
    assert backend.get_user("anna").roles == {"churn": Role.APPROVER}
    assert backend.revoke_role("anna", "churn").roles == {}
    with pytest.raises(NotFoundError, match="user 'ghost' not found"):
        backend.get_user("ghost")

    created = backend.create_token("anna", name="ci", expires_in=timedelta(days=30))
    assert created.token.expires_at is not None
    left = created.token.expires_at - datetime.now(UTC)
    assert timedelta(days=29) < left <= timedelta(days=30)
    forever = backend.create_token("anna", name="robot", expires_in=None)
    assert forever.token.expires_at is None
    assert services.users.authenticate(created.secret).user == "anna"
    assert {t.name for t in backend.list_tokens("anna")} == {"ci", "robot"}
    assert backend.revoke_token("anna", created.token.id).revoked_at is not None
    with pytest.raises(UnauthenticatedError, match="revoked"):
        services.users.authenticate(created.secret)
    with pytest.raises(NotFoundError):
        backend.revoke_token("root", forever.token.id)

    assert backend.set_user_disabled("anna", True).disabled
    assert not backend.set_user_disabled("anna", False).disabled


def test_whoami_without_auth_is_not_authenticated(backend: Backend) -> None:
    with acting_as("anna"):
        me = backend.whoami()
    assert me.authenticated is False and me.roles == {}
