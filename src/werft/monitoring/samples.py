"""The columns of the two tables a drift check compares, in the form the statistics take.

A table is a pandas DataFrame or a pyarrow Table (a path is read with
:func:`werft.tracking.datasets.load_table`). A numeric column becomes its
finite values as one float64 array, without copying a float64 column that
has no missing values; a categorical column becomes its value counts.
``NaN``, ``None`` and ``±inf`` count as missing (as in Evidently). Categories
are compared as text (``str(value)``, so booleans are ``"True"``/``"False"``);
numbers forced to be categories are labelled so that ``1`` and ``1.0`` agree.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from werft.errors import InvalidInputError
from werft.monitoring.histograms import is_numeric
from werft.monitoring.stats import FloatArray
from werft.tracking.datasets import load_table

Table: TypeAlias = pd.DataFrame | pa.Table
TableLike: TypeAlias = pd.DataFrame | pa.Table | str | os.PathLike[str]
"""What :func:`werft.drift` compares: a DataFrame, a pyarrow Table or a Parquet/CSV path."""

Column: TypeAlias = pd.Series | pa.ChunkedArray
Kind = Literal["numeric", "categorical", "temporal"]


@dataclass(frozen=True)
class Numbers:
    """The finite values of a numeric column and how many rows were missing."""

    values: FloatArray
    missing: int


@dataclass(frozen=True)
class Counts:
    """How often each category occurs (label -> count), and how many rows were missing."""

    counts: dict[str, int]
    missing: int


def load(data: TableLike, side: str) -> Table:
    """The table behind ``data``.

    Raises:
        InvalidInputError: ``data`` is no table and no path to a .parquet/.csv file.
        NotFoundError: The file does not exist.
    """
    if isinstance(data, pd.DataFrame | pa.Table):
        return data
    if not isinstance(data, str | os.PathLike):
        raise InvalidInputError(
            f"the {side} data is a {type(data).__name__}; pass a pandas DataFrame, a pyarrow "
            "Table or the path of a .parquet or .csv file"
        )
    frame, _ = load_table(data)
    return frame


def names(table: Table) -> list[str]:
    """The column names, as text."""
    if isinstance(table, pa.Table):
        return list(table.column_names)
    return [str(name) for name in table.columns]


def rows(table: Table) -> int:
    return table.num_rows if isinstance(table, pa.Table) else len(table)


def column(table: Table, name: str) -> Column:
    """One column by its name as text (a DataFrame's labels may be numbers)."""
    if isinstance(table, pa.Table):
        return table.column(name)
    label = next(label for label in table.columns if str(label) == name)
    series: pd.Series = table[label]
    return series


def kind_of(values: Column) -> Kind:
    """Numeric (integers, floats), temporal (dates, times, durations) or categorical (the rest)."""
    if isinstance(values, pa.ChunkedArray):
        kind = values.type
        if pa.types.is_temporal(kind):
            return "temporal"
    else:
        dtype = values.dtype
        if (
            pd.api.types.is_datetime64_any_dtype(dtype)
            or pd.api.types.is_timedelta64_dtype(dtype)
            or isinstance(dtype, pd.PeriodDtype)
        ):
            return "temporal"
    return "numeric" if is_numeric(values) else "categorical"


def numbers(values: Column) -> Numbers:
    """The finite values as float64 (anything that is not a number counts as missing)."""
    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_null(values.type):
            return Numbers(np.empty(0), len(values))
        cast = pc.cast(values, pa.float64(), safe=False)
        array = np.asarray(cast.to_numpy(), dtype=np.float64)
    else:
        series = values
        if not (pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series)):
            series = pd.to_numeric(series, errors="coerce")
        array = series.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        clean = math.isfinite(float(array.sum()))
    if clean:  # no NaN and no infinity: the sum says so in one pass, without a mask
        return Numbers(array, 0)
    finite = array[np.isfinite(array)]
    return Numbers(finite, array.size - finite.size)


def counts(values: Column, *, numeric: bool) -> Counts:
    """Value counts by label; ``numeric`` labels numbers alike across int and float columns."""
    if numeric:
        found = numbers(values)
        uniques, tally = np.unique(found.values, return_counts=True)
        labels = [number_label(value) for value in uniques.tolist()]
        return Counts(dict(zip(labels, tally.tolist(), strict=True)), found.missing)
    if isinstance(values, pa.ChunkedArray):
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        counted = pc.value_counts(values)
        keys: list[Any] = counted.field("values").to_pylist()
        tally = counted.field("counts").to_numpy()
    else:
        found_counts = values.value_counts(dropna=True, sort=False)
        keys, tally = found_counts.index.tolist(), found_counts.to_numpy()
    result: dict[str, int] = {}
    for key, count in zip(keys, tally.tolist(), strict=True):
        if count and not _is_missing(key):
            label = key if isinstance(key, str) else str(key)
            result[label] = result.get(label, 0) + count
    return Counts(result, len(values) - sum(result.values()))


def distinct_numbers(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The distinct values and how often each occurs."""
    uniques, tally = np.unique(values, return_counts=True)
    return uniques, tally.astype(np.float64)


def number_label(value: float) -> str:
    """``1.0`` as ``"1"``, ``0.5`` as ``"0.5"``: a number as a category."""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
