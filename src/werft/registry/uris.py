"""Model URIs: ``models:/name/3``, ``models:/name@alias``, ``runs:/<run id>/<path>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from werft.errors import InvalidInputError

ALIAS_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}$")
_MODEL_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}"
_MODELS = re.compile(rf"^models:/(?P<name>{_MODEL_NAME})(?:/(?P<version>\d+)|@(?P<alias>[^/]+))$")
_RUNS = re.compile(r"^runs:/(?P<run>[0-9a-f]{32})/(?P<path>.+)$")


@dataclass(frozen=True)
class ModelRef:
    """A parsed model URI: a version, an alias, or a run's artifact path."""

    name: str | None = None
    version: int | None = None
    alias: str | None = None
    run_id: str | None = None
    path: str | None = None


def check_alias(alias: str) -> str:
    """An alias is an identifier: a letter or underscore, then letters, digits, ``_`` or ``-``."""
    if not ALIAS_PATTERN.match(alias) or alias == "latest":
        raise InvalidInputError(
            f"alias {alias!r} is not a valid identifier: start with a letter or '_', then up to "
            "99 letters, digits, '_' or '-' (e.g. 'production', 'champion'); 'latest' is reserved"
        )
    return alias


def check_model_name(name: str) -> str:
    """Model names: letters, digits, ``_ . -``; start alphanumeric; up to 250 characters."""
    if not re.fullmatch(_MODEL_NAME, name):
        raise InvalidInputError(
            f"model name {name!r} is invalid: use letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (e.g. 'churn-classifier')"
        )
    return name


def parse_model_uri(uri: str) -> ModelRef:
    """Parse ``models:/name/3``, ``models:/name@alias`` or ``runs:/<run id>/<path>``."""
    if match := _MODELS.match(uri):
        if match["version"] is not None:
            return ModelRef(name=match["name"], version=int(match["version"]))
        return ModelRef(name=match["name"], alias=check_alias(match["alias"]))
    if match := _RUNS.match(uri):
        return ModelRef(run_id=match["run"], path=match["path"].strip("/"))
    raise InvalidInputError(
        f"model URI {uri!r} is not understood; use models:/NAME/VERSION, models:/NAME@ALIAS "
        "or runs:/RUN_ID/PATH"
    )
