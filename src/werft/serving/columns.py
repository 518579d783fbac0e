"""Column checkers: one per logical type, checking and coercing a request's values.

:class:`~werft.serving.validation.RequestValidator` picks one per signature column
with :func:`column_for` and hands it the column's raw values; the checker returns
them coerced, with a :class:`FieldError` per value that does not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from werft.errors import InvalidInputError
from werft.registry.signature import ColumnSpec

UnseenPolicy = Literal["reject", "pass"]
"""What to do with a category level the model never saw: reject the request or pass it on."""

_NULL = "null is not allowed: the model never saw a missing value here"
_NONE_TYPE: type = type(None)
_OBJECT = np.dtype(object)
MISSING: Any = object()  # stands for an absent value, already reported as a missing column


class FieldError(BaseModel):
    """One problem with a request.

    Attributes:
        row: 0-based row index in the request; None for request-level problems.
        field: Column name; None for request-level problems.
        message: What is wrong and what is expected.
    """

    model_config = ConfigDict(frozen=True)

    row: int | None
    field: str | None
    message: str


class _BadValueError(Exception):
    """A value that does not fit its column; becomes a FieldError."""


class Column:
    """Checks and coerces one column's values; a subclass per logical type."""

    accepted: frozenset[type] = frozenset()  # exact types a value may have (orjson's types)
    expected = ""
    servable: Any = staticmethod(lambda dtype: False)  # can the dtype be built from values?

    def __init__(self, spec: ColumnSpec, dtype: Any, policy: UnseenPolicy) -> None:
        self.name = spec.name
        self.dtype = dtype
        # A numpy int or bool column cannot hold a missing value, whatever the spec says.
        self.nullable = spec.nullable and not (isinstance(dtype, np.dtype) and dtype.kind in "iub")
        self.fast_types = self.accepted | {_NONE_TYPE} if self.nullable else self.accepted
        self.range = _numeric_range(dtype)
        # Levels seen only in a small input example are no basis to reject a value.
        complete = spec.categories is not None and spec.categories_complete
        levels = self._levels(spec.categories) if complete and spec.categories else None
        self.known: frozenset[Any] | None = None if levels is None else levels | {None}
        self.pass_unseen = policy == "pass"
        self.levels_text = quoted(spec.categories or [], 10, "levels")

    def _levels(self, categories: list[str]) -> frozenset[Any]:
        return frozenset(categories)

    def _fast(self, values: Sequence[Any], types: set[type]) -> list[Any] | None:
        return list(values)

    def _one(self, value: Any) -> Any:
        if type(value) not in self.accepted:
            raise _BadValueError(f"expected {self.expected}, got {_show(value)}")
        if self.range is not None and not self.range[0] <= value <= self.range[1]:
            low, high = self.range
            raise _BadValueError(f"expected {self.expected} from {low} to {high}, got {value}")
        return value

    def check(self, values: Sequence[Any], limit: int) -> tuple[list[Any], list[FieldError], int]:
        """Coerce values; returns them, up to ``limit`` problems, and the unseen count."""
        types = set(map(type, values))
        out = self._fast(values, types) if types <= self.fast_types else None
        if out is not None and self.range is not None:
            present = [v for v in out if v is not None] if _NONE_TYPE in types else out
            if present and not self.range[0] <= min(present) <= max(present) <= self.range[1]:
                out = None
        if out is not None:
            if self.known is None or self.known.issuperset(out):
                return out, [], 0
            if self.pass_unseen:
                return out, [], sum(value not in self.known for value in out)
        return self._slow(values, limit)

    def _slow(self, values: Sequence[Any], limit: int) -> tuple[list[Any], list[FieldError], int]:
        out: list[Any] = []
        bad: list[FieldError] = []
        unseen = 0
        for row, value in enumerate(values):
            coerced, problem = None, None
            if value is None:
                problem = None if self.nullable else _NULL
            elif value is not MISSING:
                try:
                    coerced = self._one(value)
                except _BadValueError as exc:
                    problem = str(exc)
                if problem is None and self.known is not None and coerced not in self.known:
                    unseen += 1
                    if not self.pass_unseen:
                        problem = f"unseen category {coerced!r}; known {self.levels_text}"
            out.append(coerced)
            if problem is not None:
                bad.append(FieldError(row=row, field=self.name, message=problem))
                if len(bad) >= limit:
                    break
        return out, bad, unseen if self.pass_unseen else 0


class _Integer(Column):
    accepted = frozenset({int})
    expected = "an integer"
    servable = staticmethod(pd.api.types.is_integer_dtype)

    def _one(self, value: Any) -> Any:
        integral = type(value) is float and value.is_integer()
        return super()._one(int(value) if integral else value)


class _Float(Column):
    accepted = frozenset({float, int})
    expected = "a number"
    servable = staticmethod(pd.api.types.is_float_dtype)

    def _fast(self, values: Sequence[Any], types: set[type]) -> list[Any] | None:
        if int not in types:
            return list(values)
        try:
            return [float(v) if type(v) is int else v for v in values]
        except OverflowError:  # an int beyond any float: the slow path names it
            return None

    def _one(self, value: Any) -> Any:
        return float(super()._one(value))


class _Boolean(Column):
    accepted = frozenset({bool})
    expected = "true or false"
    servable = staticmethod(pd.api.types.is_bool_dtype)

    def _levels(self, categories: list[str]) -> frozenset[Any]:
        return frozenset(level == "True" for level in categories if level in ("True", "False"))


class _Text(Column):
    accepted = frozenset({str})
    expected = "a string"
    servable = staticmethod(lambda dtype: isinstance(dtype, pd.StringDtype | pd.CategoricalDtype))


class _Datetime(Column):
    accepted = frozenset({str})
    servable = staticmethod(pd.api.types.is_datetime64_any_dtype)

    def __init__(self, spec: ColumnSpec, dtype: Any, policy: UnseenPolicy) -> None:
        super().__init__(spec, dtype, policy)
        self.aware = isinstance(dtype, pd.DatetimeTZDtype) if dtype != _OBJECT else None
        unit = np.datetime_data(getattr(dtype, "base", dtype))[0] if dtype != _OBJECT else ""
        self.ns = unit == "ns"  # nanoseconds in an int64 span only the years 1677 to 2262
        example = "2024-05-01T12:30:00" + ("+00:00" if self.aware else "")
        self.expected = f"an ISO-8601 datetime string such as {example!r}"

    def _fast(self, values: Sequence[Any], types: set[type]) -> list[Any] | None:
        try:
            return [None if value is None else self._one(value) for value in values]
        except _BadValueError:
            return None

    def _one(self, value: Any) -> Any:
        try:
            parsed = datetime.fromisoformat(super()._one(value))
            aware = parsed.utcoffset() is not None
            if aware:  # UTC now, so pandas never has to shift a value past year 1 or 9999
                parsed = parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise _BadValueError(f"expected {self.expected}, got {_show(value)}") from None
        if self.aware is not None and aware != self.aware:
            offset = "with a UTC offset" if self.aware else "without a UTC offset"
            raise _BadValueError(f"expected {self.expected} ({offset}), got {value!r}")
        naive = parsed.replace(tzinfo=None)
        if self.ns and not pd.Timestamp.min <= naive <= pd.Timestamp.max:
            raise _BadValueError(
                f"expected a datetime from 1677-09-22 to 2262-04-11, got {value!r}"
            )
        return parsed


_KINDS: dict[str, type[Column]] = {
    "integer": _Integer,
    "float": _Float,
    "boolean": _Boolean,
    "string": _Text,
    "categorical": _Text,
    "datetime": _Datetime,
}


def column_for(spec: ColumnSpec, policy: UnseenPolicy) -> Column:
    """The checker for a signature column, or InvalidInputError if serving cannot build it."""
    try:
        dtype = (
            pd.CategoricalDtype(spec.categories)
            if spec.dtype == "category"
            else pd.api.types.pandas_dtype(spec.dtype)
        )
    except TypeError as exc:
        raise InvalidInputError(f"column {spec.name!r} has unknown dtype {spec.dtype!r}") from exc
    kind = _KINDS[spec.type]
    if dtype != _OBJECT and not kind.servable(dtype):
        raise InvalidInputError(
            f"column {spec.name!r} of type {spec.type} has dtype {spec.dtype!r}, "
            "which serving cannot rebuild from JSON values"
        )
    return kind(spec, dtype, policy)


def _numeric_range(dtype: Any) -> tuple[float, float] | None:
    """The values a numeric dtype holds; None for other dtypes."""
    numpy_dtype = getattr(dtype, "numpy_dtype", dtype)
    if not isinstance(numpy_dtype, np.dtype) or numpy_dtype.kind not in "iuf":
        return None
    if numpy_dtype.kind == "f":
        return float(np.finfo(numpy_dtype).min), float(np.finfo(numpy_dtype).max)
    return int(np.iinfo(numpy_dtype).min), int(np.iinfo(numpy_dtype).max)


def _show(value: object) -> str:
    text = repr(value)
    return f"{text if len(text) <= 40 else text[:37] + '...'} ({type(value).__name__})"


def quoted(names: Sequence[str], shown: int, noun: str) -> str:
    """The first ``shown`` names quoted, with the total count if there are more."""
    listed = ", ".join(repr(name) for name in names[:shown])
    more = f", ... ({len(names)} {noun} in all)" if len(names) > shown else ""
    return f"{noun}: {listed}{more}" if noun else f"{listed}{more}"
