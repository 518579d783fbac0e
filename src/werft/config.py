"""werft's settings and where each value came from.

Precedence, highest first: explicit arguments > ``WERFT_*`` environment
variables > the config file (``WERFT_CONFIG``, else ``$WERFT_HOME/config.toml``)
> defaults.  Settings are built once at start-up (CLI entry, server lifespan,
the SDK's first call) and passed down; nothing here runs at import time.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from werft.errors import InvalidInputError

ENV_PREFIX = "WERFT_"
Source = Literal["argument", "environment", "config file", "default"]


class Settings(BaseModel):
    """Effective configuration of one werft process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".werft",
        description="werft's home folder: default database, artifacts and config file.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata store; default SQLite in the home.",
    )
    artifacts_url: str | None = Field(
        default=None,
        description="Artifact store: a folder or s3://bucket/prefix; default a folder in the home.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="Endpoint of an S3-compatible store (MinIO, Ceph, moto)."
    )
    url: str | None = Field(
        default=None, description="URL of a werft server; when set, the SDK and CLI use it."
    )
    token: SecretStr | None = Field(default=None, description="API token for the werft server.")
    auth: bool = Field(
        default=False,
        description="`werft server` requires an API token on every route but the health check.",
    )
    user: str | None = Field(
        default=None,
        description="Who you are in local mode (audit log, approvals); default the OS user.",
    )
    metric_flush_interval: float = Field(
        default=2.0, gt=0, description="Seconds between background flushes of buffered metrics."
    )
    metric_flush_size: int = Field(
        default=5000, ge=1, description="Buffered metric points that trigger a flush."
    )
    delete_retention_days: float = Field(
        default=30.0,
        ge=0,
        description="Days a deleted run or project stays restorable before `werft gc` purges it.",
    )
    server_host: str = Field(default="127.0.0.1", description="Address `werft server` binds.")
    server_port: int = Field(default=8080, ge=0, le=65535, description="Port of `werft server`.")
    http_timeout: float = Field(
        default=60.0, gt=0, description="Seconds the client waits on a server response."
    )

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def effective_database_url(self) -> str:
        """The metadata store URL, defaulting to SQLite in the home."""
        return self.database_url or f"sqlite:///{self.home / 'werft.db'}"

    @property
    def effective_artifacts_url(self) -> str:
        """The artifact store URL, defaulting to a folder in the home."""
        return self.artifacts_url or str(self.home / "artifacts")

    @property
    def is_remote(self) -> bool:
        """True when a server URL is configured (remote mode)."""
        return bool(self.url)


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus the source of every value, for ``werft config``."""

    settings: Settings
    sources: dict[str, str]
    config_file: Path


def _env_value(name: str, environ: dict[str, str]) -> str | None:
    value = environ.get(ENV_PREFIX + name.upper())
    return value if value not in (None, "") else None


def _read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"config file {path} is not valid TOML: {exc}") from exc
    section = data.get("werft", data)
    if not isinstance(section, dict):
        raise InvalidInputError(f"config file {path}: [werft] must be a table")
    unknown = sorted(set(section) - set(Settings.model_fields))
    if unknown:
        raise InvalidInputError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(Settings.model_fields))}"
        )
    return dict(section)


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> LoadedSettings:
    """Build the effective settings.

    Args:
        environ: The environment to read ``WERFT_*`` variables from (default
            ``os.environ``); tests pass their own.
        **overrides: Explicit values; they win over everything else.  ``None``
            values are ignored so callers can pass optional CLI flags through.

    Raises:
        InvalidInputError: A value is malformed; the message names its source.
    """
    env = dict(os.environ if environ is None else environ)
    given = {key: value for key, value in overrides.items() if value is not None}
    unknown = sorted(set(given) - set(Settings.model_fields))
    if unknown:
        raise InvalidInputError(f"unknown setting(s): {', '.join(unknown)}")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    # The home decides where the config file is, so resolve it first.
    home_raw = given.get("home") or _env_value("home", env)
    home = Path(home_raw).expanduser() if home_raw else Path.home() / ".werft"
    config_env = _env_value("config", env)
    config_file = Path(config_env).expanduser() if config_env else home / "config.toml"
    from_file = _read_config_file(config_file)

    for name in Settings.model_fields:
        env_value = _env_value(name, env)
        if name in given:
            values[name], sources[name] = given[name], "argument"
        elif env_value is not None:
            values[name], sources[name] = env_value, f"environment {ENV_PREFIX}{name.upper()}"
        elif name in from_file:
            values[name], sources[name] = from_file[name], f"config file {config_file}"
        else:
            sources[name] = "default"
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])} ({sources.get(str(err['loc'][0]), '?')}): "
            f"{err['msg']}"
            for err in exc.errors()
        )
        raise InvalidInputError(f"invalid configuration: {problems}") from exc
    return LoadedSettings(settings=settings, sources=sources, config_file=config_file)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string with ASCII escapes is a valid TOML basic string.
    return json.dumps(str(value))


def update_config_file(path: Path, **values: Any) -> None:
    """Set settings in the config file, keeping the others, readable by its owner only.

    The file is rewritten as one ``[werft]`` table (comments are not kept) and
    replaced atomically; it is created with mode 0600 because it may hold a token.

    Raises:
        InvalidInputError: A name is not a setting, or the file is not valid TOML.
    """
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise InvalidInputError(f"unknown setting(s): {', '.join(unknown)}")
    merged = {**_read_config_file(path), **values}
    lines = ["[werft]"]
    lines += [
        f"{key} = {_toml_value(value)}"
        for key, value in sorted(merged.items())
        if value is not None
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".toml")
    try:  # mkstemp creates the file with mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
