"""The API's dependencies, as ``Annotated`` aliases for the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from werft.services import Services


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]
