"""Describe a table as a dataset version: content hash, schema, row count and profile.

Pure functions over pandas: nothing here touches the database or the network.
The profile is the reference that drift detection later compares against, so
it keeps quantile bins for numeric columns and value frequencies for the rest.
All work is vectorised per column; Python only loops over columns, bin edges
and (for the top-values tie-break) distinct values.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, field_serializer

from werft.errors import InvalidInputError, NotFoundError
from werft.tracking.entities import encode_float

ColumnType = Literal["integer", "float", "boolean", "string", "categorical", "datetime"]

QUANTILES: tuple[str, ...] = ("0.01", "0.05", "0.25", "0.5", "0.75", "0.95", "0.99")
"""Quantile keys of :class:`NumericStats`."""

TOP_VALUES = 50
"""How many of the most frequent values :class:`CategoricalStats` keeps."""

FEW_VALUES = 10
"""Up to this many distinct values a numeric column gets one profile bin per value."""

# Built as i/10 rather than linspace so 0.3 is 0.3, matching np.quantile(x, 0.3).
_DECILES: tuple[float, ...] = tuple(i / 10 for i in range(11))
_PROBS = np.array(sorted({*_DECILES, *(float(q) for q in QUANTILES)}))
_DECILE_AT = np.searchsorted(_PROBS, _DECILES)
_QUANTILE_AT = np.searchsorted(_PROBS, [float(q) for q in QUANTILES])

# Bumped whenever the canonical byte layout changes, so old and new digests never collide.
_DIGEST_DOMAIN = b"werft-dataset-digest-v1\n"
_INT64_MAX = np.iinfo(np.int64).max

_SUPPORTED = "expected a pandas DataFrame or a path to a .parquet, .pq, .csv or .csv.gz file"

_FloatArray = npt.NDArray[np.float64]
_ObjectArray = npt.NDArray[np.object_]
# A column in canonical form: type marker, fixed-width values (0 where null), null mask.
_Canonical = tuple[str, npt.NDArray[np.generic], npt.NDArray[np.bool_]]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ColumnSchema(_Frozen):
    """One column's name and types, as found in the data."""

    name: str
    type: ColumnType
    dtype: str
    nullable: bool


class NumericStats(_Frozen):
    """Distribution of an integer or float column.

    ``NaN`` is null. ``±inf`` are values: included in ``min``/``max`` and in the
    outer bins (``-inf`` first, ``+inf`` last), excluded from ``mean``, ``std``
    (sample, ``ddof=1``), ``quantiles`` (numpy's linear method) and the edges.
    Infinite ``min``/``max``/edges serialise to JSON as ``"Infinity"`` or
    ``"-Infinity"``, which the float fields parse back.

    ``bin_edges`` are the deciles of the finite values without duplicates (a
    constant column gets ``[v, v]``; a column of only infinities ``[min, max]``).
    Where deciles coincide and the column has at most :data:`FEW_VALUES`
    distinct finite values (flags, small counts), the edges are the midpoints
    between those values plus the smallest and largest: one bin per value.
    Bins are ``[lo, hi)`` except the last, ``[lo, hi]``, so ``sum(bin_counts)``
    is the non-null count.
    """

    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    quantiles: dict[str, float]
    bin_edges: list[float]
    bin_counts: list[int]

    @field_serializer("min", "max", when_used="json")
    def _encode_extreme(self, value: float | None) -> float | str | None:
        return None if value is None else encode_float(value)

    @field_serializer("bin_edges", when_used="json")
    def _encode_edges(self, edges: list[float]) -> list[float | str]:
        return [encode_float(edge) for edge in edges]


class CategoricalStats(_Frozen):
    """Value frequencies of a string, categorical or boolean column.

    Values are compared as strings (``str(value)``), so a mixed-type object
    column is profiled as text and booleans appear as ``"True"``/``"False"``.
    """

    distinct: int
    top: list[tuple[str, int]]
    other_count: int


class ColumnProfile(_Frozen):
    """Statistics of one column; which part is filled depends on its type."""

    name: str
    type: ColumnType
    count: int
    null_count: int
    numeric: NumericStats | None = None
    categorical: CategoricalStats | None = None
    datetime_min: str | None = None
    datetime_max: str | None = None


class DatasetProfile(_Frozen):
    """Statistics of every column, in column order."""

    row_count: int
    columns: list[ColumnProfile]


class DatasetDescription(_Frozen):
    """What a dataset version records about its table (the ``schema`` key on the wire)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    digest: str
    row_count: int
    schema_: list[ColumnSchema] = Field(alias="schema")
    profile: DatasetProfile
    source_uri: str | None


def load_table(data: pd.DataFrame | str | os.PathLike[str]) -> tuple[pd.DataFrame, str | None]:
    """The table behind ``data`` and, for a file, its ``file://`` URI.

    Args:
        data: A DataFrame (returned as is), or the path of a Parquet (``.parquet``,
            ``.pq``) or CSV (``.csv``, ``.csv.gz``) file.

    Returns:
        The DataFrame and the absolute file URI, or ``None`` for a DataFrame.

    Raises:
        InvalidInputError: ``data`` is neither a DataFrame nor a path with a
            supported suffix, or the file cannot be parsed.
        NotFoundError: The file does not exist.
    """
    if isinstance(data, pd.DataFrame):
        return data, None
    if not isinstance(data, str | os.PathLike):
        raise InvalidInputError(f"cannot read a table from {type(data).__name__}; {_SUPPORTED}")
    path = Path(data).expanduser()
    name = path.name.lower()
    if not name.endswith((".parquet", ".pq", ".csv", ".csv.gz")):
        raise InvalidInputError(f"unsupported file {path.name!r}; {_SUPPORTED}")
    if not path.is_file():
        raise NotFoundError(f"no such file: {path}")
    try:
        if name.endswith((".parquet", ".pq")):
            frame = pq.read_table(path).to_pandas()
        else:
            # low_memory=False: chunked type guessing can give one column mixed types.
            frame = pd.read_csv(path, low_memory=False)
    except (OSError, ValueError, UnicodeDecodeError, pa.ArrowException) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    return frame, path.resolve().as_uri()


def dataset_digest(df: pd.DataFrame) -> str:
    """Content hash of a table: ``sha256:<hex>``.

    The hash covers the row count, each column's name and logical type
    (:data:`ColumnType`) and its values in a canonical form; the index is
    ignored. Canonical means independent of the physical representation:
    ``int32``/``int64``/``Int64``, ``float32``/``float64``, ``object``/``str``
    strings and datetime resolutions hash alike when the values are equal, so
    a DataFrame, its Parquet file and (when the types survive) its CSV agree.
    """
    digest = hashlib.sha256(_DIGEST_DOMAIN + len(df).to_bytes(8, "little"))
    for name, series in df.items():
        column_type = _column_type(series)
        marker, values, nulls = _canonical_values(series, column_type)
        label = json.dumps([str(name), column_type, marker]).encode()
        # The label is length-prefixed and the values have a width fixed by the type and
        # the row count, so no two different tables feed the same byte stream.
        digest.update(len(label).to_bytes(8, "little") + label)
        digest.update(values.data)
        digest.update(np.packbits(nulls).data)
    return f"sha256:{digest.hexdigest()}"


def infer_schema(df: pd.DataFrame) -> list[ColumnSchema]:
    """Name, logical type, dtype text and nullability of every column, in order."""
    schema: list[ColumnSchema] = []
    for name, series in df.items():
        column_type = _column_type(series)
        # Masked Float64 can hold NaN besides NA; both are missing here.
        nulls = np.isnan(_float_values(series)) if column_type == "float" else series.isna()
        dtype, nullable = str(series.dtype), bool(nulls.any())
        schema.append(
            ColumnSchema(name=str(name), type=column_type, dtype=dtype, nullable=nullable)
        )
    return schema


def profile_frame(df: pd.DataFrame) -> DatasetProfile:
    """Per-column statistics of ``df``, the reference for later drift checks.

    Integer and float columns get :class:`NumericStats`; string, categorical
    and boolean columns get :class:`CategoricalStats`; datetime columns get
    their ISO-formatted minimum and maximum. Columns without any non-null
    value get empty statistics (``None`` values, empty lists) of their kind.
    """
    columns = [_profile_column(str(name), series) for name, series in df.items()]
    return DatasetProfile(row_count=len(df), columns=columns)


def describe(
    data: pd.DataFrame | str | os.PathLike[str], *, source_uri: str | None = None
) -> tuple[pd.DataFrame, DatasetDescription]:
    """Load ``data`` and describe it: digest, row count, schema and profile.

    Args:
        data: A DataFrame or a path accepted by :func:`load_table`.
        source_uri: Where the data came from; overrides the file URI that
            :func:`load_table` derives.

    Returns:
        The loaded DataFrame and its description.

    Raises:
        InvalidInputError: As :func:`load_table`.
        NotFoundError: As :func:`load_table`.
    """
    frame, loaded_uri = load_table(data)
    description = DatasetDescription(
        digest=dataset_digest(frame),
        row_count=len(frame),
        schema_=infer_schema(frame),
        profile=profile_frame(frame),
        source_uri=source_uri if source_uri is not None else loaded_uri,
    )
    return frame, description


def _column_type(series: pd.Series) -> ColumnType:
    dtype = series.dtype
    # Categorical first: the bool/number checks would look through to its categories.
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    # Object, str and anything exotic (timedelta, period, decimal...) is treated as text.
    return "string"


def _float_values(series: pd.Series) -> _FloatArray:
    values: _FloatArray = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def _canonical_values(series: pd.Series, column_type: ColumnType) -> _Canonical:
    """The column as :data:`_Canonical`, little-endian, independent of its physical dtype."""
    if column_type == "float":
        values = _float_values(series)
        nulls = np.isnan(values)
        # Adding 0.0 turns -0.0 into 0.0, so equal numbers give equal bytes.
        return "", np.where(nulls, 0.0, values + 0.0).astype("<f8"), nulls
    nulls = series.isna().to_numpy(dtype=np.bool_)
    if column_type == "boolean":
        return "", series.to_numpy(dtype=np.bool_, na_value=False).astype(np.uint8), nulls
    if column_type == "integer":
        if pd.api.types.is_unsigned_integer_dtype(series.dtype):
            unsigned = series.to_numpy(dtype=np.uint64, na_value=0)
            if unsigned.size and unsigned.max() > _INT64_MAX:
                return "uint64", unsigned.astype("<u8"), nulls
        return "", series.to_numpy(dtype=np.int64, na_value=0).astype("<i8"), nulls
    if column_type == "datetime":
        return _canonical_datetimes(series, nulls)
    codes, keys, _ = _factorize_as_text(series)
    if keys.size == 0:
        return "", np.zeros(len(series), dtype="<u8"), nulls
    key_hashes = pd.util.hash_array(keys, categorize=False)
    return "", np.where(codes >= 0, key_hashes[codes], 0).astype("<u8"), nulls


def _canonical_datetimes(series: pd.Series, nulls: npt.NDArray[np.bool_]) -> _Canonical:
    timezone = series.dt.tz
    if timezone is not None:
        # The instant is the value; the zone is part of the type.
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    # Beyond 1677-2262 nanoseconds overflow; then the native unit is hashed and named.
    with contextlib.suppress(ValueError, OverflowError):
        series = series.dt.as_unit("ns")
    unit = str(series.dt.unit)
    ticks = series.to_numpy(dtype=f"datetime64[{unit}]").view(np.int64)
    marker = unit if timezone is None else f"{unit}|{timezone}"
    return marker, np.where(nulls, 0, ticks).astype("<i8"), nulls


def _factorize_as_text(series: pd.Series) -> tuple[npt.NDArray[np.intp], _ObjectArray, bool]:
    """Codes (-1 for null), the distinct non-null values as text, and whether any was not text.

    Distinct values that render as the same text (``1`` and ``"1"`` in an object
    column) keep separate codes but get equal keys.
    """
    codes, uniques = pd.factorize(series)
    keys = np.asarray(uniques, dtype=object)
    converted = pd.api.types.infer_dtype(keys, skipna=False) not in ("string", "empty")
    if converted:
        keys = np.asarray(pd.Index(keys, dtype=object).astype(str), dtype=object)
    return np.asarray(codes, dtype=np.intp), keys, converted


def _profile_column(name: str, series: pd.Series) -> ColumnProfile:
    column_type = _column_type(series)
    stats: dict[str, Any]
    if column_type in ("integer", "float"):
        values = _float_values(series)
        present = values[~np.isnan(values)]
        null_count, stats = values.size - present.size, {"numeric": _numeric_stats(present)}
    elif column_type == "datetime":
        null_count, low, high = int(series.isna().sum()), series.min(), series.max()
        stats = {
            "datetime_min": None if pd.isna(low) else pd.Timestamp(low).isoformat(),
            "datetime_max": None if pd.isna(high) else pd.Timestamp(high).isoformat(),
        }
    else:
        null_count, stats = int(series.isna().sum()), {"categorical": _categorical_stats(series)}
    count = len(series) - null_count
    return ColumnProfile(name=name, type=column_type, count=count, null_count=null_count, **stats)


def _numeric_stats(present: _FloatArray) -> NumericStats:
    """Statistics of the non-null values of a numeric column (see :class:`NumericStats`)."""
    empty = NumericStats(
        min=None, max=None, mean=None, std=None, quantiles={}, bin_edges=[], bin_counts=[]
    )
    if present.size == 0:
        return empty
    low, high = float(present.min()), float(present.max())
    finite = present[np.isfinite(present)]
    below = int(np.count_nonzero(present == -np.inf))
    above = present.size - finite.size - below
    if finite.size == 0:
        # Only infinities: a single bin spanning them keeps the count invariant.
        update = {"min": low, "max": high, "bin_edges": [low, high], "bin_counts": [present.size]}
        return empty.model_copy(update=update)
    cuts = _quantiles(finite)
    edges = np.unique(cuts[_DECILE_AT])
    if edges.size < len(_DECILE_AT):
        edges = _few_value_edges(finite) if edges.size > 1 else np.repeat(edges, 2)
    # One comparison pass per interior edge is far cheaper than searchsorted per value.
    below_edge = [int(np.count_nonzero(finite < edge)) for edge in edges[1:-1]]
    counts = np.diff([0, *below_edge, finite.size])
    counts[0] += below
    counts[-1] += above
    with np.errstate(over="ignore", invalid="ignore"):
        mean = _finite_or_none(float(np.mean(finite)))
        std = _finite_or_none(float(np.std(finite, ddof=1))) if finite.size > 1 else None
    return NumericStats(
        min=low,
        max=high,
        mean=mean,
        std=std,
        quantiles={key: float(cuts[at]) for key, at in zip(QUANTILES, _QUANTILE_AT, strict=True)},
        bin_edges=[float(edge) for edge in edges],
        bin_counts=[int(count) for count in counts],
    )


def _few_value_edges(finite: _FloatArray) -> _FloatArray:
    """One bin per value for a column of a few distinct values (flags, small counts).

    Deciles of such a column collapse (a 0/1 flag would get the one bin
    ``[0, 1]``, in which no change of the flag's share shows), so the edges
    become the midpoints between the values, plus the smallest and largest.
    Columns with more than :data:`FEW_VALUES` distinct values keep their deciles.
    """
    values = np.sort(pd.unique(finite))
    if values.size > FEW_VALUES:
        return np.unique(_quantiles(finite)[_DECILE_AT])
    return np.concatenate(([values[0]], (values[:-1] + values[1:]) / 2, [values[-1]]))


def _quantiles(finite: _FloatArray) -> _FloatArray:
    """``np.quantile`` at :data:`_PROBS`, finite even for values beyond ±9e307."""
    with np.errstate(over="ignore", invalid="ignore"):
        cuts: _FloatArray = np.quantile(finite, _PROBS)
    if not np.isfinite(cuts).all():
        # Interpolation computes b - a, which overflows for such values; halving is exact.
        cuts = np.quantile(finite * 0.5, _PROBS) * 2.0
    return cuts


def _finite_or_none(value: float) -> float | None:
    # Sums and squares of huge finite values overflow to inf; that is no usable statistic.
    return value if np.isfinite(value) else None


def _categorical_stats(series: pd.Series) -> CategoricalStats:
    codes, keys, converted = _factorize_as_text(series)
    counts = np.bincount(codes[codes >= 0], minlength=keys.size).astype(np.int64)
    if converted and not pd.Index(keys, dtype=object).is_unique:
        merged = pd.Series(counts).groupby(keys, sort=False).sum()
        keys = np.asarray(merged.index, dtype=object)
        counts = merged.to_numpy(dtype=np.int64)
    top = _top_values(keys, counts)
    kept = sum(count for _, count in top)
    return CategoricalStats(distinct=keys.size, top=top, other_count=int(counts.sum()) - kept)


def _top_values(keys: _ObjectArray, counts: npt.NDArray[np.int64]) -> list[tuple[str, int]]:
    """The :data:`TOP_VALUES` most frequent keys, most frequent first, ties by key."""
    if keys.size > TOP_VALUES:
        threshold = int(np.partition(counts, keys.size - TOP_VALUES)[keys.size - TOP_VALUES])
        surely_in = counts > threshold
        items = list(zip(keys[surely_in].tolist(), counts[surely_in].tolist(), strict=True))
        # Keys are distinct, so the smallest tied keys settle the tie-break; a
        # heap keeps this linear even for an all-distinct (ID-like) column.
        tied = heapq.nsmallest(TOP_VALUES - len(items), keys[counts == threshold].tolist())
        items.extend((key, threshold) for key in tied)
    else:
        items = list(zip(keys.tolist(), counts.tolist(), strict=True))
    items.sort(key=lambda item: (-item[1], item[0]))
    return [(str(key), int(count)) for key, count in items]
