"""Opaque cursors for paginated listings.

A cursor carries the position in the ordered result and a fingerprint of the
query it belongs to, so a cursor handed to a different query is refused
instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import json

from werft.errors import InvalidInputError

MAX_PAGE_SIZE = 50_000


def fingerprint(*parts: object) -> str:
    """A short hash of the query parameters a cursor is bound to."""
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:12]


def encode_cursor(offset: int, query: str) -> str:
    raw = json.dumps({"o": offset, "q": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, query: str) -> int:
    """The offset a cursor points at (0 without a cursor)."""
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset, bound_to = int(data["o"]), str(data["q"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            "invalid cursor; pass the next_cursor value of the previous page unchanged"
        ) from exc
    if bound_to != query or offset < 0:
        raise InvalidInputError(
            "this cursor belongs to a different query; repeat the original filter and ordering"
        )
    return offset


def check_page_size(limit: int, maximum: int = MAX_PAGE_SIZE) -> int:
    if limit < 1 or limit > maximum:
        raise InvalidInputError(f"page size must be between 1 and {maximum}, got {limit}")
    return limit
