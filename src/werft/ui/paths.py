"""Which request paths belong to the UI (everything but the REST API and /metrics)."""

from __future__ import annotations

STATIC_PREFIX = "/static"
_NOT_UI = ("/api/", "/metrics")


def is_ui_path(path: str) -> bool:
    """True for a page of the UI or its static files; False for the API and /metrics."""
    return not (path.startswith(_NOT_UI) or path == "/api")


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this server, else ``default`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
