"""The optional ONNX form of a packaged model (extra ``werft[onnx]``: skl2onnx, onnxruntime).

A scikit-learn model is converted with one ONNX input per column — numeric and boolean columns
as float32 ``[None, 1]``, string and categorical columns as strings ``[None, 1]`` — so a
ColumnTransformer that selects columns by name converts as it is.  The converted model is run
on the input example and kept only when it agrees with the native model: labels exactly,
probabilities and regression values within :data:`TOLERANCE`.  Otherwise the reason is
recorded and the package stays valid without ONNX.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from werft.errors import InvalidInputError
from werft.registry.signature import Signature

ONNX_FILE = "model.onnx"
TOLERANCE = 1e-4
"""Largest difference accepted between ONNX and native probabilities (absolute) and regression
values (relative to the largest native value, or absolute below 1)."""
ONNX_MISSING = "install werft[onnx]"
_TEXT_TYPES = frozenset({"string", "categorical"})
_MAX_ERROR_LENGTH = 500


class OnnxInfo(BaseModel):
    """What happened when the model was converted to ONNX.

    Attributes:
        converted: True when the package holds an ONNX form that agreed with the native model.
        file: The ONNX file's path in the package, when converted.
        max_abs_diff: Largest difference in probabilities (classifiers) or values (regressors)
            on the input example.
        labels_match: Whether predicted labels were identical on the input example.
        error: Why there is no ONNX form, when there is none.
    """

    model_config = ConfigDict(frozen=True)

    converted: bool
    file: str | None
    max_abs_diff: float | None
    labels_match: bool | None
    error: str | None


def _initial_types(signature: Signature) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types: list[tuple[str, Any]] = []
    for column in signature.inputs:
        if column.type == "datetime":
            raise InvalidInputError(f"column {column.name!r} is a datetime, which ONNX cannot take")
        tensor = StringTensorType if column.type in _TEXT_TYPES else FloatTensorType
        types.append((column.name, tensor([None, 1])))
    return types


def onnx_feeds(signature: Signature, data: pd.DataFrame) -> dict[str, np.ndarray]:
    """One ``[n, 1]`` array per input column, of the type the ONNX model expects.

    Raises:
        InvalidInputError: A string column has a missing value (ONNX strings cannot be null).
    """
    feeds: dict[str, np.ndarray] = {}
    for column in signature.inputs:
        series = data[column.name]
        if column.type in _TEXT_TYPES:
            if series.isna().any():
                raise InvalidInputError(
                    f"column {column.name!r} has missing values, which the ONNX form cannot "
                    "take; load the model with prefer_onnx=False"
                )
            values = series.astype(str).to_numpy(dtype=object)
        else:
            values = series.to_numpy(dtype=np.float32, na_value=np.nan)
        feeds[column.name] = values.reshape(-1, 1)
    return feeds


class OnnxModel:
    """A converted model run by onnxruntime, answering like the native one."""

    def __init__(self, model_bytes: bytes, signature: Signature) -> None:
        """Open an inference session on the serialised ONNX model."""
        import onnxruntime

        self._session = onnxruntime.InferenceSession(
            model_bytes, providers=["CPUExecutionProvider"]
        )
        self._signature = signature

    def _run(self, data: pd.DataFrame) -> list[Any]:
        outputs: list[Any] = self._session.run(None, onnx_feeds(self._signature, data))
        return outputs

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        """Labels (classifiers) or values (regressors), in the native model's dtype."""
        first = np.asarray(self._run(data)[0])
        if self._signature.output.kind == "regressor" and first.ndim == 2 and first.shape[1] == 1:
            first = first.ravel()
        return first.astype(self._signature.output.dtype)

    def predict_proba(self, data: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one column per class."""
        return np.asarray(self._run(data)[1], dtype=np.float64)


def _convert(model: Any, signature: Signature) -> bytes:
    from skl2onnx import convert_sklearn

    options: dict[int, dict[str, Any]] | None = None
    if signature.output.kind == "classifier":
        steps = getattr(model, "steps", None)
        final = steps[-1][1] if steps else model
        options = {id(model): {"zipmap": False}, id(final): {"zipmap": False}}
    onnx_model = convert_sklearn(model, initial_types=_initial_types(signature), options=options)
    serialised: bytes = onnx_model.SerializeToString()
    return serialised


def _compare(
    model: Any, onnx_model: OnnxModel, signature: Signature, example: pd.DataFrame
) -> OnnxInfo:
    native = np.asarray(model.predict(example))
    converted = onnx_model.predict(example)
    if signature.output.kind == "regressor":
        diff = float(np.max(np.abs(converted.astype(np.float64) - native.astype(np.float64))))
        scale = max(1.0, float(np.max(np.abs(native))))
        ok, labels_match = diff <= TOLERANCE * scale, None
    else:
        labels_match = bool(np.array_equal(converted, native))
        diff = 0.0
        if signature.output.probability_columns is not None:
            native_proba = np.asarray(model.predict_proba(example), dtype=np.float64)
            diff = float(np.max(np.abs(onnx_model.predict_proba(example) - native_proba)))
        ok = labels_match and diff <= TOLERANCE
    error = None if ok else "ONNX predictions differ from the native model's on the input example"
    return OnnxInfo(
        converted=ok,
        file=ONNX_FILE if ok else None,
        max_abs_diff=diff,
        labels_match=labels_match,
        error=error,
    )


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    if exc.__cause__ is not None:
        text += f" (caused by {type(exc.__cause__).__name__}: {exc.__cause__})"
    return text[:_MAX_ERROR_LENGTH]


def convert_to_onnx(
    model: Any, signature: Signature, input_example: pd.DataFrame, folder: Path
) -> OnnxInfo:
    """Convert ``model`` to ONNX, check it on the example, and write ``folder/model.onnx``.

    Never raises for a model that cannot be converted: the reason is recorded instead.

    Args:
        model: The native model.
        signature: The model's signature (gives the ONNX input types).
        input_example: Rows to compare ONNX and native predictions on.
        folder: The package folder.

    Returns:
        What happened; ``converted`` is True only when the ONNX file was written.
    """
    try:
        import onnxruntime  # noqa: F401 -- present, or the ONNX form could never be used
        import skl2onnx  # noqa: F401
    except ImportError:
        return OnnxInfo(
            converted=False, file=None, max_abs_diff=None, labels_match=None, error=ONNX_MISSING
        )
    example = input_example[signature.column_names]
    try:
        model_bytes = _convert(model, signature)
        info = _compare(model, OnnxModel(model_bytes, signature), signature, example)
    # skl2onnx and onnxruntime raise many unrelated types (ValueError, RuntimeError, their own
    # MissingShapeCalculator, Fail...); any of them means "no ONNX form", never a failed package.
    except Exception as exc:
        return OnnxInfo(
            converted=False,
            file=None,
            max_abs_diff=None,
            labels_match=None,
            error=_describe(exc),
        )
    if info.converted:
        (folder / ONNX_FILE).write_bytes(model_bytes)
    return info
