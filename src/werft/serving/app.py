"""The inference server's HTTP edge: Starlette with orjson, problem+json errors.

Starlette rather than FastAPI here: the predict path is the hottest code in
werft and needs no OpenAPI model of a signature that differs per model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from werft.errors import InvalidInputError, NotFoundError, WerftError
from werft.serving.runtime import ModelRoute, response_body
from werft.serving.validation import RequestInvalid

PROBLEM = "application/problem+json"
SMALL_REQUEST_ROWS = 64


def _json(body: Any, status: int = 200, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


def problem(status: int, title: str, detail: str, code: str, **extra: Any) -> Response:
    body = {
        "type": f"urn:werft:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return _json(body, status, PROBLEM)


async def _payload(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"the body is not valid JSON: {exc}") from None


class ServingApp:
    """Routes requests to model routes; owns no model state itself."""

    def __init__(
        self,
        routes: Mapping[str, ModelRoute],
        *,
        metrics_text: Callable[[], bytes],
        feedback: Callable[[ModelRoute, Any], Mapping[str, Any]],
        on_startup: Callable[[], None] | None = None,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        self.routes = dict(routes)
        self.default = next(iter(self.routes))
        self._metrics_text = metrics_text
        self._feedback = feedback
        self._on_startup, self._on_shutdown = on_startup, on_shutdown

    def _route(self, name: str | None) -> ModelRoute:
        route = self.routes.get(name or self.default)
        if route is None:
            raise NotFoundError(
                f"this server does not serve model {name!r}; it serves {sorted(self.routes)}"
            )
        return route

    async def predict(self, request: Request) -> Response:
        try:
            route = self._route(request.path_params.get("name"))
        except WerftError as exc:
            return _error(exc)
        started = time.perf_counter()
        metrics = route.metrics
        fields: set[str] = set()
        try:
            response = await self._predict(route, request)
        except RequestInvalid as exc:
            for error in exc.errors:
                metrics.validation_failures.labels(route.name, error.field or "request").inc()
            fields = {error.field or "request" for error in exc.errors}
            errors = [e.model_dump() for e in exc.errors]
            response = problem(422, "Invalid input", exc.message, "invalid_input", errors=errors)
        except WerftError as exc:
            response = _error(exc)
        elapsed = time.perf_counter() - started
        metrics.requests.labels(route.name, str(response.status_code)).inc()
        metrics.latency.labels(route.name).observe(elapsed)
        route.stats.record(response.status_code, elapsed, fields)
        return response

    async def _predict(self, route: ModelRoute, request: Request) -> Response:
        if not route.ready:
            return problem(
                503,
                "Model not loaded",
                f"model {route.name!r} is not loaded: {route.error or 'loading'}",
                "unavailable",
            )
        payload = await _payload(request)
        variant, served = route.choose()
        rows_hint = (
            len(payload.get("rows") or payload.get("data") or ())
            if isinstance(payload, dict)
            else 0
        )
        if rows_hint > SMALL_REQUEST_ROWS:  # big requests validate off the event loop
            rows = await asyncio.to_thread(served.validator.validate, payload)
        else:
            rows = served.validator.validate(payload)
        for field, count in rows.unseen.items():
            route.metrics.unseen_categories.labels(route.name, field).inc(count)
        request_id, outcome = await route.predict(served, variant, rows)
        return _json(response_body(route.name, request_id, outcome, rows.n_rows))

    async def feedback(self, request: Request) -> Response:
        try:
            route = self._route(request.path_params.get("name"))
            payload = await _payload(request)
            result = await asyncio.to_thread(self._feedback, route, payload)
        except WerftError as exc:
            return _error(exc)
        return _json(result)

    async def healthz(self, _request: Request) -> Response:
        return _json({"status": "ok"})

    async def readyz(self, _request: Request) -> Response:
        models = {
            name: {"ready": route.ready, "versions": route.versions(), "error": route.error}
            for name, route in self.routes.items()
        }
        ready = all(route.ready for route in self.routes.values())
        return _json({"ready": ready, "models": models}, 200 if ready else 503)

    async def info(self, _request: Request) -> Response:
        return _json(
            {
                name: {
                    "alias": route.alias,
                    "versions": route.versions(),
                    "signature": (
                        route.served["primary"].model.signature.model_dump(mode="json")
                        if route.ready
                        else None
                    ),
                }
                for name, route in self.routes.items()
            }
        )

    async def metrics(self, _request: Request) -> Response:
        return Response(self._metrics_text(), media_type=CONTENT_TYPE_LATEST)

    def build(self) -> Starlette:
        @asynccontextmanager
        async def lifespan(_app: Starlette) -> AsyncIterator[None]:
            if self._on_startup:
                await asyncio.to_thread(self._on_startup)
            try:
                yield
            finally:
                for route in self.routes.values():
                    await route.close()
                if self._on_shutdown:
                    await asyncio.to_thread(self._on_shutdown)

        return Starlette(
            routes=[
                Route("/predict", self.predict, methods=["POST"]),
                Route("/models/{name}/predict", self.predict, methods=["POST"]),
                Route("/feedback", self.feedback, methods=["POST"]),
                Route("/models/{name}/feedback", self.feedback, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/readyz", self.readyz, methods=["GET"]),
                Route("/info", self.info, methods=["GET"]),
                Route("/metrics", self.metrics, methods=["GET"]),
            ],
            lifespan=lifespan,
            exception_handlers={404: _not_found, 405: _not_allowed},
        )


def _error(exc: WerftError) -> Response:
    status = {"not_found": 404, "invalid_input": 400, "conflict": 409, "unavailable": 503}.get(
        exc.code, 500
    )
    return problem(status, exc.__class__.__name__, exc.message, exc.code)


async def _not_found(request: Request, _exc: Exception) -> Response:
    return problem(404, "Not found", f"no route {request.url.path}; try POST /predict", "not_found")


async def _not_allowed(request: Request, _exc: Exception) -> Response:
    return problem(
        405, "Method not allowed", f"{request.method} is not allowed here", "method_not_allowed"
    )
