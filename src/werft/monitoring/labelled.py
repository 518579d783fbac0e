"""A window's labelled predictions: labels joined as the task needs, metrics over them.

How predictions and labels are compared (labels arrive as text):

* Classification compares canonical class texts (:func:`class_text`): ``1``,
  ``1.0``, ``"1"`` and ``"1.0"`` are all ``"1"``; ``True``, ``"true"`` and
  ``"True"`` are ``"True"``; other numbers are their shortest decimal text
  (``"0.50"`` is ``"0.5"``); other text is compared as sent, stripped of
  surrounding blanks, case included.  When the model predicts booleans, the
  labels ``"1"`` and ``"0"`` also count as ``True`` and ``False``.
* Regression parses labels as floats; a label that is no finite number is
  skipped and counted as unparseable.

Metrics come from :mod:`sklearn.metrics`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn import metrics as skm

from werft.errors import InvalidInputError

Task = Literal["classification", "regression"]

PROBA_PREFIX = "proba:"
MAX_BUCKETS = 20
MIN_PER_BUCKET = 10
POSITIVE_NAMES = ("1", "true", "yes")


def class_text(value: Any) -> str | None:
    """The canonical text of a class, for comparing predictions with labels (see above)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None if math.isnan(number) else str(number)
        return str(int(number)) if number.is_integer() else repr(number)
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return text.capitalize()
    try:
        number = float(text)
    except ValueError:
        return text
    return class_text(number) if math.isfinite(number) else text


def parse_number(text: str) -> float | None:
    """``text`` as a finite float, else ``None``."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class LabelledPredictions:
    """The labelled rows of one window, in time order, and metrics over subsets of them.

    Args:
        task: What the model does.
        rows: Served prediction-log rows in time order.
        raw_labels: Each row's label as received, ``None`` where none came.
        positive: The positive class as asked for, or ``None`` for the default.
    """

    def __init__(
        self, task: Task, rows: pa.Table, raw_labels: list[str | None], positive: str | None
    ) -> None:
        self.task = task
        self.unparseable = 0
        self.positive: str | None = None
        self.probabilities: dict[str, np.ndarray] = {}
        keep = (
            self._classes(rows, raw_labels, positive)
            if task == "classification"
            else self._numbers(rows, raw_labels)
        )
        take = pa.array(keep, pa.int64())
        self.labelled = len(keep)
        self.ids: list[str] = rows["request_id"].take(take).to_pylist() if keep else []
        self.times = (
            pc.cast(rows["time"], pa.int64()).take(take).to_numpy(zero_copy_only=False)
            if keep
            else np.array([], dtype=np.int64)
        )

    # --- joining labels -----------------------------------------------------------------

    def _classes(
        self, rows: pa.Table, raw_labels: list[str | None], positive: str | None
    ) -> list[int]:
        column = rows["prediction"] if "prediction" in rows.column_names else None
        predicted = column.to_pylist() if column is not None else []
        booleans = column is not None and pa.types.is_boolean(column.type)
        keep: list[int] = []
        truth: list[str] = []
        guess: list[str] = []
        for index, (label, value) in enumerate(zip(raw_labels, predicted, strict=True)):
            if label is None:
                continue
            prediction, text = class_text(value), class_text(label)
            if prediction is None or text is None:
                continue
            if booleans and text in ("1", "0"):
                text = "True" if text == "1" else "False"
            keep.append(index)
            truth.append(text)
            guess.append(prediction)
        self.truth = np.array(truth, dtype=object)
        self.guess = np.array(guess, dtype=object)
        by_class = {
            class_text(name.removeprefix(PROBA_PREFIX)) or "": name
            for name in rows.column_names
            if name.startswith(PROBA_PREFIX)
        }
        take = pa.array(keep, pa.int64())
        for cls, name in by_class.items():
            values = rows[name].take(take).to_numpy(zero_copy_only=False).astype(float)
            self.probabilities[cls] = values
        self.classes = sorted(set(truth) | set(guess) | set(by_class), key=_class_order)
        self.positive = self._positive(positive)
        return keep

    def _positive(self, given: str | None) -> str | None:
        if given is not None:
            wanted = class_text(given)
            if len(self.classes) >= 2 and wanted not in self.classes:
                raise InvalidInputError(
                    f"positive class {given!r} is not one of the classes {self.classes}; "
                    "give one of them"
                )
            if len(self.classes) <= 2 and wanted is not None:
                self.classes = sorted(set(self.classes) | {wanted}, key=_class_order)
                return wanted
            return None
        if len(self.classes) > 2 or not self.classes:
            return None
        preferred = [c for c in self.classes if c.lower() in POSITIVE_NAMES]
        return preferred[0] if preferred else self.classes[-1]

    def _numbers(self, rows: pa.Table, raw_labels: list[str | None]) -> list[int]:
        column = rows["prediction"] if "prediction" in rows.column_names else None
        predicted = column.to_pylist() if column is not None else []
        keep: list[int] = []
        truth: list[float] = []
        guess: list[float] = []
        for index, (label, prediction) in enumerate(zip(raw_labels, predicted, strict=True)):
            if label is None:
                continue
            value, number = parse_number(label), _float(prediction)
            if value is None:
                self.unparseable += 1
            elif number is not None:
                keep.append(index)
                truth.append(value)
                guess.append(number)
        self.truth_values = np.array(truth, dtype=float)
        self.guess_values = np.array(guess, dtype=float)
        return keep

    # --- metrics ----------------------------------------------------------------------

    def metrics(self, subset: np.ndarray) -> dict[str, float]:
        if self.task == "regression":
            return _regression(self.truth_values[subset], self.guess_values[subset])
        return self._classification(subset)

    def _classification(self, subset: np.ndarray) -> dict[str, float]:
        truth, guess = list(self.truth[subset]), list(self.guess[subset])
        result = {"accuracy": float(skm.accuracy_score(truth, guess))}
        if self.positive is not None:
            scores = skm.precision_recall_fscore_support(
                truth, guess, labels=[self.positive], average=None, zero_division=0
            )
            precision, recall, f1 = (float(s[0]) for s in scores[:3])
        else:
            scores = skm.precision_recall_fscore_support(
                truth, guess, average="macro", zero_division=0
            )
            precision, recall, f1 = (float(s) for s in scores[:3])
        result |= {"precision": precision, "recall": recall, "f1": f1}
        auc = self._roc_auc(subset, truth)
        if auc is not None:
            result["roc_auc"] = auc
        return result

    def _roc_auc(self, subset: np.ndarray, truth: list[str]) -> float | None:
        present = set(truth)
        if self.positive is not None:
            scores = self.probabilities.get(self.positive)
            if scores is None or len(present) != 2:
                return None
            values = scores[subset]
            if np.isnan(values).any():
                return None
            return float(skm.roc_auc_score([t == self.positive for t in truth], values))
        classes = sorted(self.probabilities, key=_class_order)
        if len(classes) < 3 or present != set(classes):
            return None
        matrix = np.column_stack([self.probabilities[c][subset] for c in classes])
        totals = matrix.sum(axis=1, keepdims=True)
        if np.isnan(matrix).any() or (totals <= 0).any():
            return None
        return float(skm.roc_auc_score(truth, matrix / totals, multi_class="ovr", labels=classes))

    def errors(self) -> np.ndarray:
        """Per-prediction errors for the change-point test, in time order."""
        if self.task == "classification":
            return np.asarray(self.truth != self.guess, dtype=float)
        scale = float(np.std(self.truth_values))
        spread = scale if scale > 0 else 1.0
        return np.asarray(np.abs(self.truth_values - self.guess_values) / spread, dtype=float)

    def series(self) -> list[dict[str, Any]]:
        """The metrics over equal stretches of time, skipping stretches without labels."""
        buckets = max(1, min(MAX_BUCKETS, self.labelled // MIN_PER_BUCKET))
        first, last = int(self.times[0]), int(self.times[-1])
        edges = np.linspace(first, last + 1, buckets + 1)
        index = np.clip(np.searchsorted(edges, self.times, side="right") - 1, 0, buckets - 1)
        points = []
        for bucket in range(buckets):
            subset = np.flatnonzero(index == bucket)
            if not len(subset):
                continue
            points.append(
                {
                    "start_ms": int(edges[bucket]),
                    "end_ms": int(edges[bucket + 1]),
                    "labelled": len(subset),
                    **self.metrics(subset),
                }
            )
        return points


def _regression(truth: np.ndarray, guess: np.ndarray) -> dict[str, float]:
    result = {
        "mae": float(skm.mean_absolute_error(truth, guess)),
        "rmse": float(skm.root_mean_squared_error(truth, guess)),
    }
    if len(truth) >= 2:  # R² of one value is undefined
        result["r2"] = float(skm.r2_score(truth, guess))
    return result


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _class_order(text: str) -> tuple[int, float, str]:
    """Numbers by value, then text: classes ``2`` and ``10`` sort as numbers do."""
    number = parse_number(text)
    return (0, number, "") if number is not None else (1, 0.0, text)
