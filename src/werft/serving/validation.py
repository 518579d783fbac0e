"""Prediction requests checked against a model's signature, and batches turned into frames.

``werft serve`` validates each request on plain Python values (as orjson parsed them), so a
bad request fails alone with every problem listed and never breaks a micro-batch; then
:meth:`RequestValidator.to_frame` builds one DataFrame per batch with the training dtypes.
Requests are ``{"rows": [{"tenure": 12, ...}, ...]}`` or ``{"columns": ["tenure", ...],
"data": [[12, ...], ...]}``; other top-level keys (pandas' split ``"index"``) are ignored.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import pandas as pd

from werft.errors import InvalidInputError
from werft.registry.signature import Signature
from werft.serving.columns import MISSING, FieldError, UnseenPolicy, column_for, quoted

__all__ = ["FieldError", "RequestInvalid", "RequestValidator", "UnseenPolicy", "ValidatedRows"]

_SHAPES = (
    'send {"rows": [{"column": value, ...}, ...]} '
    'or {"columns": ["column", ...], "data": [[value, ...], ...]}'
)


class RequestInvalid(InvalidInputError):  # noqa: N818 - named after what the client sent
    """Raised with every problem found (up to a cap), so the client can fix them all at once.

    Attributes:
        errors: The problems, request-level ones first, then by row and signature column order.
        truncated: True when validation stopped at the cap and more problems may exist.
    """

    def __init__(self, errors: Sequence[FieldError], *, truncated: bool = False) -> None:
        self.errors = list(errors)
        self.truncated = truncated
        super().__init__(_summary(self.errors, truncated))


@dataclass(frozen=True, slots=True)
class ValidatedRows:
    """A request's values, checked and coerced, column by column.

    Attributes:
        columns: Values per column in signature order: int, float, bool, str, ``datetime``
            or None.
        n_rows: Number of rows.
        unseen: Count of unseen category values per column (policy ``"pass"`` only).
    """

    columns: dict[str, list[Any]]
    n_rows: int
    unseen: dict[str, int]


# Raw values per signature column, the row count, and the problems found so far.
_Extracted = tuple[list[Sequence[Any]], int, list[FieldError]]


class RequestValidator:
    """Validates prediction requests against a signature and builds batch DataFrames.

    Args:
        signature: The model version's signature.
        unseen_categories: ``"reject"`` a value outside a column's known levels, or
            ``"pass"`` it to the model and count it in :attr:`ValidatedRows.unseen`.  A
            ``category`` column cannot hold an unseen level: :meth:`to_frame` makes it missing.
        max_rows: Most rows accepted in one request.
        max_errors: Most problems reported for one request.

    Raises:
        InvalidInputError: The signature has no inputs, a dtype serving cannot rebuild, or
            a limit is below 1.
    """

    def __init__(
        self,
        signature: Signature,
        *,
        unseen_categories: UnseenPolicy = "reject",
        max_rows: int = 100_000,
        max_errors: int = 100,
    ) -> None:
        if unseen_categories not in ("reject", "pass"):
            raise InvalidInputError("unseen_categories must be 'reject' or 'pass'")
        if max_rows < 1 or max_errors < 1 or not signature.inputs:
            raise InvalidInputError("need at least one input column, max_rows and max_errors")
        self._columns = [column_for(spec, unseen_categories) for spec in signature.inputs]
        self._names = signature.column_names
        self._keys = frozenset(self._names)
        self._positions = {name: k for k, name in enumerate(self._names)}
        self._getter = itemgetter(*self._names)
        self._max_rows = max_rows
        self._max_errors = max_errors
        self._expected = quoted(self._names, 20, "columns")

    def validate(self, payload: object) -> ValidatedRows:
        """Check a parsed JSON request and coerce its values.

        Args:
            payload: The request body, parsed (e.g. by ``orjson.loads``).

        Returns:
            The values per column, in signature order.

        Raises:
            RequestInvalid: With every problem found, up to ``max_errors``.
        """
        if not isinstance(payload, dict):
            raise _request(f"the request must be a JSON object, got {type(payload).__name__}")
        has_split = "columns" in payload or "data" in payload
        if "rows" in payload:
            if has_split:
                raise _request("the request has both 'rows' and 'columns'/'data'")
            raw, n_rows, problems = self._records(payload["rows"])
        elif "columns" in payload and "data" in payload:
            raw, n_rows, problems = self._split(payload["columns"], payload["data"])
        elif has_split:
            raise _request("the request needs both 'columns' and 'data'")
        else:
            raise _request("the request has neither 'rows' nor 'columns' and 'data'")
        return self._check(raw, n_rows, problems)

    def to_frame(self, parts: Sequence[ValidatedRows]) -> pd.DataFrame:
        """Build one DataFrame from validated requests, rows in order, with training dtypes.

        Args:
            parts: Requests validated by this validator.

        Returns:
            Columns in signature order, each with its signature dtype.
        """
        data: dict[str, Any] = {}
        for column in self._columns:
            name = column.name
            chunks = [part.columns[name] for part in parts]
            values = chunks[0] if len(chunks) == 1 else list(itertools.chain.from_iterable(chunks))
            known = column.known if isinstance(column.dtype, pd.CategoricalDtype) else None
            if known is not None and any(name in part.unseen for part in parts):
                # A category dtype cannot hold a level it does not list: pass it as missing.
                values = [value if value in known else None for value in values]
            data[name] = pd.array(values, dtype=column.dtype)
        return pd.DataFrame(data, copy=False)

    def _count(self, n_rows: int) -> None:
        if n_rows == 0:
            raise _request("the request has no rows")
        if n_rows > self._max_rows:
            raise _request(
                f"the request has {n_rows} rows, more than the {self._max_rows} allowed; "
                "split it into smaller requests",
                shapes=False,
            )

    def _records(self, rows: object) -> _Extracted:
        if not isinstance(rows, list):
            raise _request(f"'rows' must be a list of objects, got {type(rows).__name__}")
        self._count(len(rows))
        if set(map(type, rows)) != {dict}:
            bad = next((i for i, row in enumerate(rows) if not isinstance(row, dict)), None)
            if bad is not None:
                raise _request(f"rows[{bad}] must be an object, got {type(rows[bad]).__name__}")
        if set(map(len, rows)) == {len(self._names)}:
            try:  # exactly the expected keys: transpose in C
                if len(self._names) == 1:
                    return [list(map(self._getter, rows))], len(rows), []
                return list(zip(*map(self._getter, rows), strict=True)), len(rows), []
            except KeyError:
                pass
        return self._records_slow(rows)

    def _records_slow(self, rows: list[dict[Any, Any]]) -> _Extracted:
        problems: list[FieldError] = []
        for i, row in enumerate(rows):
            if len(problems) > self._max_errors:
                break
            if row.keys() == self._keys:
                continue
            problems.extend(
                FieldError(row=i, field=name, message=f"missing column {name!r}")
                for name in self._names
                if name not in row
            )
            problems.extend(self._unknown(i, key) for key in row.keys() - self._keys)
        raw: list[Sequence[Any]] = [
            [row.get(name, MISSING) for row in rows] for name in self._names
        ]
        return raw, len(rows), problems

    def _split(self, columns: object, data: object) -> _Extracted:
        if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
            raise _request("'columns' must be a list of column names")
        if len(set(columns)) != len(columns):
            twice = sorted({name for name in columns if columns.count(name) > 1})
            raise _request(f"'columns' names {quoted(twice, 20, '')} more than once")
        if not isinstance(data, list):
            raise _request(f"'data' must be a list of lists, got {type(data).__name__}")
        self._count(len(data))
        width = len(columns)
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) != width:
                got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
                raise _request(
                    f"data[{i}] must be a list of {width} values, one per name in "
                    f"'columns'; got {got}"
                )
        by_name = dict(zip(columns, zip(*data, strict=True), strict=True)) if width else {}
        problems = [self._unknown(None, name) for name in columns if name not in self._keys]
        missing = (MISSING,) * len(data)
        problems += [
            FieldError(row=None, field=name, message=f"missing column {name!r}")
            for name in self._names
            if name not in by_name
        ]
        return [by_name.get(name, missing) for name in self._names], len(data), problems

    def _order(self, error: FieldError) -> tuple[int, int]:
        """Request-level problems first, then by row, then in signature column order."""
        row = -1 if error.row is None else error.row
        return row, self._positions.get(error.field or "", len(self._names))

    def _unknown(self, row: int | None, key: object) -> FieldError:
        message = f"unknown column {key!r}; expected {self._expected}"
        return FieldError(row=row, field=str(key), message=message)

    def _check(
        self, raw: list[Sequence[Any]], n_rows: int, problems: list[FieldError]
    ) -> ValidatedRows:
        columns: dict[str, list[Any]] = {}
        unseen: dict[str, int] = {}
        for column, values in zip(self._columns, raw, strict=True):
            out, bad, count = column.check(values, self._max_errors + 1)
            columns[column.name] = out
            if count:
                unseen[column.name] = count
            problems += bad
        if problems:
            problems.sort(key=self._order)
            truncated = len(problems) > self._max_errors
            raise RequestInvalid(problems[: self._max_errors], truncated=truncated)
        return ValidatedRows(columns=columns, n_rows=n_rows, unseen=unseen)


def _request(problem: str, *, shapes: bool = True) -> RequestInvalid:
    message = f"{problem}; {_SHAPES}" if shapes else problem
    return RequestInvalid([FieldError(row=None, field=None, message=message)])


def _summary(errors: list[FieldError], truncated: bool) -> str:
    if all(error.field is None for error in errors) and not truncated:
        return "; ".join(error.message for error in errors)
    rows = {error.row for error in errors if error.row is not None}
    count = f"{len(errors)}{'+' if truncated else ''} invalid field{'s' * (len(errors) != 1)}"
    where = f" in {len(rows)} row{'s' * (len(rows) != 1)}" if rows else ""
    shown = "; ".join(_described(error) for error in errors[:5])
    more = "; ... and more" if truncated or len(errors) > 5 else ""
    return f"{count}{where}: {shown}{more}"


def _described(error: FieldError) -> str:
    place = "" if error.row is None else f"row {error.row} "
    field = "" if error.field is None else f"{error.field!r}: "
    return f"{place}{field}{error.message}"
