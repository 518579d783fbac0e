"""Users, their roles per project and their API tokens; authentication of a token.

Every change is appended to the audit log in its own transaction, with the
acting user; no secret and no hash ever goes into a payload.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from werft.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    UnauthenticatedError,
)
from werft.governance import audit
from werft.governance.actor import current_actor
from werft.governance.roles import Principal, Role, parse_role
from werft.governance.tokens import INVALID, hash_matches, new_token, token_hash, token_prefix
from werft.governance.user_entities import CreatedToken, Identity, Token, User
from werft.store.db import Database
from werft.store.models import ProjectRow, RoleBindingRow, TokenRow, UserRow
from werft.tracking._rows import Clock, aware, get_project_row, utcnow

_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,99}$")
MAX_TOKEN_NAME = 100
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, not on every request."""


def check_user_name(name: object) -> str:
    if not isinstance(name, str) or not _USER_NAME.match(name):
        raise InvalidInputError(
            f"user name {name!r} is invalid: use 1-100 letters, digits and . _ @ + -, "
            "starting with a letter or digit (e.g. 'anna' or 'ci-bot')"
        )
    return name


def _when(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


class UserService:
    """Create and disable users, grant roles, create and revoke tokens, authenticate."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    # --- users ------------------------------------------------------------------------

    def create_user(
        self, name: str, *, display_name: str = "", email: str = "", admin: bool = False
    ) -> User:
        """Create a user; ``admin`` makes them admin of every project."""
        check_user_name(name)
        if len(display_name) > 200 or len(email) > 250:
            raise InvalidInputError("display name (200) or e-mail (250 characters) is too long")
        try:
            with self._db.session() as session:
                if self._find_row(session, name) is not None:
                    raise AlreadyExistsError(f"user {name!r} already exists")
                row = UserRow(
                    id=uuid.uuid4().hex,
                    name=name,
                    display_name=display_name,
                    email=email,
                    is_admin=admin,
                    disabled=False,
                    created_at=self._clock(),
                )
                session.add(row)
                session.flush()
                audit.append(
                    session,
                    "user.created",
                    object_type="user",
                    object_id=name,
                    payload={"display_name": display_name, "email": email, "admin": admin},
                    at=row.created_at,
                )
                return _user(row, {})
        except DbIntegrityError as exc:
            raise AlreadyExistsError(f"user {name!r} already exists") from exc

    def get_user(self, name: str) -> User:
        """The user with their roles; ``NotFoundError`` when there is none."""
        with self._db.session(write=False) as session:
            row = self._user_row(session, name)
            return _user(row, _roles(session, row.id))

    def find_user(self, name: str) -> User | None:
        with self._db.session(write=False) as session:
            row = self._find_row(session, name)
            return None if row is None else _user(row, _roles(session, row.id))

    def list_users(self) -> list[User]:
        """Every user, by name, with their roles."""
        with self._db.session(write=False) as session:
            rows = session.scalars(select(UserRow).order_by(UserRow.name)).all()
            roles: dict[str, dict[str, Role]] = defaultdict(dict)
            for user_id, key, role in session.execute(
                select(RoleBindingRow.user_id, ProjectRow.key, RoleBindingRow.role).join(
                    ProjectRow, ProjectRow.id == RoleBindingRow.project_id
                )
            ):
                roles[user_id][key] = Role(role)
            return [_user(row, roles[row.id]) for row in rows]

    def disable_user(self, name: str) -> User:
        """Refuse the user's tokens from now on (they stay listed, and can be enabled)."""
        return self._set_disabled(name, True)

    def enable_user(self, name: str) -> User:
        return self._set_disabled(name, False)

    def _set_disabled(self, name: str, disabled: bool) -> User:
        with self._db.session() as session:
            row = self._user_row(session, name)
            if row.disabled == disabled:
                return _user(row, _roles(session, row.id))
            if disabled and row.is_admin and self._enabled_admins(session) <= 1:
                raise ConflictError(
                    f"{name!r} is the last enabled global admin; create another admin "
                    "first (`werft users create NAME --admin`) so someone can still manage users"
                )
            row.disabled = disabled
            audit.append(
                session,
                "user.disabled" if disabled else "user.enabled",
                object_type="user",
                object_id=name,
                at=self._clock(),
            )
            return _user(row, _roles(session, row.id))

    # --- roles ------------------------------------------------------------------------

    def grant(self, user: str, project_key: str, role: Role | str) -> User:
        """Give ``user`` ``role`` in the project, replacing the role they held there."""
        wanted = role if isinstance(role, Role) else parse_role(role)
        with self._db.session() as session:
            row = self._user_row(session, user)
            project = get_project_row(session, project_key, include_deleted=True)
            binding = session.get(RoleBindingRow, (row.id, project.id))
            previous = binding.role if binding is not None else None
            if binding is None:
                session.add(
                    RoleBindingRow(
                        user_id=row.id,
                        project_id=project.id,
                        role=wanted.value,
                        created_at=self._clock(),
                    )
                )
            else:
                binding.role = wanted.value
            session.flush()
            if previous != wanted.value:
                audit.append(
                    session,
                    "role.granted",
                    object_type="role_binding",
                    object_id=f"{user}/{project_key}",
                    project=project_key,
                    payload={"user": user, "role": wanted.value, "previous": previous},
                    at=self._clock(),
                )
            return _user(row, _roles(session, row.id))

    def revoke(self, user: str, project_key: str) -> User:
        """Take away the user's role in the project."""
        with self._db.session() as session:
            row = self._user_row(session, user)
            project = get_project_row(session, project_key, include_deleted=True)
            binding = session.get(RoleBindingRow, (row.id, project.id))
            if binding is None:
                raise NotFoundError(f"user {user!r} has no role in project {project_key!r}")
            session.delete(binding)
            session.flush()
            audit.append(
                session,
                "role.revoked",
                object_type="role_binding",
                object_id=f"{user}/{project_key}",
                project=project_key,
                payload={"user": user, "role": binding.role},
                at=self._clock(),
            )
            return _user(row, _roles(session, row.id))

    def roles_of(self, user: str) -> dict[str, Role]:
        """The user's role per project key."""
        with self._db.session(write=False) as session:
            return _roles(session, self._user_row(session, user).id)

    # --- tokens -----------------------------------------------------------------------

    def create_token(self, user: str, *, name: str, expires_in: timedelta | None) -> CreatedToken:
        """A new token for ``user``; its secret is in the answer and nowhere else.

        Args:
            user: Whose token it is; it acts with their roles.
            name: What it is for (``laptop``, ``gitlab-ci``), to tell tokens apart.
            expires_in: How long it is valid; ``None`` for no expiry.
        """
        if not name or len(name) > MAX_TOKEN_NAME:
            raise InvalidInputError(f"token name must be 1-{MAX_TOKEN_NAME} characters")
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidInputError("a token's lifetime must be positive; omit it for no expiry")
        prefix, secret = new_token()
        now = self._clock()
        with self._db.session() as session:
            owner = self._user_row(session, user)
            if owner.disabled:
                raise ConflictError(f"user {user!r} is disabled; enable them first")
            row = TokenRow(
                id=uuid.uuid4().hex,
                user_id=owner.id,
                name=name,
                prefix=prefix,
                hash=token_hash(secret),
                created_at=now,
                expires_at=None if expires_in is None else now + expires_in,
                last_used_at=None,
                revoked_at=None,
            )
            session.add(row)
            session.flush()
            audit.append(
                session,
                "token.created",
                object_type="token",
                object_id=row.id,
                payload={
                    "user": user,
                    "name": name,
                    "prefix": prefix,
                    "expires_at": row.expires_at,
                },
                at=now,
            )
            return CreatedToken(token=_token(row, user), secret=secret)

    def list_tokens(self, user: str) -> list[Token]:
        """The user's tokens, newest first, revoked and expired ones included."""
        with self._db.session(write=False) as session:
            owner = self._user_row(session, user)
            rows = session.scalars(
                select(TokenRow)
                .where(TokenRow.user_id == owner.id)
                .order_by(TokenRow.created_at.desc(), TokenRow.id)
            ).all()
            return [_token(row, user) for row in rows]

    def revoke_token(self, token_id: str, *, user: str | None = None) -> Token:
        """Revoke a token at once; with ``user``, only if it is that user's."""
        with self._db.session() as session:
            found = session.execute(
                select(TokenRow, UserRow.name)
                .join(UserRow, UserRow.id == TokenRow.user_id)
                .where(TokenRow.id == token_id)
            ).first()
            if found is None or (user is not None and found[1] != user):
                whose = f" of user {user!r}" if user is not None else ""
                raise NotFoundError(
                    f"token {token_id!r}{whose} not found; `werft tokens list` shows the ids"
                )
            row, owner = found
            if row.revoked_at is None:
                row.revoked_at = self._clock()
                audit.append(
                    session,
                    "token.revoked",
                    object_type="token",
                    object_id=row.id,
                    payload={"user": owner, "name": row.name, "prefix": row.prefix},
                    at=row.revoked_at,
                )
            return _token(row, owner)

    # --- authentication ---------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        """The user behind ``token`` with their roles.

        Raises:
            UnauthenticatedError: The token is malformed, unknown, revoked or
                expired, or its user is disabled; the message says which and
                what to do.
        """
        prefix = token_prefix(token)
        now = self._clock()
        with self._db.session(write=False) as session:
            candidates = session.execute(
                select(TokenRow, UserRow)
                .join(UserRow, UserRow.id == TokenRow.user_id)
                .where(TokenRow.prefix == prefix)
            ).all()
            match = next((pair for pair in candidates if hash_matches(pair[0].hash, token)), None)
            if match is None:
                raise UnauthenticatedError(INVALID)
            row, user = match
            revoked, expires, last_used = (
                aware(row.revoked_at),
                aware(row.expires_at),
                aware(row.last_used_at),
            )
            if revoked is not None:
                raise UnauthenticatedError(
                    f"token is not valid: it was revoked on {_when(revoked)}; "
                    "create a new one with `werft tokens create`"
                )
            if expires is not None and now >= expires:
                raise UnauthenticatedError(
                    f"token expired on {_when(expires)}; create a new one with "
                    "`werft tokens create`"
                )
            if user.disabled:
                raise UnauthenticatedError(
                    f"token is not valid: user {user.name!r} is disabled; "
                    f"an admin can enable them with `werft users enable {user.name}`"
                )
            principal = Principal(
                user=user.name, is_admin=user.is_admin, roles=_roles(session, user.id)
            )
        if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
            with self._db.session() as session:
                session.execute(
                    update(TokenRow).where(TokenRow.id == row.id).values(last_used_at=now)
                )
        return principal

    def identity(self, principal: Principal | None) -> Identity:
        """Who the caller is: the token's user, else the acting user (local mode, no auth)."""
        name = principal.user if principal is not None else current_actor()
        found = self.find_user(name)
        if principal is not None:
            return Identity(
                name=name,
                display_name=found.display_name if found else "",
                email=found.email if found else "",
                is_admin=principal.is_admin,
                roles=principal.roles,
                authenticated=True,
            )
        if found is None:
            return Identity(name=name)
        return Identity(
            name=name,
            display_name=found.display_name,
            email=found.email,
            is_admin=found.is_admin,
            roles=found.roles,
        )

    # --- helpers ----------------------------------------------------------------------

    @staticmethod
    def _find_row(session: Session, name: str) -> UserRow | None:
        return session.scalars(select(UserRow).where(UserRow.name == name)).one_or_none()

    def _user_row(self, session: Session, name: str) -> UserRow:
        row = self._find_row(session, name)
        if row is None:
            raise NotFoundError(f"user {name!r} not found; `werft users list` shows the users")
        return row

    @staticmethod
    def _enabled_admins(session: Session) -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(UserRow)
                .where(UserRow.is_admin.is_(True), UserRow.disabled.is_(False))
            )
            or 0
        )


def _roles(session: Session, user_id: str) -> dict[str, Role]:
    rows = session.execute(
        select(ProjectRow.key, RoleBindingRow.role)
        .join(ProjectRow, ProjectRow.id == RoleBindingRow.project_id)
        .where(RoleBindingRow.user_id == user_id)
        .order_by(ProjectRow.key)
    )
    return {key: Role(role) for key, role in rows}


def _user(row: UserRow, roles: dict[str, Role]) -> User:
    created = aware(row.created_at)
    assert created is not None
    return User(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        email=row.email,
        is_admin=row.is_admin,
        disabled=row.disabled,
        created_at=created,
        roles=dict(sorted(roles.items())),
    )


def _token(row: TokenRow, user: str) -> Token:
    created = aware(row.created_at)
    assert created is not None
    return Token(
        id=row.id,
        user=user,
        name=row.name,
        prefix=row.prefix,
        created_at=created,
        expires_at=aware(row.expires_at),
        last_used_at=aware(row.last_used_at),
        revoked_at=aware(row.revoked_at),
    )
