"""What every command needs: settings and a backend, built once per invocation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import typer

from werft.config import LoadedSettings, load_settings
from werft.sdk.backend import Backend, open_backend


@dataclass
class CliContext:
    """Global options, turned into settings and a backend on first use."""

    overrides: dict[str, Any] = field(default_factory=dict)
    _loaded: LoadedSettings | None = None
    _backend: Backend | None = None

    @property
    def loaded(self) -> LoadedSettings:
        if self._loaded is None:
            self._loaded = load_settings(**self.overrides)
        return self._loaded

    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = open_backend(self.loaded.settings)
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


def get(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):
        obj = CliContext()
        ctx.find_root().obj = obj
    return obj
