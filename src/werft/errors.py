"""werft's exception types.

Every error werft raises on purpose is a :class:`WerftError` of one kind.  The
edges translate kinds into their own language — HTTP status codes in
``werft.server.problems``, exit codes in ``werft.cli.errors`` — and the HTTP
client turns a problem document back into the same kind, so SDK users catch the
same exception in local and remote mode.
"""

from __future__ import annotations


class WerftError(Exception):
    """Root of every error werft raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(WerftError):
    """The named object does not exist (or was purged)."""

    code = "not_found"


class AlreadyExistsError(WerftError):
    """An object with this identity exists already."""

    code = "already_exists"


class ConflictError(WerftError):
    """The request contradicts the object's current state."""

    code = "conflict"


class InvalidInputError(WerftError):
    """The input is malformed or outside the allowed limits."""

    code = "invalid_input"


class PermissionDeniedError(WerftError):
    """The caller is known but may not do this."""

    code = "permission_denied"


class UnauthenticatedError(WerftError):
    """The caller is not signed in, or the token is invalid or expired."""

    code = "unauthenticated"


class UnavailableError(WerftError):
    """A backing service (database, artifact store, server) cannot be reached."""

    code = "unavailable"


class IntegrityError(WerftError):
    """Stored content does not match its recorded hash, or a chain is broken."""

    code = "integrity"


ERROR_KINDS: dict[str, type[WerftError]] = {
    kind.code: kind
    for kind in (
        WerftError,
        NotFoundError,
        AlreadyExistsError,
        ConflictError,
        InvalidInputError,
        PermissionDeniedError,
        UnauthenticatedError,
        UnavailableError,
        IntegrityError,
    )
}
"""Error kinds by their wire ``code``, used by the HTTP client to re-raise."""
