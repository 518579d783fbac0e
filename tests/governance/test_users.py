"""Users, roles and tokens in the service: hashed secrets, expiry, revocation, the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from werft.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
)
from werft.governance.actor import acting_as
from werft.governance.audit import AuditLog
from werft.governance.roles import Principal, Role, parse_role
from werft.governance.tokens import token_hash, token_prefix
from werft.governance.users import UserService
from werft.services import Services

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def users(services: Services, clock: Clock) -> UserService:
    services.projects.create("churn")
    services.projects.create("fraud")
    return UserService(services.db, clock=clock)


def _dump(services: Services, table: str) -> str:
    with services.db.session(write=False) as session:
        rows = session.execute(sa.text(f"SELECT * FROM {table}")).all()
    return "\n".join(" ".join(str(value) for value in row) for row in rows)


def test_a_token_is_shown_once_and_only_its_hash_is_stored(
    users: UserService, services: Services
) -> None:
    users.create_user("anna")
    created = users.create_token("anna", name="laptop", expires_in=timedelta(days=90))
    scheme, prefix, secret = created.secret.split("_", 2)
    assert (scheme, prefix) == ("wft", created.token.prefix) and len(secret) >= 43
    stored = _dump(services, "api_tokens") + _dump(services, "audit_events")
    windows = {secret[i : i + 8] for i in range(len(secret) - 7)}
    assert not [w for w in windows if w in stored], "a piece of the secret was stored"
    listed = users.list_tokens("anna")
    assert [t.id for t in listed] == [created.token.id]
    assert secret not in listed[0].model_dump_json()
    assert users.authenticate(created.secret).user == "anna"


def test_authenticate_gives_the_user_and_their_roles(users: UserService) -> None:
    users.create_user("anna")
    users.grant("anna", "churn", Role.APPROVER)
    users.grant("anna", "fraud", "viewer")
    secret = users.create_token("anna", name="ci", expires_in=None).secret
    principal = users.authenticate(secret)
    assert principal == Principal(
        user="anna", is_admin=False, roles={"churn": Role.APPROVER, "fraud": Role.VIEWER}
    )
    users.revoke("anna", "fraud")
    users.grant("anna", "churn", Role.MEMBER)
    assert users.authenticate(secret).roles == {"churn": Role.MEMBER}
    assert users.roles_of("anna") == {"churn": Role.MEMBER}


def test_last_used_is_written_at_most_once_a_minute(users: UserService, clock: Clock) -> None:
    users.create_user("anna")
    secret = users.create_token("anna", name="ci", expires_in=None).secret
    users.authenticate(secret)
    assert users.list_tokens("anna")[0].last_used_at == T0
    clock.now = T0 + timedelta(seconds=59)
    users.authenticate(secret)
    assert users.list_tokens("anna")[0].last_used_at == T0
    clock.now = T0 + timedelta(seconds=61)
    users.authenticate(secret)
    assert users.list_tokens("anna")[0].last_used_at == clock.now


def test_an_expired_token_says_when_it_expired(users: UserService, clock: Clock) -> None:
    users.create_user("anna")
    secret = users.create_token("anna", name="ci", expires_in=timedelta(days=90)).secret
    clock.now = T0 + timedelta(days=90)
    with pytest.raises(UnauthenticatedError, match=r"token expired on 2026-05-30 09:00 UTC"):
        users.authenticate(secret)


def test_revoked_unknown_and_malformed_tokens_and_disabled_users_are_refused(
    users: UserService,
) -> None:
    users.create_user("anna")
    users.create_user("root", admin=True)
    revoked = users.create_token("anna", name="old", expires_in=None)
    users.revoke_token(revoked.token.id)
    with pytest.raises(UnauthenticatedError, match="revoked on 2026-03-01"):
        users.authenticate(revoked.secret)
    live = users.create_token("anna", name="new", expires_in=None).secret
    forged = live[:-4] + ("AAAA" if not live.endswith("AAAA") else "BBBB")
    for bad in (forged, "wft_0000_short", "not-a-token", ""):
        with pytest.raises(UnauthenticatedError, match="token is not valid; create one"):
            users.authenticate(bad)
    users.disable_user("anna")
    with pytest.raises(UnauthenticatedError, match="user 'anna' is disabled"):
        users.authenticate(live)
    users.enable_user("anna")
    assert users.authenticate(live).user == "anna"


def test_tokens_are_found_by_prefix_even_when_prefixes_collide(
    users: UserService, services: Services
) -> None:
    users.create_user("anna")
    users.create_user("bob")
    first = users.create_token("anna", name="a", expires_in=None)
    second = users.create_token("bob", name="b", expires_in=None)
    # Give bob's token anna's prefix: two rows now share it, and only the hash tells them apart.
    collided = "wft_" + first.token.prefix + "_" + second.secret.split("_", 2)[2]
    with services.db.session() as session:
        session.execute(
            sa.text("UPDATE api_tokens SET prefix = :p, hash = :h WHERE id = :id"),
            {"p": first.token.prefix, "h": token_hash(collided), "id": second.token.id},
        )
    assert token_prefix(collided) == first.token.prefix
    assert users.authenticate(first.secret).user == "anna"
    assert users.authenticate(collided).user == "bob"


def test_revoking_checks_whose_token_it_is(users: UserService) -> None:
    users.create_user("anna")
    users.create_user("bob")
    token = users.create_token("anna", name="ci", expires_in=None).token
    with pytest.raises(NotFoundError, match="of user 'bob' not found"):
        users.revoke_token(token.id, user="bob")
    assert users.revoke_token(token.id, user="anna").revoked_at == T0


def test_bad_input_is_refused_with_a_reason(users: UserService) -> None:
    users.create_user("anna")
    with pytest.raises(InvalidInputError, match="user name ' anna' is invalid"):
        users.create_user(" anna")
    with pytest.raises(InvalidInputError, match="role 'owner' is unknown; use one of viewer"):
        users.grant("anna", "churn", "owner")
    with pytest.raises(NotFoundError, match="project 'nope' not found"):
        users.grant("anna", "nope", Role.VIEWER)
    with pytest.raises(NotFoundError, match="user 'ghost' not found"):
        users.create_token("ghost", name="x", expires_in=None)
    with pytest.raises(InvalidInputError, match="must be positive"):
        users.create_token("anna", name="x", expires_in=timedelta(0))
    with pytest.raises(NotFoundError, match="has no role in project 'churn'"):
        users.revoke("anna", "churn")
    with pytest.raises(AlreadyExistsError):
        users.create_user("anna")


def test_the_last_enabled_global_admin_cannot_be_disabled(users: UserService) -> None:
    users.create_user("root", admin=True)
    with pytest.raises(ConflictError, match="last enabled global admin"):
        users.disable_user("root")
    users.create_user("root2", admin=True)
    assert users.disable_user("root").disabled


def test_changes_are_audited_with_the_actor_and_without_secrets(
    users: UserService, services: Services
) -> None:
    with acting_as("root"):
        users.create_user("anna", email="anna@example.com")
        users.grant("anna", "churn", Role.MEMBER)
        users.grant("anna", "churn", Role.APPROVER)
        users.grant("anna", "churn", Role.APPROVER)  # no change, no entry
        users.revoke("anna", "churn")
        created = users.create_token("anna", name="ci", expires_in=None)
        users.revoke_token(created.token.id)
        users.disable_user("anna")
        users.enable_user("anna")
    events = AuditLog(services.db).list_events(actor="root")
    assert [e.action for e in events if e.object_type != "project"] == [
        "user.created",
        "role.granted",
        "role.granted",
        "role.revoked",
        "token.created",
        "token.revoked",
        "user.disabled",
        "user.enabled",
    ]
    granted = [e for e in events if e.action == "role.granted"]
    assert granted[1].payload == {"user": "anna", "role": "approver", "previous": "member"}
    assert granted[1].project == "churn" and granted[1].object_id == "anna/churn"
    token_event = next(e for e in events if e.action == "token.created")
    assert token_event.object_id == created.token.id
    assert set(token_event.payload) == {"user", "name", "prefix", "expires_at"}
    assert AuditLog(services.db).verify().ok


def test_identity_without_a_token_is_the_acting_user(users: UserService) -> None:
    users.create_user("anna", display_name="Anna A.", admin=True)
    with acting_as("anna"):
        me = users.identity(None)
    assert (me.name, me.display_name, me.is_admin, me.authenticated) == (
        "anna",
        "Anna A.",
        True,
        False,
    )
    with acting_as("stranger"):
        assert users.identity(None).roles == {}


# --- roles and principals (no I/O) ---------------------------------------------------


def test_roles_are_ordered() -> None:
    assert [r.value for r in sorted(Role, key=lambda r: r.rank)] == [
        "viewer",
        "member",
        "approver",
        "admin",
    ]
    assert Role.APPROVER.includes(Role.MEMBER) and not Role.MEMBER.includes(Role.APPROVER)
    assert parse_role(" Approver ") is Role.APPROVER


def test_a_refusal_names_the_role_needed_and_the_one_held() -> None:
    member = Principal(user="bob", roles={"churn": Role.MEMBER})
    member.require("churn", Role.MEMBER)
    with pytest.raises(PermissionDeniedError) as denied:
        member.require("churn", Role.APPROVER)
    assert denied.value.message == (
        "this needs role 'approver' in project 'churn'; you are 'member'"
    )
    with pytest.raises(PermissionDeniedError, match="in project 'fraud'; you have no role there"):
        member.require("fraud", Role.VIEWER)
    with pytest.raises(PermissionDeniedError, match="your highest role is 'member'"):
        member.require_any(Role.APPROVER)
    with pytest.raises(PermissionDeniedError, match="needs a global admin"):
        member.require_admin()
    root = Principal(user="root", is_admin=True)
    root.require("anything", Role.ADMIN)
    root.require_any(Role.ADMIN)
    root.require_admin()
