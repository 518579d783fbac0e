"""Who is acting: the name services record in the audit log and on approvals.

The edge that knows the caller sets it for the duration of one call: the
API's authentication middleware from the token's user, the CLI and the local
SDK from the configured or operating-system user. Services read it with
:func:`current_actor`; nothing passes it through every signature.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator
from contextvars import ContextVar

ACTOR_HEADER = "x-werft-actor"
"""The header the HTTP client names its user in; the server trusts it only while auth is off."""

_actor: ContextVar[str | None] = ContextVar("werft_actor", default=None)


def current_actor() -> str:
    """The acting user's name: the one set by :func:`acting_as`, else the OS user."""
    name = _actor.get()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


@contextlib.contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Record ``name`` as the actor of everything inside the block (this context only)."""
    token = _actor.set(name)
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(name: str | None) -> None:
    """Set the actor for the rest of this context (an edge's request scope)."""
    _actor.set(name)
