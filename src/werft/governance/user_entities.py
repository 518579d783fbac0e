"""Users, their API tokens and who-am-I answers, as the services and the API hand them out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from werft.governance.roles import Role


class User(BaseModel):
    """A person or a robot (CI) that signs in with API tokens."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    display_name: str = ""
    email: str = ""
    is_admin: bool = Field(default=False, description="Admin of every project.")
    disabled: bool = False
    created_at: datetime
    roles: dict[str, Role] = Field(default_factory=dict, description="Project key -> role.")


class Token(BaseModel):
    """An API token as listed: never its secret, which only its creator saw once."""

    model_config = ConfigDict(frozen=True)

    id: str
    user: str
    name: str
    prefix: str = Field(description="The public part after `wft_`: tells tokens apart.")
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None, description="Updated at most once a minute."
    )
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


class CreatedToken(BaseModel):
    """A new token with its secret: shown this once, stored only as a hash."""

    model_config = ConfigDict(frozen=True)

    token: Token
    secret: str


class Identity(BaseModel):
    """Who the caller is and which roles they hold (``werft whoami``, ``GET /me``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    display_name: str = ""
    email: str = ""
    is_admin: bool = False
    roles: dict[str, Role] = Field(default_factory=dict)
    authenticated: bool = Field(
        default=False,
        description="True when a token identified the caller; false in local mode and on a "
        "server without auth, where the name is only what the process says it is.",
    )
