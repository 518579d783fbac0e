"""Authentication: the bearer token of each request, when the server requires tokens.

An ASGI middleware rather than a dependency, so the caller is known in the
request's own context before anything runs: FastAPI runs sync endpoints and
dependencies in a thread pool with a copy of that context, so services there
read the right actor (:func:`werft.governance.actor.current_actor`) and
principal. What a caller may do is decided per route (``werft.server.deps``).
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from werft.errors import UnauthenticatedError, WerftError
from werft.governance.actor import ACTOR_HEADER, acting_as
from werft.governance.roles import authenticated_as
from werft.server.problems import for_error
from werft.services import Services

MALFORMED = "send the token as `Authorization: Bearer <token>`"


class Authentication:
    """Turns ``Authorization: Bearer <token>`` into the request's principal and actor.

    With auth off (``app.state.auth`` false) a token is ignored and the
    client's ``X-Werft-Actor`` header, if any, names the actor (everything is
    trusted then anyway); with auth on that header is ignored, and a request
    without an Authorization header goes on unauthenticated (only routes
    declared public answer it), while a bad, revoked or expired token is
    refused here with 401.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not getattr(scope["app"].state, "auth", False):
            # Without auth every caller is trusted anyway: record the name the client gives.
            claimed = Headers(scope=scope).get(ACTOR_HEADER)
            if claimed:
                with acting_as(unquote(claimed)[:100]):
                    await self.app(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization")
        if header is None:
            await self.app(scope, receive, send)
            return
        scheme, _, token = header.partition(" ")
        services: Services = scope["app"].state.services
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise UnauthenticatedError(MALFORMED)
            principal = await run_in_threadpool(services.users.authenticate, token.strip())
        except WerftError as exc:
            await for_error(exc)(scope, receive, send)
            return
        with authenticated_as(principal):
            await self.app(scope, receive, send)
