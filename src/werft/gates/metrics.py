"""A model's metrics on labelled evaluation data, computed with scikit-learn.

Classifiers get accuracy, precision, recall, F1 and (with ``predict_proba``)
ROC AUC; regressors MAE, RMSE and R². Classes are compared by their canonical
text (:func:`werft.monitoring.labelled.class_text`), so labels ``1``, ``1.0``
and ``"1"`` are one class, and 1/0 labels match a model that predicts booleans.
A binary classifier's precision, recall and F1 are those of the positive class
(the use case's ``positive_class``, else the larger of the two classes, as in
scikit-learn); with more classes they are macro averages, and ROC AUC is
one-vs-rest. Rows without a label are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn import metrics as skm

from werft.errors import InvalidInputError
from werft.monitoring.labelled import class_text
from werft.registry.signature import OutputSpec, Signature


class Predictor(Protocol):
    """What the gates need of a loaded model (a :class:`~werft.registry.package.PackagedModel`)."""

    @property
    def signature(self) -> Signature: ...
    def predict(self, data: pd.DataFrame) -> npt.NDArray[Any]: ...
    def predict_proba(self, data: pd.DataFrame) -> npt.NDArray[Any]: ...


def model_metrics(
    model: Predictor,
    frame: pd.DataFrame,
    labels: pd.Series[Any],
    *,
    positive: object = None,
) -> dict[str, float]:
    """The model's metrics on the labelled rows of ``frame``.

    Raises:
        InvalidInputError: No row has a label, regression labels are not numbers, or the
            positive class is not one of the model's classes.
        Exception: Whatever the model raises when it cannot predict on the data.
    """
    keep = labels.notna().to_numpy()
    if not keep.any():
        raise InvalidInputError("no row of the evaluation data has a label")
    rows, truth = frame[keep], labels[keep]
    output = model.signature.output
    if output.kind == "regressor":
        return _regression(truth, np.asarray(model.predict(rows)))
    if output.kind == "classifier":
        return _classification(model, rows, truth, output, positive)
    return {}


def _regression(truth: pd.Series[Any], guess: npt.NDArray[Any]) -> dict[str, float]:
    values = pd.to_numeric(truth, errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        raise InvalidInputError("a regressor's labels must be numbers; some are not")
    result = {
        "mae": float(skm.mean_absolute_error(values, guess)),
        "rmse": float(skm.root_mean_squared_error(values, guess)),
    }
    if len(values) >= 2:
        result["r2"] = float(skm.r2_score(values, guess))
    return result


def _classification(
    model: Predictor,
    rows: pd.DataFrame,
    truth: pd.Series[Any],
    output: OutputSpec,
    positive: object,
) -> dict[str, float]:
    classes = [class_text(c) or "" for c in output.classes or []]
    booleans = bool(output.classes) and all(isinstance(c, bool) for c in output.classes or [])
    actual = [_label(value, booleans) for value in truth]
    guess = [class_text(value) or "" for value in np.asarray(model.predict(rows))]
    result = {"accuracy": float(skm.accuracy_score(actual, guess))}
    pos = _positive(classes, positive)
    if pos is not None:
        scores = skm.precision_recall_fscore_support(
            actual, guess, labels=[pos], average=None, zero_division=0
        )
        precision, recall, f1 = (float(score[0]) for score in scores[:3])
    else:
        scores = skm.precision_recall_fscore_support(
            actual, guess, average="macro", zero_division=0
        )
        precision, recall, f1 = (float(score) for score in scores[:3])
    result |= {"precision": precision, "recall": recall, "f1": f1}
    if output.probability_columns is not None:
        auc = _roc_auc(np.asarray(model.predict_proba(rows), dtype=float), actual, classes, pos)
        if auc is not None:
            result["roc_auc"] = auc
    return result


def _label(value: object, booleans: bool) -> str:
    text = class_text(value) or ""
    if booleans and text in ("1", "0"):
        return "True" if text == "1" else "False"
    return text


def _positive(classes: Sequence[str], given: object) -> str | None:
    if len(classes) != 2:
        return None
    if given is None:
        return classes[-1]  # classes come sorted, as scikit-learn's classes_
    wanted = class_text(given)
    if wanted not in classes:
        raise InvalidInputError(
            f"positive_class {given!r} is not one of the model's classes {list(classes)}"
        )
    return wanted


def _roc_auc(
    proba: npt.NDArray[np.float64], actual: list[str], classes: list[str], pos: str | None
) -> float | None:
    present = set(actual)
    if np.isnan(proba).any():
        return None
    if pos is not None:
        if len(present) != 2:
            return None  # ROC AUC needs both classes among the labels
        column = proba[:, classes.index(pos)]
        return float(skm.roc_auc_score([a == pos for a in actual], column))
    if present != set(classes):
        return None
    order = np.argsort(classes)  # scikit-learn wants the labels sorted, as text they may not be
    labels = [classes[i] for i in order]
    return float(skm.roc_auc_score(actual, proba[:, order], multi_class="ovr", labels=labels))
