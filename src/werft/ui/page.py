"""One request's view of the UI: services, language, caller and CSRF token; renders templates.

Routes take a :class:`Page` (``PageDep``) and, for forms that change
something, a checked :class:`Form` (``FormDep``) — the only FastAPI
dependencies of the UI, as the API keeps its own in ``werft.server.deps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment

from werft.errors import WerftError
from werft.governance.actor import current_actor
from werft.governance.roles import Principal, Role, current_principal
from werft.server.deps import auth_enabled
from werft.server.problems import STATUS
from werft.services import Services
from werft.ui.i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES, Translator, negotiate
from werft.ui.session import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, check_csrf, new_csrf_token

MAX_FORM_BYTES = 100_000


@dataclass(frozen=True)
class NavItem:
    """An entry of the main navigation: a catalog key, where it goes, which paths it marks."""

    label: str
    href: str
    prefixes: tuple[str, ...] = ()

    def active(self, path: str) -> bool:
        if self.href == "/":
            return path == "/"
        return any(path.startswith(p) for p in (self.href, *self.prefixes))


@dataclass
class Ui:
    """What the UI builds once at start-up: the template environment and the navigation."""

    templates: Environment
    nav: list[NavItem] = field(default_factory=list)


class Page:
    """Renders templates for one request with what every page needs in its context."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.services: Services = request.app.state.services
        self._ui: Ui = request.app.state.ui
        self.t = Translator(
            negotiate(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))
        )
        self.auth = auth_enabled(request)
        self.principal: Principal | None = current_principal()
        existing = request.cookies.get(CSRF_COOKIE)
        self._new_csrf = None if existing else new_csrf_token()
        self.csrf = existing or self._new_csrf or ""

    @property
    def user(self) -> str:
        """Who is acting: the signed-in user, else (auth off) the server's acting user."""
        return self.principal.user if self.principal is not None else current_actor()

    @property
    def is_htmx(self) -> bool:
        """True when htmx asked for a fragment rather than a whole page."""
        return self.request.headers.get("hx-request") == "true"

    def can(self, project: str, role: Role = Role.VIEWER) -> bool:
        """Whether the caller holds ``role`` in ``project`` (everyone may, with auth off)."""
        if not self.auth:
            return True
        return self.principal is not None and self.principal.can(project, role)

    def visible(self, projects: list[str], role: Role = Role.VIEWER) -> list[str]:
        """The projects among ``projects`` the caller may see (or act in, with ``role``)."""
        return [key for key in projects if self.can(key, role)]

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """The template rendered with the page context; sets the CSRF cookie on first visit."""
        path = self.request.url.path
        html = self._ui.templates.get_template(template).render(
            t=self.t,
            lang=self.t.language,
            languages=LANGUAGE_NAMES,
            page=self,
            nav=[(item, item.active(path)) for item in self._ui.nav],
            path=path,
            here=_here(self.request),
            csrf=self.csrf,
            Role=Role,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        self.remember_csrf(response)
        return response

    def remember_csrf(self, response: HTMLResponse | RedirectResponse) -> None:
        if self._new_csrf is not None:
            response.set_cookie(
                CSRF_COOKIE,
                self._new_csrf,
                httponly=True,
                samesite="strict",
                secure=self.request.url.scheme == "https",
            )

    def redirect(self, url: str) -> RedirectResponse:
        """See Other: the browser GETs ``url`` (after a form, so reload does not repost)."""
        return RedirectResponse(url, status_code=303)


def status_for(exc: WerftError) -> int:
    """The HTTP status of an error's kind: the same as the API's."""
    return next((STATUS[kind][0] for kind in type(exc).__mro__ if kind in STATUS), 500)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Form:
    """A submitted form whose CSRF token matched: field name -> first value."""

    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


async def _form(request: Request) -> Form:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        body = b""
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    fields = {name: values[0] for name, values in parsed.items()}
    check_csrf(
        request.cookies.get(CSRF_COOKIE),
        fields.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER),
    )
    return Form(fields)


PageDep = Annotated[Page, Depends(Page)]
FormDep = Annotated[Form, Depends(_form)]
