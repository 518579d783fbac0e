"""A model's signature: the input columns it takes and the output it gives.

The signature is inferred from an input example when a model is packaged, travels in the
package manifest, and lets serving check requests and build ONNX inputs without the
training code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from werft.errors import InvalidInputError

ColumnType = Literal["integer", "float", "boolean", "string", "categorical", "datetime"]
"""The logical type of an input column."""

_LEVELLED: frozenset[str] = frozenset({"string", "categorical", "boolean"})

# pandas.api.types.infer_dtype results for object columns, mapped to werft column types.
_INFERRED: dict[str, ColumnType] = {
    "string": "string",
    "empty": "string",
    "boolean": "boolean",
    "integer": "integer",
    "floating": "float",
    "mixed-integer-float": "float",
    "decimal": "float",
    "datetime": "datetime",
    "datetime64": "datetime",
    "date": "datetime",
    "categorical": "categorical",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ColumnSpec(_Frozen):
    """One input column.

    Attributes:
        name: Column name.
        type: Logical type.
        dtype: The pandas dtype seen in the input example, e.g. ``"int64"`` or ``"str"``.
        nullable: True when the example (or the training data) had a missing value.
        categories: Levels seen, for string, categorical and boolean columns.
        categories_complete: True when ``categories`` is the full set of levels the
            model was trained on (a pandas category dtype, or the training dataset's
            profile); only then does serving treat other values as unseen. Levels seen
            in a 20-row input example alone are not the full set.
    """

    name: str
    type: ColumnType
    dtype: str
    nullable: bool
    categories: list[str] | None = None
    categories_complete: bool = True


class OutputSpec(_Frozen):
    """What ``predict`` returns.

    Attributes:
        kind: ``"classifier"`` (the model has ``classes_``), ``"regressor"`` (float
            predictions, no ``predict_proba``) or ``"other"``.
        dtype: The numpy dtype of ``predict``'s output on the example.
        classes: A classifier's classes, in ``predict_proba`` column order.
        probability_columns: Names for ``predict_proba``'s columns, e.g. ``["proba_0",
            "proba_1"]``; None when the classifier has no ``predict_proba``.
    """

    kind: Literal["classifier", "regressor", "other"]
    dtype: str
    classes: list[str | int | float | bool] | None = None
    probability_columns: list[str] | None = None


class Signature(_Frozen):
    """A model's input columns, in the order it expects them, and its output."""

    inputs: list[ColumnSpec]
    output: OutputSpec

    @property
    def column_names(self) -> list[str]:
        """The input column names, in order."""
        return [column.name for column in self.inputs]


def _check_example(input_example: object) -> pd.DataFrame:
    if not isinstance(input_example, pd.DataFrame) or not all(
        isinstance(name, str) for name in input_example.columns
    ):
        raise InvalidInputError("input_example must be a pandas DataFrame with named columns")
    if input_example.columns.has_duplicates:
        duplicated = sorted(set(input_example.columns[input_example.columns.duplicated()]))
        raise InvalidInputError(f"input_example has duplicate columns {duplicated}")
    if input_example.empty:
        raise InvalidInputError("input_example must have at least one row and one column")
    return input_example


def column_type(series: pd.Series[Any]) -> ColumnType:
    """A column's signature type (object columns by pandas' inference; other text is string)."""
    dtype = series.dtype
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
    return _INFERRED.get(pd.api.types.infer_dtype(series, skipna=True), "string")


def _levels(series: pd.Series[Any], extra: Sequence[str]) -> list[str]:
    seen = {str(value) for value in series.dropna().unique()}
    if isinstance(series.dtype, pd.CategoricalDtype):
        seen.update(str(level) for level in series.dtype.categories)
    return sorted(seen.union(str(level) for level in extra))


def _column_spec(name: str, series: pd.Series[Any], extra: Sequence[str] | None) -> ColumnSpec:
    kind = column_type(series)
    levelled = kind in _LEVELLED
    return ColumnSpec(
        name=name,
        type=kind,
        dtype=str(series.dtype),
        nullable=bool(series.isna().any()),
        categories=_levels(series, extra or ()) if levelled else None,
        categories_complete=levelled
        and (extra is not None or isinstance(series.dtype, pd.CategoricalDtype)),
    )


def _output_spec(input_example: pd.DataFrame, model: Any) -> OutputSpec:
    predictions = np.asarray(model.predict(input_example))
    dtype = str(predictions.dtype)
    classes = getattr(model, "classes_", None)
    if classes is not None:
        values: list[str | int | float | bool] = np.asarray(classes).tolist()
        has_proba = callable(getattr(model, "predict_proba", None))
        return OutputSpec(
            kind="classifier",
            dtype=dtype,
            classes=values,
            probability_columns=[f"proba_{value}" for value in values] if has_proba else None,
        )
    is_float = predictions.dtype.kind == "f"
    if is_float and not callable(getattr(model, "predict_proba", None)):
        return OutputSpec(kind="regressor", dtype=dtype)
    return OutputSpec(kind="other", dtype=dtype)


def infer_signature(
    input_example: pd.DataFrame,
    model: Any,
    *,
    category_levels: Mapping[str, Sequence[str]] | None = None,
) -> Signature:
    """Infer a model's signature from an input example.

    Args:
        input_example: A few rows of model input, with named columns.
        model: A fitted model; its ``predict`` is called once on the example.
        category_levels: Complete levels per column, e.g. from the training dataset's profile;
            unioned with the levels seen in the example.  Columns the example lacks, and
            numeric columns, are ignored.

    Returns:
        The signature.

    Raises:
        InvalidInputError: The example is not a DataFrame with named, unique columns and at
            least one row.
    """
    frame = _check_example(input_example)
    levels = category_levels or {}
    inputs = [_column_spec(str(name), frame[name], levels.get(str(name))) for name in frame]
    return Signature(inputs=inputs, output=_output_spec(frame, model))
