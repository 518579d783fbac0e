"""Option values shared by commands: ``FEATURE=VALUE`` pairs."""

from __future__ import annotations

from werft.errors import InvalidInputError


def feature_pairs(option: str, given: list[str] | None) -> dict[str, str]:
    """``["a=psi", "b=ks"]`` as ``{"a": "psi", "b": "ks"}``; the last ``=`` splits."""
    pairs: dict[str, str] = {}
    for item in given or []:
        name, sep, value = item.rpartition("=")
        if not sep or not name or not value:
            raise InvalidInputError(f"{option} takes FEATURE=VALUE, got {item!r}")
        pairs[name] = value
    return pairs


def feature_numbers(option: str, given: list[str] | None) -> dict[str, float]:
    numbers: dict[str, float] = {}
    for name, value in feature_pairs(option, given).items():
        try:
            numbers[name] = float(value)
        except ValueError:
            raise InvalidInputError(f"{option} {name}={value}: {value!r} is not a number") from None
    return numbers
