"""Performance from delayed labels: known answers against scikit-learn, and change points."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm

from werft.errors import InvalidInputError
from werft.monitoring.changepoint import PageHinkley
from werft.monitoring.labelled import class_text
from werft.monitoring.performance import evaluate_performance

T0 = 1_700_000_000_000


def _log(
    predictions: Sequence[Any],
    *,
    proba: Mapping[str, Sequence[float | None]] | None = None,
    times: Sequence[int] | None = None,
    variants: Sequence[str] | None = None,
    prediction_type: pa.DataType | None = None,
) -> pa.Table:
    """A table with the prediction log's columns, one row a second by default."""
    n = len(predictions)
    columns: dict[str, pa.Array] = {
        "request_id": pa.array([f"r{i:05d}" for i in range(n)], pa.string()),
        "time": pa.array(times or [T0 + 1000 * i for i in range(n)], pa.int64()).cast(
            pa.timestamp("ms", tz="UTC")
        ),
        "model": pa.array(["churn"] * n),
        "version": pa.array([1] * n, pa.int64()),
        "variant": pa.array(variants or ["primary"] * n),
        "prediction": pa.array(list(predictions), prediction_type),
    }
    for cls, values in (proba or {}).items():
        columns[f"proba:{cls}"] = pa.array(list(values), pa.float64())
    columns["in:x"] = pa.array([float(i) for i in range(n)])
    return pa.table(columns)


def _labels(values: Sequence[Any], skip: Sequence[int] = ()) -> dict[str, str]:
    return {f"r{i:05d}": str(v) for i, v in enumerate(values) if i not in skip}


@pytest.fixture
def binary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    truth = (rng.random(400) < 0.3).astype(int)
    score = np.clip(0.35 * truth + rng.random(400) * 0.65, 0, 1)
    return truth, (score > 0.5).astype(int), score


# --- classification ------------------------------------------------------------------


def test_binary_metrics_match_scikit_learn(
    binary: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    truth, predicted, score = binary
    table = _log(predicted.tolist(), proba={"0": (1 - score).tolist(), "1": score.tolist()})

    report = evaluate_performance(table, _labels(truth.tolist()))

    assert (report.task, report.labelled, report.positive) == ("classification", 400, "1")
    expected = {
        "accuracy": skm.accuracy_score(truth, predicted),
        "precision": skm.precision_score(truth, predicted),
        "recall": skm.recall_score(truth, predicted),
        "f1": skm.f1_score(truth, predicted),
        "roc_auc": skm.roc_auc_score(truth, score),
    }
    assert report.metrics == pytest.approx(expected)
    assert set(report.metrics) == set(expected)


def test_the_other_class_can_be_the_positive_one(
    binary: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    truth, predicted, score = binary
    table = _log(predicted.tolist(), proba={"0": (1 - score).tolist(), "1": score.tolist()})
    report = evaluate_performance(table, _labels(truth.tolist()), positive="0")
    assert report.positive == "0"
    assert report.metrics["recall"] == pytest.approx(
        skm.recall_score(truth, predicted, pos_label=0)
    )
    assert report.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(1 - truth, 1 - score))
    with pytest.raises(InvalidInputError, match="not one of the classes"):
        evaluate_performance(table, _labels(truth.tolist()), positive="maybe")


def test_multiclass_metrics_are_macro_averages() -> None:
    rng = np.random.default_rng(3)
    classes = np.array(["bronze", "gold", "silver"])
    truth = classes[rng.integers(0, 3, 300)]
    probabilities = rng.dirichlet([1, 1, 1], 300)
    probabilities[np.arange(300), np.searchsorted(classes, truth)] += 0.8
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predicted = classes[probabilities.argmax(axis=1)]
    proba = {c: probabilities[:, i].tolist() for i, c in enumerate(classes)}

    report = evaluate_performance(_log(predicted.tolist(), proba=proba), _labels(truth.tolist()))

    assert report.positive is None
    assert report.metrics == pytest.approx(
        {
            "accuracy": skm.accuracy_score(truth, predicted),
            "precision": skm.precision_score(truth, predicted, average="macro"),
            "recall": skm.recall_score(truth, predicted, average="macro"),
            "f1": skm.f1_score(truth, predicted, average="macro"),
            "roc_auc": skm.roc_auc_score(truth, probabilities, multi_class="ovr"),
        }
    )


def test_no_roc_auc_without_both_classes_or_probabilities() -> None:
    one_class = evaluate_performance(
        _log([1, 0, 1], proba={"0": [0.2, 0.7, 0.1], "1": [0.8, 0.3, 0.9]}), _labels([1, 1, 1])
    )
    assert "roc_auc" not in one_class.metrics and one_class.metrics["recall"] == pytest.approx(
        2 / 3
    )
    no_proba = evaluate_performance(_log(["a", "b", "a"]), _labels(["a", "b", "b"]))
    assert "roc_auc" not in no_proba.metrics and no_proba.positive == "b"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (1.0, "1"),
        ("1", "1"),
        ("1.0", "1"),
        (" 1 ", "1"),
        (True, "True"),
        ("true", "True"),
        ("FALSE", "False"),
        (np.int64(2), "2"),
        (0.5, "0.5"),
        ("0.50", "0.5"),
        ("yes", "yes"),
        ("Yes", "Yes"),
        (float("nan"), None),
        (None, None),
    ],
)
def test_class_text_is_canonical(value: Any, text: str | None) -> None:
    assert class_text(value) == text


def test_labels_of_other_types_still_match() -> None:
    """Bool predictions with labels True/true/1/0; float predictions with int labels."""
    booleans = _log([True, False, True, False], prediction_type=pa.bool_())
    report = evaluate_performance(booleans, _labels(["True", "false", "1", "1"]))
    assert report.positive == "True" and report.metrics["accuracy"] == pytest.approx(0.75)
    floats = _log([1.0, 0.0, 2.0], proba={"0": [0.9, 0.9, 0.0], "1": [0.1, 0.1, 0.0]})
    report = evaluate_performance(floats, _labels(["1", "0.0", "2"]), task="classification")
    assert report.metrics["accuracy"] == pytest.approx(1.0)
    texts = evaluate_performance(_log(["yes", "no"]), _labels(["yes", "no"]))
    assert texts.positive == "yes" and texts.metrics["f1"] == pytest.approx(1.0)


def test_the_default_positive_class() -> None:
    def positive(predictions: list[Any], labels: list[str]) -> str | None:
        return evaluate_performance(
            _log(predictions), _labels(labels), task="classification"
        ).positive

    assert positive(["no", "yes"], ["no", "no"]) == "yes"
    assert positive(["a", "b"], ["b", "a"]) == "b"  # the larger
    assert positive([2, 10], ["2", "10"]) == "10"  # as numbers
    assert positive([0, 1], ["0", "0"]) == "1"
    assert positive(["x", "y", "z"], ["x", "y", "z"]) is None  # multiclass: macro


def test_shadow_rows_and_unlabelled_rows_are_left_out() -> None:
    table = _log(["a", "b", "a", "b"], variants=["primary", "shadow", "canary", "primary"])
    report = evaluate_performance(table, _labels(["a", "a", "b"]))  # r00003 has no label
    assert report.labelled == 2  # r00000 (primary) and r00002 (canary)
    assert report.metrics["accuracy"] == pytest.approx(0.5)


def test_no_labels_is_an_empty_report() -> None:
    report = evaluate_performance(_log(["a", "b"]), {})
    assert (report.labelled, report.metrics, report.comparison) == (0, {}, {})
    assert report.change_point is None and report.series == [] and not report.degraded
    empty = evaluate_performance(pa.table({}), {"r1": "1"})
    assert empty.labelled == 0 and empty.metrics == {}
    with pytest.raises(InvalidInputError, match="lacks"):
        evaluate_performance(pa.table({"prediction": [1]}), {})


# --- regression ------------------------------------------------------------------------


def test_regression_metrics_match_scikit_learn_and_skip_unparseable_labels() -> None:
    rng = np.random.default_rng(5)
    truth = rng.normal(100, 15, 200)
    predicted = truth + rng.normal(0, 5, 200)
    labels = _labels(truth.tolist())
    labels["r00010"], labels["r00011"], labels["r00012"] = "n/a", "nan", ""
    keep = [i for i in range(200) if i not in (10, 11, 12)]

    report = evaluate_performance(_log(predicted.tolist()), labels, task="regression")

    assert (report.task, report.labelled, report.unparseable) == ("regression", 197, 3)
    assert report.metrics == pytest.approx(
        {
            "mae": skm.mean_absolute_error(truth[keep], predicted[keep]),
            "rmse": float(np.sqrt(skm.mean_squared_error(truth[keep], predicted[keep]))),
            "r2": skm.r2_score(truth[keep], predicted[keep]),
        }
    )


def test_the_task_is_inferred() -> None:
    def task(table: pa.Table, labels: dict[str, str]) -> str:
        return evaluate_performance(table, labels).task

    assert task(_log([1.5, 2.5]), _labels(["1.0", "3"])) == "regression"
    assert task(_log([1, 0], proba={"0": [0, 1], "1": [1, 0]}), _labels([1, 0])) == "classification"
    assert task(_log(["a", "b"]), _labels(["a", "b"])) == "classification"
    assert task(_log([1, 0]), _labels(["yes", "no"])) == "classification"
    assert task(_log([1, 0]), _labels(["1", "0"])) == "classification"  # whole numbers: classes


def test_a_single_regression_label_has_no_r2() -> None:
    report = evaluate_performance(_log([2.0]), {"r00000": "3"})
    assert report.metrics == {"mae": 1.0, "rmse": 1.0}


# --- comparison with validation ---------------------------------------------------------


def test_a_drop_beyond_the_tolerance_is_degraded() -> None:
    table = _log([1, 1, 0, 0, 1, 0, 1, 0, 1, 1])
    labels = _labels([1, 1, 0, 0, 1, 0, 1, 0, 0, 0])  # accuracy 0.8
    report = evaluate_performance(
        table, labels, validation={"accuracy": 0.84, "recall": 0.99, "loss": 0.1}
    )
    assert set(report.comparison) == {"accuracy", "recall"}  # loss: not a werft metric
    accuracy = report.comparison["accuracy"]
    assert (accuracy.current, accuracy.validation) == pytest.approx((0.8, 0.84))
    assert accuracy.drop == pytest.approx(0.04) and not accuracy.degraded
    assert report.comparison["recall"].drop == pytest.approx(-0.01)  # better: no drop
    assert not report.degraded
    strict = evaluate_performance(table, labels, validation={"accuracy": 0.84}, tolerance=0.01)
    assert strict.degraded and strict.comparison["accuracy"].allowed == 0.01
    per_metric = evaluate_performance(
        table, labels, validation={"accuracy": 0.9, "f1": 0.9}, tolerance={"accuracy": 0.2}
    )
    assert not per_metric.comparison["accuracy"].degraded  # 0.1 < 0.2
    assert per_metric.comparison["f1"].tolerance == 0.05 and per_metric.comparison["f1"].degraded


def test_error_metrics_compare_relative_to_their_validation_value() -> None:
    table = _log([10.0, 20.0, 30.0, 40.0])
    labels = _labels(["11", "22", "33", "44"])  # mae 2.5
    report = evaluate_performance(table, labels, validation={"mae": 2.0}, tolerance=0.2)
    mae = report.comparison["mae"]
    assert (mae.drop, mae.allowed) == pytest.approx((0.5, 0.4))
    assert mae.degraded and report.degraded
    lenient = evaluate_performance(table, labels, validation={"mae": 2.0}, tolerance=0.3)
    assert not lenient.degraded


# --- change point and series -----------------------------------------------------------


def _drifting_classifier(seed: int, n: int = 2_000) -> tuple[pa.Table, dict[str, str]]:
    """Error rate 0.1 for the first half of the time, 0.4 after; rows shuffled."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    wrong = np.where(np.arange(n) < n // 2, rng.random(n) < 0.1, rng.random(n) < 0.4)
    predicted = np.where(wrong, 1 - truth, truth)
    order = rng.permutation(n)
    times = [T0 + 1000 * int(i) for i in order]
    table = _log(predicted[order].tolist(), times=times)
    labels = {f"r{k:05d}": str(truth[i]) for k, i in enumerate(order)}
    return table, labels


def test_the_change_point_is_found_in_time_order() -> None:
    table, labels = _drifting_classifier(11)
    report = evaluate_performance(table, labels)
    change = report.change_point
    assert change is not None
    assert abs(change.time_ms - (T0 + 1000 * 1000)) < 150_000  # within 150 predictions
    assert change.index <= change.detected_index < 1000 + 400
    assert change.mean_before == pytest.approx(0.1, abs=0.04)
    assert change.mean_after == pytest.approx(0.4, abs=0.05)
    quiet = evaluate_performance(table, labels, detector=PageHinkley(threshold=1e6))
    assert quiet.change_point is None


def test_series_cover_the_window_in_buckets() -> None:
    table, labels = _drifting_classifier(12)
    report = evaluate_performance(table, labels)
    series = report.series
    assert len(series) == 20
    assert sum(point["labelled"] for point in series) == report.labelled == 2_000
    starts = [point["start_ms"] for point in series]
    assert starts == sorted(starts) and series[0]["start_ms"] == T0
    assert all(a["end_ms"] == b["start_ms"] for a, b in itertools.pairwise(series))
    early = np.mean([p["accuracy"] for p in series[:10]])
    late = np.mean([p["accuracy"] for p in series[10:]])
    assert early == pytest.approx(0.9, abs=0.03) and late == pytest.approx(0.6, abs=0.04)
    few = evaluate_performance(_log(["a", "b", "a"]), _labels(["a", "b", "b"]))
    assert len(few.series) == 1 and few.series[0]["labelled"] == 3
