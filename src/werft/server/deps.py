"""The API's dependencies, as ``Annotated`` aliases for the routers, and route permissions.

Every ``/api/v1`` route declares who may call it, with exactly one of
:func:`require`, :func:`require_any`, :func:`require_admin`,
:func:`require_signed_in`, :func:`require_self_or_admin` or :func:`public` in
its ``dependencies``. The rule is checked by
:class:`werft.governance.access.AccessControl` when auth is on; a route
without one is refused then (:func:`refuse_undeclared`, installed on the app).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from werft.errors import PermissionDeniedError
from werft.governance.access import Lookup, Rule, visible_projects
from werft.governance.roles import Principal, Role, current_principal
from werft.services import Services


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


def auth_enabled(request: Request) -> bool:
    """Whether this server requires tokens (``Settings.auth``, kept in ``app.state.auth``)."""
    return bool(getattr(request.app.state, "auth", False))


class Guard:
    """A route's declared permission: evaluated by the access service when auth is on."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __repr__(self) -> str:
        return f"Guard({self.rule.describe()})"

    async def __call__(self, request: Request) -> None:
        if not auth_enabled(request):
            return
        values = {lookup: await _request_value(request, lookup) for lookup in self.rule.lookups}
        services: Services = request.app.state.services
        await run_in_threadpool(services.access.authorize, current_principal(), self.rule, values)


async def _request_value(request: Request, lookup: Lookup) -> Any:
    if lookup.where == "path":
        return request.path_params.get(lookup.field)
    if lookup.where == "query":
        return request.query_params.get(lookup.field)
    try:
        body = await request.json()
    except ValueError:  # not JSON: the route's own validation answers
        return None
    return body.get(lookup.field) if isinstance(body, dict) else None


def allow(rule: Rule) -> Any:
    """Declare ``rule`` as a route's permission: ``dependencies=[allow(Rule.admin())]``."""
    return Depends(Guard(rule))


def require(role: Role, *lookups: Lookup) -> Any:
    """``role`` (or more) in the project(s) the lookups find, e.g.
    ``dependencies=[require(Role.VIEWER, access.run())]``."""
    return allow(Rule.in_project(role, *lookups))


def require_any(role: Role) -> Any:
    """``role`` (or more) in at least one project (listings across projects)."""
    return allow(Rule.any_project(role))


def require_admin() -> Any:
    """A global admin."""
    return allow(Rule.admin())


def require_signed_in() -> Any:
    """Any user with a valid token."""
    return allow(Rule.signed_in())


def require_self_or_admin(user_field: str = "name") -> Any:
    """The user the path parameter names, or a global admin."""
    return allow(Rule.self_or_admin(user_field))


def public() -> Any:
    """No token needed, even with auth on (health checks only)."""
    return allow(Rule.public())


def declared_rule(route: Any) -> Rule | None:
    """The rule a route declares with one of the functions above, or None."""
    dependant = getattr(route, "dependant", None)
    pending = list(dependant.dependencies) if dependant is not None else []
    while pending:
        sub = pending.pop()
        if isinstance(sub.call, Guard):
            return sub.call.rule
        pending.extend(sub.dependencies)
    return None


async def refuse_undeclared(request: Request) -> None:
    """Fail closed: with auth on, a route that declares no permission answers 403."""
    if auth_enabled(request) and declared_rule(request.scope.get("route")) is None:
        raise PermissionDeniedError(
            f"{request.method} {request.url.path} declares no permission, so it is refused "
            "while authentication is on; this is a werft bug - please report it"
        )


def _principal(_request: Request) -> Principal | None:
    return current_principal()


PrincipalDep = Annotated[Principal | None, Depends(_principal)]
"""The authenticated caller; None when auth is off."""


def _visible_projects(request: Request) -> frozenset[str] | None:
    if not auth_enabled(request):
        return None
    return visible_projects(current_principal())


VisibleProjectsDep = Annotated[frozenset[str] | None, Depends(_visible_projects)]
"""The projects a listing across projects may show the caller; None: every project
(auth off, or a global admin). Pass it to the service, which filters in its query."""
