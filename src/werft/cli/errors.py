"""The CLI's one mapping from errors to messages and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from werft.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
    WerftError,
)

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2

EXIT_CODES: dict[type[WerftError], int] = {
    NotFoundError: 3,
    AlreadyExistsError: 4,
    ConflictError: 4,
    InvalidInputError: 5,
    PermissionDeniedError: 6,
    UnauthenticatedError: 6,
    UnavailableError: 7,
}

P = ParamSpec("P")
R = TypeVar("R")


def exit_code(exc: WerftError) -> int:
    for kind in type(exc).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return EXIT_UNEXPECTED


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn werft errors into ``error: message`` on stderr and the documented exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except WerftError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            raise typer.Exit(exit_code(exc)) from None

    return wrapper
