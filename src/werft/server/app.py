"""The FastAPI application: thin routers over the domain services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from werft import __version__
from werft.config import Settings
from werft.pipelines.dispatch import PipelineDispatcher
from werft.server import metrics, problems
from werft.server.api import (
    alerts,
    approvals,
    artifacts,
    audit,
    deployments,
    gates,
    maturity,
    monitors,
    pipelines,
    projects,
    registry,
    runs,
    system,
    usecases,
    users,
)
from werft.server.authn import Authentication
from werft.server.deps import refuse_undeclared
from werft.services import Services, build_services
from werft.ui import mount as ui
from werft.worker import Worker

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    worker_interval: float | None = None,
    auth: bool | None = None,
    max_pipelines: int = 1,
) -> FastAPI:
    """Build the app; the services are built in the lifespan unless given.

    Args:
        settings: Where the stores are (needed unless ``services`` is given).
        services: Prebuilt services (tests); the app then does not close them.
        worker_interval: Run the worker (monitors, alert notifications) in
            this process, ticking every this many seconds; ``None`` for none.
        max_pipelines: Pipeline runs (retrainings) the worker executes at once.
        auth: Require an API token on every route but the health check;
            default ``settings.auth`` (off without settings). Kept in
            ``app.state.auth``, read on each request.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        if owned:
            assert settings is not None
            app.state.services = build_services(settings)
        else:
            app.state.services = services
        worker = None
        if worker_interval is not None:
            dispatcher = (
                PipelineDispatcher(app.state.services, settings, max_parallel=max_pipelines)
                if settings is not None
                else None
            )
            worker = Worker(app.state.services, interval=worker_interval, pipelines=dispatcher)
            worker.start()
        app.state.worker = worker
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if owned:
                app.state.services.close()

    if settings is None and services is None:
        raise ValueError("create_app needs settings or services")
    app = FastAPI(
        title="werft",
        version=__version__,
        summary="On-premise MLOps: experiment tracking, registry, serving, monitoring.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        # Fail closed: with auth on, a route that declares no permission is refused.
        dependencies=[Depends(refuse_undeclared)],
    )
    app.state.auth = auth if auth is not None else bool(settings and settings.auth)
    app.add_middleware(Authentication)
    if services is not None:
        app.state.services = services
    problems.install(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (
        system,
        projects,
        runs,
        artifacts,
        registry,
        deployments,
        monitors,
        alerts,
        audit,
        gates,
        usecases,
        pipelines,
        maturity,
        users,
        approvals,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(metrics.router)
    ui.install(app)  # the web UI at /: after the API, whose error handlers it extends
    return app
