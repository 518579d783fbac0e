"""/api/v1/users and /api/v1/me: users, their roles per project, their API tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from werft.governance import access
from werft.governance.roles import Role
from werft.governance.user_entities import CreatedToken, Identity, Token, User
from werft.server.deps import (
    PrincipalDep,
    ServicesDep,
    require,
    require_admin,
    require_self_or_admin,
    require_signed_in,
)

router = APIRouter(tags=["users"])

DEFAULT_TOKEN_DAYS = 90


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_Body):
    name: str
    display_name: str = ""
    email: str = ""
    admin: bool = Field(default=False, description="Admin of every project.")


class UserUpdate(_Body):
    disabled: bool


class RoleGrant(_Body):
    role: Role


class TokenCreate(_Body):
    name: str = Field(default="default", description="What the token is for: laptop, gitlab-ci.")
    expires_in_seconds: int | None = Field(
        default=DEFAULT_TOKEN_DAYS * 86400,
        gt=0,
        description="Lifetime; null for a token that never expires.",
    )


@router.get("/me", dependencies=[require_signed_in()])
def whoami(services: ServicesDep, principal: PrincipalDep) -> Identity:
    """Who the token belongs to and the roles they hold (the server's user when auth is off)."""
    return services.users.identity(principal)


@router.post("/users", status_code=status.HTTP_201_CREATED, dependencies=[require_admin()])
def create_user(services: ServicesDep, body: UserCreate) -> User:
    return services.users.create_user(
        body.name, display_name=body.display_name, email=body.email, admin=body.admin
    )


@router.get("/users", dependencies=[require_admin()])
def list_users(services: ServicesDep) -> list[User]:
    return services.users.list_users()


@router.get("/users/{name}", dependencies=[require_self_or_admin()])
def get_user(services: ServicesDep, name: str) -> User:
    return services.users.get_user(name)


@router.patch("/users/{name}", dependencies=[require_admin()])
def update_user(services: ServicesDep, name: str, body: UserUpdate) -> User:
    """Disable a user (their tokens stop working at once) or enable them again."""
    if body.disabled:
        return services.users.disable_user(name)
    return services.users.enable_user(name)


@router.put(
    "/users/{name}/roles/{project}",
    dependencies=[require(Role.ADMIN, access.project("project"))],
)
def grant_role(services: ServicesDep, name: str, project: str, body: RoleGrant) -> User:
    """Give the user a role in the project (replacing the one they held)."""
    return services.users.grant(name, project, body.role)


@router.delete(
    "/users/{name}/roles/{project}",
    dependencies=[require(Role.ADMIN, access.project("project"))],
)
def revoke_role(services: ServicesDep, name: str, project: str) -> User:
    return services.users.revoke(name, project)


@router.post(
    "/users/{name}/tokens",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_self_or_admin()],
)
def create_token(services: ServicesDep, name: str, body: TokenCreate) -> CreatedToken:
    """A new token; the answer holds its secret, which is not stored and never shown again."""
    expires = (
        None if body.expires_in_seconds is None else timedelta(seconds=body.expires_in_seconds)
    )
    return services.users.create_token(name, name=body.name, expires_in=expires)


@router.get("/users/{name}/tokens", dependencies=[require_self_or_admin()])
def list_tokens(services: ServicesDep, name: str) -> list[Token]:
    return services.users.list_tokens(name)


@router.delete("/users/{name}/tokens/{token_id}", dependencies=[require_self_or_admin()])
def revoke_token(services: ServicesDep, name: str, token_id: str) -> Token:
    return services.users.revoke_token(token_id, user=name)
