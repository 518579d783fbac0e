"""Checks on names and values shared by every tracking entry point."""

from __future__ import annotations

import math
import re
from numbers import Integral, Real

from werft.errors import InvalidInputError
from werft.tracking.entities import (
    MAX_KEY_LENGTH,
    MAX_NAME_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)

_KEY = re.compile(r"^[A-Za-z0-9_\-./ :]+$")
_PROJECT_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")


def check_key(kind: str, key: object) -> str:
    """A metric, param or tag key: 1-250 characters of letters, digits and ``_-./ :``."""
    if not isinstance(key, str) or not key:
        raise InvalidInputError(f"{kind} key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"{kind} key {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}"
        )
    if not _KEY.match(key) or key != key.strip() or "//" in key or key.startswith("/"):
        raise InvalidInputError(
            f"{kind} key {key!r} is invalid: use letters, digits, spaces and _ - . / : "
            "(no leading slash or surrounding spaces)"
        )
    return key


def check_project_key(key: object) -> str:
    """A project key: lower-case letters, digits, ``_`` and ``-``; starts alphanumeric."""
    if not isinstance(key, str) or not _PROJECT_KEY.match(key):
        raise InvalidInputError(
            f"project key {key!r} is invalid: use 1-100 lower-case letters, digits, '_' or '-', "
            "starting with a letter or digit (e.g. 'churn')"
        )
    return key


def check_name(kind: str, name: str) -> str:
    """A human-readable name: up to 250 characters."""
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"{kind} name is {len(name)} characters; the limit is {MAX_NAME_LENGTH}"
        )
    return name


def param_value(key: str, value: object) -> str:
    """Params are stored as text; the limit is 6,000 characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidInputError(
            f"param {key!r} value is {len(text)} characters; the limit is "
            f"{MAX_PARAM_VALUE_LENGTH} — log long values as an artifact instead"
        )
    return text


def tag_value(key: str, value: object) -> str:
    """Tags are stored as text; the limit is 8,000 characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidInputError(
            f"tag {key!r} value is {len(text)} characters; the limit is {MAX_TAG_VALUE_LENGTH}"
        )
    return text


def metric_value(key: str, value: object) -> float:
    """Metric values are real numbers; NaN and ±inf are allowed and kept."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidInputError(
            f"metric {key!r} value must be a number, got {type(value).__name__} {value!r}"
        )
    result = float(value)
    if math.isnan(result):
        return math.nan
    return result


def metric_step(key: str, step: object) -> int:
    """Steps are integers (e.g. the epoch or batch number); numpy integers count."""
    if isinstance(step, bool) or not isinstance(step, Integral):
        raise InvalidInputError(f"metric {key!r} step must be an integer, got {step!r}")
    return int(step)
