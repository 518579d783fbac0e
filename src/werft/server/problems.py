"""The API's one mapping from errors to RFC 9457 problem documents."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from werft.errors import (
    AlreadyExistsError,
    ConflictError,
    IntegrityError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
    WerftError,
)

log = logging.getLogger("werft.server")

PROBLEM_JSON = "application/problem+json"

STATUS: dict[type[WerftError], tuple[int, str]] = {
    InvalidInputError: (400, "Invalid input"),
    UnauthenticatedError: (401, "Unauthenticated"),
    PermissionDeniedError: (403, "Permission denied"),
    NotFoundError: (404, "Not found"),
    AlreadyExistsError: (409, "Already exists"),
    ConflictError: (409, "Conflict"),
    IntegrityError: (500, "Integrity error"),
    UnavailableError: (503, "Service unavailable"),
}

_HTTP_CODES = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_input",
}


def problem(status: int, title: str, detail: str, code: str, **extra: object) -> JSONResponse:
    """A problem+json response; a 401 says how to authenticate (RFC 9110 section 11.6.1)."""
    body = {
        "type": f"urn:werft:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    headers = {"www-authenticate": 'Bearer realm="werft"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def for_error(exc: WerftError) -> JSONResponse:
    """The problem document for a werft error, with its kind's status."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            status, title = STATUS[kind]
            return problem(status, title, exc.message, exc.code)
    return problem(500, "Internal error", exc.message, exc.code)


def _location(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(WerftError)
    async def _werft_error(_request: Request, exc: WerftError) -> JSONResponse:
        return for_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _location(tuple(err["loc"])), "message": err["msg"]} for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        return problem(422, "Invalid request", detail, "invalid_input", errors=errors[:100])

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return problem(exc.status_code, str(exc.detail), str(exc.detail), code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "Internal error",
            "the server hit an unexpected error; it was logged — please report it",
            "internal",
        )
