"""Model performance from delayed ground truth, and when it changed: a pure calculation.

:func:`evaluate_performance` joins a window's logged predictions with the
labels that arrived for them (by request id), computes the task's metrics
with scikit-learn, compares them with the served version's validation
metrics, runs the Page-Hinkley test over the time-ordered errors and cuts the
window into buckets for charts.  No I/O: the monitor gathers the inputs.
How predictions and labels are compared (labels arrive as text) is
described in :mod:`werft.monitoring.labelled`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from werft.errors import InvalidInputError
from werft.monitoring.changepoint import ChangePoint, PageHinkley, first_change
from werft.monitoring.labelled import PROBA_PREFIX, LabelledPredictions, Task, parse_number

SERVED_VARIANTS = ("primary", "canary")
"""Rows whose answer a client got; a shadow's answers are not its performance."""
DEFAULT_TOLERANCE = 0.05
LOWER_IS_BETTER = frozenset({"mae", "rmse"})
"""Error metrics: on the label's scale, so their tolerance is relative (see MetricComparison)."""
KNOWN_METRICS = frozenset({"accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse", "r2"})


class MetricComparison(BaseModel):
    """One metric now against the version's validation value.

    ``drop`` is how much worse it is now (``validation - current`` for metrics
    where higher is better, ``current - validation`` for ``mae`` and
    ``rmse``).  ``allowed`` is the drop tolerated: ``tolerance`` itself for
    metrics on a fixed scale, ``tolerance * |validation|`` for ``mae`` and
    ``rmse``, whose scale is the label's.  ``degraded`` when ``drop > allowed``.
    """

    model_config = ConfigDict(frozen=True)

    metric: str
    current: float
    validation: float
    tolerance: float
    allowed: float
    drop: float
    degraded: bool


class PerformanceReport(BaseModel):
    """A window's performance on the predictions that got a label.

    ``metrics`` for classification: accuracy, precision, recall, f1 (of the
    ``positive`` class for two classes, macro averages for more) and roc_auc
    (when the log has probabilities for the classes and every class occurs
    among the labels); for regression: mae, rmse, r2.  ``series`` holds the
    same metrics per time bucket: ``{"start_ms", "end_ms", "labelled", <metric>: value}``.
    """

    model_config = ConfigDict(frozen=True)

    task: Task
    labelled: int
    unparseable: int = 0
    positive: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    comparison: dict[str, MetricComparison] = Field(default_factory=dict)
    degraded: bool = False
    change_point: ChangePoint | None = None
    series: list[dict[str, Any]] = Field(default_factory=list)


def evaluate_performance(
    predictions: pa.Table,
    labels: Mapping[str, str],
    *,
    task: Task | None = None,
    positive: str | None = None,
    validation: Mapping[str, float] | None = None,
    tolerance: float | Mapping[str, float] = 0.05,
    detector: PageHinkley | None = None,
) -> PerformanceReport:
    """Performance of the labelled predictions of a window.

    Args:
        predictions: Prediction-log rows (``request_id``, ``time``, ``variant``,
            ``prediction``, ``proba:<class>``...); shadow rows are left out.
        labels: Ground truth by request id, as the feedback API stores it.
        task: ``None`` infers it: probabilities in the log, predictions that
            are no floats (text, booleans, whole numbers) or labels that are no
            numbers mean classification.
        positive: The positive class of a binary classifier; by default
            ``1``/``True``/``yes`` when one of the two classes is, else the
            larger of the two.
        validation: The version's validation metrics; names werft does not
            compute are ignored.
        tolerance: The drop tolerated before a metric counts as degraded, for
            all metrics or per metric (others: 0.05); see :class:`MetricComparison`.
        detector: The change-point test (a fresh copy runs); default
            :class:`PageHinkley` with its defaults.

    Raises:
        InvalidInputError: The table lacks ``request_id``, ``time`` or
            ``prediction``, or ``positive`` is neither of two classes.
    """
    rows = _served_rows(predictions)
    ids = rows["request_id"].to_pylist() if rows.num_rows else []
    raw_labels = [labels.get(rid) for rid in ids]
    resolved = task or _infer_task(rows, raw_labels)
    evaluator = LabelledPredictions(resolved, rows, raw_labels, positive)
    if evaluator.labelled == 0:
        return PerformanceReport(
            task=resolved,
            labelled=0,
            unparseable=evaluator.unparseable,
            positive=evaluator.positive,
        )
    overall = evaluator.metrics(np.arange(evaluator.labelled))
    comparison = _compare(overall, validation or {}, tolerance)
    return PerformanceReport(
        task=resolved,
        labelled=evaluator.labelled,
        unparseable=evaluator.unparseable,
        positive=evaluator.positive,
        metrics=overall,
        comparison=comparison,
        degraded=any(c.degraded for c in comparison.values()),
        change_point=first_change(
            evaluator.errors(), evaluator.times, evaluator.ids, detector or PageHinkley()
        ),
        series=evaluator.series(),
    )


def _served_rows(table: pa.Table) -> pa.Table:
    missing = [c for c in ("request_id", "time", "prediction") if c not in table.column_names]
    if missing and table.num_rows:
        raise InvalidInputError(f"the prediction table lacks the columns {missing}")
    if missing:
        return pa.table({"request_id": pa.array([], pa.string())})
    if "variant" in table.column_names:
        table = table.filter(pc.is_in(table["variant"], pa.array(SERVED_VARIANTS)))
    times = pc.cast(table["time"], pa.int64())
    order = pc.sort_indices(
        pa.table({"t": times, "id": table["request_id"]}),
        sort_keys=[("t", "ascending"), ("id", "ascending")],
    )
    return table.take(order)


def _infer_task(rows: pa.Table, raw_labels: list[str | None]) -> Task:
    if any(name.startswith(PROBA_PREFIX) for name in rows.column_names):
        return "classification"
    if "prediction" in rows.column_names:
        # Regressors predict floats; whole numbers come from classifiers (scikit-learn's do).
        kind = rows.schema.field("prediction").type
        if not (pa.types.is_floating(kind) or pa.types.is_null(kind)):
            return "classification"
    for label in raw_labels:
        if label is not None and parse_number(label) is None:
            return "classification"
    return "regression"


def _compare(
    current: Mapping[str, float],
    validation: Mapping[str, float],
    tolerance: float | Mapping[str, float],
) -> dict[str, MetricComparison]:
    result = {}
    for metric, reference in validation.items():
        if metric not in KNOWN_METRICS or metric not in current:
            continue
        value = current[metric]
        allowed_share = (
            tolerance
            if isinstance(tolerance, int | float)
            else tolerance.get(metric, DEFAULT_TOLERANCE)
        )
        lower = metric in LOWER_IS_BETTER
        drop = value - reference if lower else reference - value
        allowed = allowed_share * abs(reference) if lower else allowed_share
        result[metric] = MetricComparison(
            metric=metric,
            current=value,
            validation=float(reference),
            tolerance=float(allowed_share),
            allowed=float(allowed),
            drop=float(drop),
            degraded=drop > allowed,
        )
    return result
