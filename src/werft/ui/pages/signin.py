"""Sign in with a user name and API token, sign out, and choose the language."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from werft.errors import UnauthenticatedError, WerftError
from werft.governance.roles import authenticated_as
from werft.server.deps import public, require_signed_in
from werft.ui.i18n import CATALOGS, LANGUAGE_COOKIE
from werft.ui.page import FormDep, PageDep
from werft.ui.paths import safe_next
from werft.ui.session import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SESSION_TOKEN_NAME,
    SessionCookie,
)

router = APIRouter()

ONE_YEAR = 365 * 24 * 3600


@router.get("/signin", dependencies=[public()])
def signin_form(page: PageDep, next: str = "/") -> Response:
    """The sign-in form; without auth there is nothing to sign in to."""
    if not page.auth or page.principal is not None:
        return page.redirect(safe_next(next))
    return page.render("signin.html.j2", next=safe_next(next), user_name="", error="")


@router.post("/signin", dependencies=[public()])
def signin(page: PageDep, form: FormDep) -> Response:
    """Check the user's API token and start a session: a short-lived token of its own."""
    target = safe_next(form.get("next"))
    if not page.auth:
        return page.redirect(target)
    name, token = form.get("user").strip(), form.get("token").strip()
    try:
        principal = page.services.users.authenticate(token)
        if principal.user != name:
            raise UnauthenticatedError("the token belongs to another user")
        with authenticated_as(principal):
            session = page.services.users.create_token(
                name, name=SESSION_TOKEN_NAME, expires_in=SESSION_LIFETIME
            )
    except WerftError:
        # One answer for every failure: a wrong name must not tell which users exist.
        return page.render(
            "signin.html.j2",
            status=401,
            next=target,
            user_name=name,
            error=page.t("signin.failed"),
        )
    response = page.redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        SessionCookie(session.token.id, session.secret).encode(),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=page.request.url.scheme == "https",
    )
    return response


@router.post("/signout", dependencies=[require_signed_in()])
def signout(page: PageDep, form: FormDep) -> RedirectResponse:
    """End the session: its token is revoked, so a copied cookie is worthless too."""
    del form  # checked: a cross-site form cannot sign anyone out
    session = SessionCookie.decode(page.request.cookies.get(SESSION_COOKIE))
    if session is not None and page.principal is not None:
        # Already gone (revoked, expired): signing out still clears the cookie.
        with contextlib.suppress(WerftError):
            page.services.users.revoke_token(session.token_id, user=page.principal.user)
    response = page.redirect("/signin" if page.auth else "/")
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
    return response


@router.post("/language", dependencies=[public()])
def choose_language(page: PageDep, form: FormDep) -> RedirectResponse:
    """Remember the chosen language in a cookie and go back to the page."""
    response = page.redirect(safe_next(form.get("next")))
    language = form.get("lang")
    if language in CATALOGS:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=ONE_YEAR, samesite="strict", httponly=True
        )
    return response
