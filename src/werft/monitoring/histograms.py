"""Compact, mergeable per-feature histograms against a training dataset's reference bins.

The prediction log computes one :class:`FeatureHistogram` per feature and
segment at write time; monitoring adds them up over a window (:func:`merge`,
:func:`merge_all`) and compares the sum with the reference, never re-reading
raw rows. Histograms are mergeable because every segment uses the same
:class:`FeatureSpec` — the bins of the model's training :class:`DatasetProfile`.

Numeric bins follow the profile: ``[lo, hi)`` except the last inner bin,
``[lo, hi]``, plus an underflow and an overflow bucket for values outside the
reference range. Categorical values are compared as strings (``str(value)``,
so booleans are ``"True"``/``"False"``), as in the profile. ``NaN`` and
missing values are nulls. Pure functions: no I/O.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer, model_validator

from werft.errors import InvalidInputError
from werft.tracking.datasets import DatasetProfile
from werft.tracking.entities import encode_float

DEFAULT_NUMERIC_BINS = 10
"""Equal-width bins of :func:`default_spec_for` for numeric data without a reference."""

DEFAULT_TOP_CATEGORIES = 20
"""Most frequent values :func:`default_spec_for` keeps for categorical data."""

Values: TypeAlias = pa.Array | pa.ChunkedArray | npt.NDArray[Any] | pd.Series | Sequence[Any]
"""What :func:`histogram` accepts: one column of values."""

_FloatArray = npt.NDArray[np.float64]
_NUMERIC_KINDS = frozenset("iuf")
_NUMERIC_INFERRED = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})


class FeatureSpec(BaseModel):
    """The fixed bins of one feature: numeric ``edges`` or categorical ``categories``.

    Numeric edges are non-decreasing, without NaN, and either empty (one
    bucket for every value) or at least two. Categories are distinct strings.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["numeric", "categorical"]
    edges: list[float] | None = None
    categories: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> FeatureSpec:
        if self.kind == "numeric":
            _check_edges(self.edges, self.categories)
        elif self.categories is None or self.edges is not None:
            raise ValueError("a categorical spec has categories and no edges")
        elif len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must be distinct")
        return self

    @field_serializer("edges", when_used="json")
    def _encode_edges(self, edges: list[float] | None) -> list[float | str] | None:
        return None if edges is None else [encode_float(edge) for edge in edges]


class FeatureHistogram(BaseModel):
    """Counts of one feature over some rows; two histograms on one spec add up.

    Numeric ``counts`` has ``len(edges) + 1`` buckets: below ``edges[0]``, one
    per reference bin, above ``edges[-1]``. Categorical ``counts`` has one per
    reference category plus a last one for every other value. ``total`` counts
    all rows: ``total == nulls + sum(counts)``. The numeric running statistics
    ``finite``, ``sum``, ``sum_sq``, ``min`` and ``max`` cover the finite values;
    the statistics are ``None`` while there are none, and ``finite`` is
    ``None`` for categorical features.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["numeric", "categorical"]
    edges: list[float] | None
    counts: list[int]
    categories: list[str] | None
    nulls: int
    total: int
    finite: int | None = None
    sum: float | None = None
    sum_sq: float | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check(self) -> FeatureHistogram:
        if self.kind == "numeric":
            _check_edges(self.edges, self.categories)
            assert self.edges is not None
            buckets = len(self.edges) + 1
        else:
            if self.categories is None or self.edges is not None:
                raise ValueError("a categorical histogram has categories and no edges")
            buckets = len(self.categories) + 1
        if len(self.counts) != buckets:
            raise ValueError(f"expected {buckets} counts, got {len(self.counts)}")
        if min(self.counts, default=0) < 0 or self.nulls < 0:
            raise ValueError("counts must not be negative")
        if self.total != self.nulls + sum(self.counts):
            raise ValueError("total must equal nulls plus the sum of counts")
        return self

    @field_serializer("edges", when_used="json")
    def _encode_edges(self, edges: list[float] | None) -> list[float | str] | None:
        return None if edges is None else [encode_float(edge) for edge in edges]

    @field_serializer("sum", "sum_sq", "min", "max", when_used="json")
    def _encode_stat(self, value: float | None) -> float | str | None:
        return None if value is None else encode_float(value)

    @property
    def spec(self) -> FeatureSpec:
        """The bins this histogram was counted on."""
        return FeatureSpec(kind=self.kind, edges=self.edges, categories=self.categories)

    @property
    def mean(self) -> float | None:
        """Mean of the finite values, ``None`` without any."""
        if not self.finite or self.sum is None:
            return None
        return self.sum / self.finite

    @property
    def std(self) -> float | None:
        """Sample standard deviation (``ddof=1``) of the finite values, from the running sums."""
        if self.finite is None or self.finite < 2 or self.sum is None or self.sum_sq is None:
            return None
        variance = (self.sum_sq - self.sum * self.sum / self.finite) / (self.finite - 1)
        return math.sqrt(max(variance, 0.0))


def _check_edges(edges: list[float] | None, categories: list[str] | None) -> None:
    if edges is None or categories is not None:
        raise ValueError("a numeric spec has edges and no categories")
    if len(edges) == 1:
        raise ValueError("numeric edges must be empty or at least two")
    if any(math.isnan(edge) for edge in edges):
        raise ValueError("numeric edges must not be NaN")
    if any(high < low for low, high in itertools.pairwise(edges)):
        raise ValueError("numeric edges must be non-decreasing")


def reference_spec(profile: Mapping[str, Any] | DatasetProfile) -> dict[str, FeatureSpec]:
    """The bins of every profiled column of a training dataset.

    Args:
        profile: A :class:`DatasetProfile` or its JSON form
            (``profile.model_dump(mode="json")``, infinite edges as
            ``"Infinity"``/``"-Infinity"``).

    Returns:
        Column name to spec: numeric columns get their ``bin_edges``, string,
        categorical and boolean columns their top values as categories.
        Datetime columns have no bins and are left out.

    Raises:
        InvalidInputError: ``profile`` is not a dataset profile.
    """
    try:
        parsed = DatasetProfile.model_validate(profile)
    except ValidationError as exc:
        raise InvalidInputError(
            f"not a dataset profile ({exc.error_count()} problems, first: "
            f"{exc.errors()[0]['msg']}); pass DatasetProfile.model_dump(mode='json')"
        ) from exc
    specs: dict[str, FeatureSpec] = {}
    for column in parsed.columns:
        if column.numeric is not None:
            specs[column.name] = FeatureSpec(kind="numeric", edges=column.numeric.bin_edges)
        elif column.categorical is not None:
            categories = [value for value, _ in column.categorical.top]
            specs[column.name] = FeatureSpec(kind="categorical", categories=categories)
    return specs


def is_numeric(values: Values) -> bool:
    """Whether a column holds numbers (booleans and all-null columns count as categorical)."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        kind = values.type
        return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))
    if isinstance(values, np.ndarray):
        return values.dtype.kind in _NUMERIC_KINDS
    if isinstance(values, pd.Series):
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
            return False
        if pd.api.types.is_numeric_dtype(dtype):
            return True
    return pd.api.types.infer_dtype(values, skipna=True) in _NUMERIC_INFERRED


def default_spec_for(
    values: Values,
    *,
    bins: int = DEFAULT_NUMERIC_BINS,
    top: int = DEFAULT_TOP_CATEGORIES,
) -> FeatureSpec:
    """Bins fitted to the data itself, for columns without a reference (e.g. model outputs).

    Numeric data gets ``bins`` equal-width bins between its finite minimum and
    maximum (``[v, v]`` for a constant, no edges without finite values); other
    data its ``top`` most frequent values (ties by value). Histograms on specs
    fitted to different data cannot be merged.
    """
    if is_numeric(values):
        numbers = _as_float(values)
        finite = numbers[np.isfinite(numbers)]
        if finite.size == 0:
            return FeatureSpec(kind="numeric", edges=[])
        low, high = float(finite.min()), float(finite.max())
        if low == high:
            return FeatureSpec(kind="numeric", edges=[low, low])
        with np.errstate(over="ignore", invalid="ignore"):
            edges = np.linspace(low, high, bins + 1)
        if not np.isfinite(edges).all():  # high - low overflows near ±1.8e308
            edges = np.array([low, high])
        edges[-1] = high  # linspace may round the last edge below the maximum
        return FeatureSpec(kind="numeric", edges=[float(edge) for edge in edges])
    keys, counts, _ = _distinct(values)
    totals: dict[str, int] = {}
    for key, count in zip(keys.to_pylist(), counts.tolist(), strict=True):
        totals[key] = totals.get(key, 0) + count
    best = heapq.nsmallest(top, totals.items(), key=lambda item: (-item[1], item[0]))
    return FeatureSpec(kind="categorical", categories=[key for key, _ in best])


def histogram(values: Values, spec: FeatureSpec, *, name: str = "") -> FeatureHistogram:
    """Count one column into the spec's bins (vectorised).

    Args:
        values: The column; numbers for a numeric spec (anything else, like a
            string that is not a number, counts as null), any values for a
            categorical spec.
        spec: The bins, usually from :func:`reference_spec`.
        name: The feature name the histogram carries.
    """
    if spec.kind == "numeric":
        assert spec.edges is not None
        return _numeric_histogram(_as_float(values), spec.edges, name)
    assert spec.categories is not None
    keys, counts, nulls = _distinct(values)
    categories = spec.categories
    index = pc.index_in(keys, value_set=pa.array(categories, pa.string()))
    slots = index.fill_null(len(categories)).to_numpy(zero_copy_only=False)
    bucketed = np.bincount(slots, weights=counts, minlength=len(categories) + 1)
    return FeatureHistogram(
        name=name,
        kind="categorical",
        edges=None,
        counts=[round(count) for count in bucketed],
        categories=list(categories),
        nulls=nulls,
        total=nulls + int(counts.sum()),
    )


def histograms(
    table: pa.Table | pd.DataFrame, specs: Mapping[str, FeatureSpec]
) -> dict[str, FeatureHistogram]:
    """One histogram per spec'd column; a column missing from ``table`` counts as all null."""
    if isinstance(table, pa.Table):
        rows, names = table.num_rows, set(table.column_names)
    else:
        rows, names = len(table), set(table.columns)
    result: dict[str, FeatureHistogram] = {}
    for name, spec in specs.items():
        column: Values = table[name] if name in names else pa.nulls(rows, type=pa.float64())
        result[name] = histogram(column, spec, name=name)
    return result


def merge(a: FeatureHistogram, b: FeatureHistogram) -> FeatureHistogram:
    """The histogram of both histograms' rows.

    Raises:
        ValueError: The histograms have different names, kinds, edges or categories.
    """
    return merge_all((a, b))


def merge_all(parts: Iterable[FeatureHistogram]) -> FeatureHistogram:
    """The histogram of all the parts' rows, e.g. of every segment in a window.

    Raises:
        ValueError: No parts, or parts with different names, kinds, edges or categories.
    """
    iterator = iter(parts)
    first = next(iterator, None)
    if first is None:
        raise ValueError("nothing to merge: no histograms given")
    counts = list(first.counts)
    nulls, total, finite = first.nulls, first.total, first.finite
    sum_, sum_sq, low, high = first.sum, first.sum_sq, first.min, first.max
    for part in iterator:
        _check_compatible(first, part)
        counts = [x + y for x, y in zip(counts, part.counts, strict=True)]
        nulls, total = nulls + part.nulls, total + part.total
        if part.finite is not None:
            finite = (finite or 0) + part.finite
        sum_, sum_sq = _add(sum_, part.sum), _add(sum_sq, part.sum_sq)
        low = part.min if low is None else low if part.min is None else min(low, part.min)
        high = part.max if high is None else high if part.max is None else max(high, part.max)
    return first.model_copy(
        update={
            "counts": counts,
            "nulls": nulls,
            "total": total,
            "finite": finite,
            "sum": sum_,
            "sum_sq": sum_sq,
            "min": low,
            "max": high,
        }
    )


def _check_compatible(a: FeatureHistogram, b: FeatureHistogram) -> None:
    for field in ("name", "kind", "edges", "categories"):
        if getattr(a, field) != getattr(b, field):
            raise ValueError(
                f"cannot merge histograms of {a.name!r} and {b.name!r}: their {field} differ "
                f"({getattr(a, field)!r} vs {getattr(b, field)!r}); only histograms counted "
                "on the same spec add up"
            )


def _add(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else a + b


def _numeric_histogram(numbers: _FloatArray, edges: list[float], name: str) -> FeatureHistogram:
    nulls = int(np.count_nonzero(np.isnan(numbers)))
    present = numbers.size - nulls
    if edges:
        # One comparison pass per edge is far cheaper than searchsorted per value;
        # NaN compares false everywhere, so nulls fall in no bucket.
        below = [int(np.count_nonzero(numbers < edge)) for edge in edges]
        at_or_below_last = int(np.count_nonzero(numbers <= edges[-1]))
        inner = np.diff([*below[:-1], at_or_below_last])
        counts = [below[0], *(int(count) for count in inner), present - at_or_below_last]
    else:
        counts = [present]
    finite_mask = np.isfinite(numbers)
    finite_count = int(np.count_nonzero(finite_mask))
    stats: dict[str, float | None] = dict.fromkeys(("sum", "sum_sq", "min", "max"))
    if finite_count:
        finite = numbers if finite_count == numbers.size else numbers[finite_mask]
        with np.errstate(over="ignore", invalid="ignore"):
            stats = {
                "sum": float(finite.sum()),
                "sum_sq": float(np.square(finite).sum()),  # np.dot: BLAS threads, slower
                "min": float(finite.min()),
                "max": float(finite.max()),
            }
    return FeatureHistogram(
        name=name,
        kind="numeric",
        edges=list(edges),
        counts=counts,
        categories=None,
        nulls=nulls,
        total=numbers.size,
        finite=finite_count,
        **stats,
    )


def _as_float(values: Values) -> _FloatArray:
    """The values as float64, NaN for nulls and for anything that is not a number."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        kind = values.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            cast = pc.cast(values, pa.float64(), safe=False)  # ints beyond 2**53 round
            return np.asarray(cast.to_numpy(zero_copy_only=False), dtype=np.float64)
        if pa.types.is_null(kind):
            return np.full(len(values), np.nan)
        values = values.to_pandas()
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.astype(np.float64)
    series = values if isinstance(values, pd.Series) else pd.Series(_as_list(values), dtype=object)
    if not (pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series)):
        series = pd.to_numeric(series, errors="coerce")
    numbers: _FloatArray = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return numbers


def _as_list(values: Values) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _distinct(values: Values) -> tuple[pa.Array, npt.NDArray[np.int64], int]:
    """Distinct non-null values as strings, their counts, and the null count (NaN is null)."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        counted = pc.value_counts(values)
        uniques, counts = counted.field("values"), counted.field("counts")
        if pa.types.is_string(uniques.type) or pa.types.is_large_string(uniques.type):
            valid = pc.is_valid(uniques)
            keys = uniques.filter(valid).cast(pa.string())
            present = np.asarray(counts.filter(valid).to_numpy(), dtype=np.int64)
            return keys, present, len(values) - int(present.sum())
        return _stringify(uniques.to_pylist(), counts.to_numpy(), len(values))
    series = values if isinstance(values, pd.Series) else pd.Series(_as_list(values), dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=len(uniques))
    return _stringify(list(uniques), counts, len(series))


def _stringify(
    uniques: list[Any], counts: npt.NDArray[np.integer[Any]], rows: int
) -> tuple[pa.Array, npt.NDArray[np.int64], int]:
    keys: list[str] = []
    kept: list[int] = []
    for value, count in zip(uniques, counts.tolist(), strict=True):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            continue
        keys.append(value if isinstance(value, str) else str(value))
        kept.append(count)
    present = np.asarray(kept, dtype=np.int64)
    return pa.array(keys, pa.string()), present, rows - int(present.sum())
