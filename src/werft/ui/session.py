"""Signed-in browsers: a session cookie that is an API token of its own, and CSRF tokens.

Signing in checks a user's API token (the same check as the API's bearer
token) and mints a *session token* for them — an ordinary token named
``web session`` that expires after :data:`SESSION_LIFETIME` and is revoked at
sign-out — so the user's own token never sits in the browser, and an admin
sees and revokes sessions with ``werft tokens``. The cookie carries
``<token id>:<secret>`` and is ``HttpOnly`` and ``SameSite=Strict``.

Every form that changes something carries a CSRF token that must match the
``werft_csrf`` cookie (double submit): another site can neither read the
cookie nor, with ``SameSite=Strict``, make the browser send it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from werft.errors import PermissionDeniedError, WerftError
from werft.governance.roles import authenticated_as
from werft.services import Services
from werft.ui.paths import is_ui_path

SESSION_COOKIE = "werft_session"
CSRF_COOKIE = "werft_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME = timedelta(hours=12)
SESSION_TOKEN_NAME = "web session"


@dataclass(frozen=True)
class SessionCookie:
    """What the session cookie holds: the session token's id and its secret."""

    token_id: str
    secret: str

    def encode(self) -> str:
        return f"{self.token_id}:{self.secret}"

    @classmethod
    def decode(cls, value: str | None) -> SessionCookie | None:
        token_id, sep, secret = (value or "").partition(":")
        if not sep or not token_id or not secret:
            return None
        return cls(token_id, secret)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def check_csrf(cookie: str | None, submitted: str | None) -> None:
    """Refuse a form whose CSRF token does not match the cookie's."""
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise PermissionDeniedError(
            "the form has expired or did not come from this site; reload the page and try again"
        )


class SessionAuthentication:
    """Makes the session cookie's user the principal of a UI request when auth is on.

    It wraps the API's bearer-token middleware, so a request that also sends
    ``Authorization: Bearer`` is answered as that token's user. It leaves the
    API and ``/metrics`` alone: they never accept cookies, so a cross-site
    request cannot use a browser's session against them. An invalid or
    expired session goes on unauthenticated: the page's permission check
    then sends the browser to the sign-in page.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not getattr(scope["app"].state, "auth", False)
            or not is_ui_path(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        session = SessionCookie.decode(HTTPConnection(scope).cookies.get(SESSION_COOKIE))
        if session is None:
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        try:
            principal = await run_in_threadpool(services.users.authenticate, session.secret)
        except WerftError:
            await self.app(scope, receive, send)
            return
        with authenticated_as(principal):
            await self.app(scope, receive, send)
