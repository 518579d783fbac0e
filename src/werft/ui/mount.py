"""Mount the UI on the app: page routers, static files, session sign-in and HTML error pages."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException

from werft import __version__
from werft.errors import UnauthenticatedError, WerftError
from werft.ui.page import Page, Ui, status_for
from werft.ui.pages import PAGE_GROUPS
from werft.ui.paths import STATIC_PREFIX, is_ui_path
from werft.ui.session import SessionAuthentication

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def templates() -> Environment:
    """The Jinja2 environment of every UI template: autoescaped, strict about names."""
    env = Environment(
        loader=PackageLoader("werft.ui", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda path: f"{STATIC_PREFIX}/{path}?v={__version__}"
    env.globals["version"] = __version__
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return env


def install(app: FastAPI) -> None:
    """Serve the UI at ``/`` beside the API: call after the API's error handlers are installed."""
    ui = Ui(templates=templates())
    for group in PAGE_GROUPS:
        ui.nav.extend(getattr(group, "NAV", ()))
        app.include_router(group.router, include_in_schema=False)
    app.state.ui = ui
    static = resources.files("werft.ui") / "static"
    app.mount(STATIC_PREFIX, StaticFiles(directory=str(static)), name="static")
    app.add_middleware(SessionAuthentication)
    for kind in (WerftError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, _html_on_ui_paths(app.exception_handlers[kind]))


def _html_on_ui_paths(api_handler: Handler) -> Handler:
    """The API's problem+json handler for API paths; an HTML page (or sign-in) for the UI."""

    async def handle(request: Request, exc: Any) -> Response:
        if not is_ui_path(request.url.path):
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return error_page(request, exc)

    return handle


def error_page(request: Request, exc: Exception) -> Response:
    """What the browser sees when a page fails: sign-in when needed, else an error page."""
    if isinstance(exc, UnauthenticatedError) and getattr(request.app.state, "auth", False):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
    status, detail = 500, ""
    if isinstance(exc, WerftError):
        status = status_for(exc)
        detail = exc.message
    elif isinstance(exc, RequestValidationError):
        status = 400
        detail = "; ".join(str(err.get("msg", "")) for err in exc.errors()[:5])
    elif isinstance(exc, StarletteHTTPException):
        status, detail = exc.status_code, str(exc.detail)
    page = Page(request)
    response: HTMLResponse = page.render("error.html.j2", status=status, code=status, detail=detail)
    return response
