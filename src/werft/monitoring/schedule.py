"""Cron schedules and durations for monitors and alert rules.

Cron expressions have five fields (minute hour day month weekday) and are
evaluated in UTC with :mod:`cronsim`; durations are written ``90s``, ``15m``,
``1h``, ``7d`` (or plain seconds).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError

from werft.errors import InvalidInputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> int:
    """Seconds in ``text``: ``30s``, ``15m``, ``1h``, ``2d``, ``1w`` or a number of seconds.

    Raises:
        InvalidInputError: ``text`` is not a duration or is negative.
    """
    if isinstance(text, int | float):
        if text < 0:
            raise InvalidInputError(f"duration {text} is negative")
        return int(text)
    match = _DURATION.match(text)
    if match is None:
        raise InvalidInputError(
            f"duration {text!r} is not understood; write e.g. 30s, 15m, 1h, 2d or 1w"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2) or "s"])


def format_duration(seconds: int) -> str:
    """The shortest exact form: ``3600`` → ``1h``, ``90`` → ``90s``."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def check_schedule(expression: str) -> str:
    """The cron expression, checked.

    Raises:
        InvalidInputError: It is not a valid five-field cron expression.
    """
    text = " ".join(expression.split())
    if len(text.split(" ")) != 5:
        raise InvalidInputError(
            f"schedule {expression!r} needs five fields (minute hour day month weekday), "
            'e.g. "*/15 * * * *" for every 15 minutes'
        )
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise InvalidInputError(f"schedule {expression!r} is not valid cron: {exc}") from exc
    return text


def next_run(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that the schedule names (UTC, aware)."""
    start = after.astimezone(UTC).replace(microsecond=0)
    return next(CronSim(check_schedule(expression), start)).astimezone(UTC)


def previous_interval(expression: str, at: datetime) -> timedelta:
    """How far apart two runs of the schedule are around ``at`` (for a default window)."""
    first = next_run(expression, at)
    return next_run(expression, first) - first
