"""The gates' pure parts: check rules, metrics, status transitions, JUnit XML (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from junitparser import Failure, JUnitXml, Skipped
from sklearn import metrics as skm

from werft.errors import InvalidInputError
from werft.gates import model_checks
from werft.gates.data_checks import null_rate, schema_categories, schema_types, value_range
from werft.gates.entities import Check, GateEvaluation, GateReport
from werft.gates.junit import junit_xml
from werft.gates.metrics import model_metrics
from werft.gates.service import next_status
from werft.governance.usecases import AcceptanceRule
from werft.registry.entities import VersionStatus
from werft.registry.signature import ColumnSpec, OutputSpec, Signature
from werft.services import Services
from werft.tracking.datasets import profile_frame


class Fake:
    """A model that answers with fixed predictions and probabilities."""

    def __init__(self, output: OutputSpec, predictions: list[Any], proba: Any = None) -> None:
        self.signature = Signature(
            inputs=[ColumnSpec(name="x", type="float", dtype="float64", nullable=False)],
            output=output,
        )
        self._predictions, self._proba = np.asarray(predictions), proba

    def predict(self, data: pd.DataFrame) -> Any:
        return self._predictions[: len(data)]

    def predict_proba(self, data: pd.DataFrame) -> Any:
        return np.asarray(self._proba)[: len(data)]


def _column(name: str, type_: str, **fields: Any) -> ColumnSpec:
    return ColumnSpec(name=name, type=type_, dtype="object", nullable=True, **fields)  # type: ignore[arg-type]


# --- data checks ---------------------------------------------------------------------------


def test_types_accept_what_the_model_can_take() -> None:
    frame = pd.DataFrame(
        {
            "count": [1.0, np.nan, 3.0],  # whole numbers with a null: pandas made them floats
            "fee": [1, 2, 3],  # integers feed a float column
            "plan": pd.Categorical(["a", "b", "a"]),  # a category feeds a string column
            "ratio": [0.5, 1.5, 2.0],  # fractions cannot feed an integer column
        }
    )
    specs = [
        _column("count", "integer"),
        _column("fee", "float"),
        _column("plan", "string"),
        _column("ratio", "integer"),
    ]
    check = schema_types(frame, specs)
    assert not check.passed and check.value == 1
    assert check.message == "ratio is float, expected integer"


def test_category_share_against_the_signature_and_its_limit() -> None:
    frame = pd.DataFrame({"plan": ["a", "b", "c", "d", None]})
    complete = _column("plan", "string", categories=["a", "b"], categories_complete=True)
    strict = schema_categories(frame, [complete], 0.0)
    assert not strict.passed and strict.value == 0.5
    assert "plan 50.0% (c, d)" in strict.message
    assert schema_categories(frame, [complete], 0.5).passed
    partial = _column("plan", "string", categories=["a"], categories_complete=False)
    assert schema_categories(frame, [partial], 0.0).skipped


def test_null_rate_names_the_worst_columns() -> None:
    frame = pd.DataFrame({"a": [1.0, None, None, 4.0], "b": [1, 2, 3, 4]})
    check = null_rate(frame, [_column("a", "float"), _column("b", "integer")], 0.25)
    assert not check.passed and check.value == 0.5 and check.threshold == 0.25
    assert check.message == "missing values above 25.0%: a 50.0%"
    clean = null_rate(frame[["b"]], [_column("b", "integer")], 0.0)
    assert clean.passed and clean.message == "no missing values (1 column checked)"


def test_range_share_against_the_training_profile() -> None:
    profile = profile_frame(pd.DataFrame({"age": np.arange(18, 68)}))
    columns = {column.name: column for column in profile.columns}
    frame = pd.DataFrame({"age": [10, 20, 30, 40, 99, np.nan]})
    check = value_range(frame, [_column("age", "integer")], columns, 0.1)
    assert not check.passed and check.value == pytest.approx(0.4)
    assert "min 10 < 18" in check.message and "max 99 > 67" in check.message
    assert value_range(frame, [_column("age", "integer")], columns, 0.4).passed


# --- metrics -------------------------------------------------------------------------------


def test_binary_metrics_match_scikit_learn_with_the_larger_class_as_positive() -> None:
    truth = [0, 1, 1, 0, 1, 0, 1, 1]
    guess = [0, 1, 0, 0, 1, 1, 1, 1]
    proba1 = np.array([0.1, 0.9, 0.4, 0.2, 0.8, 0.6, 0.7, 0.95])
    output = OutputSpec(kind="classifier", dtype="int64", classes=[0, 1], probability_columns=[])
    model = Fake(output, guess, np.column_stack([1 - proba1, proba1]))
    frame = pd.DataFrame({"x": np.zeros(8)})
    found = model_metrics(model, frame, pd.Series(truth))
    assert found["accuracy"] == pytest.approx(skm.accuracy_score(truth, guess))
    assert found["recall"] == pytest.approx(skm.recall_score(truth, guess))
    assert found["precision"] == pytest.approx(skm.precision_score(truth, guess))
    assert found["f1"] == pytest.approx(skm.f1_score(truth, guess))
    assert found["roc_auc"] == pytest.approx(skm.roc_auc_score(truth, proba1))
    as_zero = model_metrics(model, frame, pd.Series(truth), positive=0)
    assert as_zero["recall"] == pytest.approx(skm.recall_score(truth, guess, pos_label=0))
    with pytest.raises(InvalidInputError, match="positive_class 'yes' is not one of"):
        model_metrics(model, frame, pd.Series(truth), positive="yes")


def test_labels_1_and_0_match_a_model_that_predicts_booleans() -> None:
    output = OutputSpec(kind="classifier", dtype="bool", classes=[False, True])
    model = Fake(output, [True, False, True, None][:3])
    found = model_metrics(model, pd.DataFrame({"x": [0.0] * 4}), pd.Series([1, 0, 1, None]))
    assert found["accuracy"] == 1.0 and "roc_auc" not in found  # no predict_proba


def test_multiclass_roc_auc_with_numeric_classes() -> None:
    classes = [2, 10, 33]
    truth = [2, 10, 33, 2, 10, 33]
    proba = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.2, 0.7],
            [0.5, 0.3, 0.2],
            [0.3, 0.3, 0.4],
            [0.2, 0.2, 0.6],
        ]
    )
    output = OutputSpec(kind="classifier", dtype="int64", classes=classes, probability_columns=[])
    model = Fake(output, [2, 10, 33, 2, 33, 33], proba)
    found = model_metrics(model, pd.DataFrame({"x": np.zeros(6)}), pd.Series(truth))
    expected = skm.roc_auc_score(truth, proba, multi_class="ovr", labels=classes)
    assert found["roc_auc"] == pytest.approx(expected)
    assert found["f1"] == pytest.approx(skm.f1_score(truth, model.predict(truth), average="macro"))


def test_regression_metrics() -> None:
    model = Fake(OutputSpec(kind="regressor", dtype="float64"), [1.0, 2.5, 2.0])
    found = model_metrics(model, pd.DataFrame({"x": np.zeros(3)}), pd.Series([1.0, 2.0, 3.0]))
    assert found == pytest.approx({"mae": 0.5, "rmse": np.sqrt(1.25 / 3), "r2": 1 - 1.25 / 2})
    with pytest.raises(InvalidInputError, match="must be numbers"):
        model_metrics(model, pd.DataFrame({"x": np.zeros(3)}), pd.Series(["a", "b", "c"]))
    with pytest.raises(InvalidInputError, match="no row of the evaluation data has a label"):
        model_metrics(model, pd.DataFrame({"x": np.zeros(3)}), pd.Series([None, None, None]))


# --- model checks --------------------------------------------------------------------------


def _rule(metric: str, op: str, value: float) -> AcceptanceRule:
    return AcceptanceRule.model_validate({"metric": metric, "op": op, "value": value})


def test_acceptance_rules_one_check_each() -> None:
    rules = [_rule("rmse", "<=", 2.0), _rule("r2", ">", 0.5), _rule("r2", "<", 0.99)]
    checks = model_checks.acceptance({"rmse": 1.5, "r2": 0.995}, rules, "regressor")
    assert [(c.name, c.passed) for c in checks] == [
        ("model.acceptance.rmse", True),
        ("model.acceptance.r2", True),
        ("model.acceptance.r2.2", False),
    ]
    wrong_kind = model_checks.acceptance({}, [_rule("roc_auc", ">=", 0.8)], "regressor")
    assert not wrong_kind[0].passed
    assert (
        wrong_kind[0].message == "roc_auc is a classification metric and this model is a regressor"
    )
    assert model_checks.acceptance({}, [], "classifier")[0].skipped


@pytest.mark.parametrize(
    ("metric", "ours", "theirs", "passed"),
    [
        ("roc_auc", 0.895, 0.90, True),
        ("roc_auc", 0.88, 0.90, False),
        ("rmse", 1.05, 1.0, True),
        ("rmse", 1.2, 1.0, False),
        ("mae", 0.5, 1.0, True),
    ],
)
def test_regression_direction_follows_the_metric(
    metric: str, ours: float, theirs: float, passed: bool
) -> None:
    tolerance = {metric: 0.01 if metric == "roc_auc" else 0.1}
    [check] = model_checks.regression(
        {metric: ours},
        {metric: theirs},
        tolerance,
        production_version=4,  # type: ignore[dict-item]
    )
    assert check.passed is passed
    assert "production (version 4)" in check.message


def test_output_schema_compares_kind_and_classes() -> None:
    binary = OutputSpec(kind="classifier", dtype="int64", classes=[0, 1])
    labelled = OutputSpec(kind="classifier", dtype="bool", classes=[False, True])
    assert model_checks.output_schema(binary, binary, production_version=1).passed
    check = model_checks.output_schema(binary, labelled, production_version=1)
    assert not check.passed and "classes differ" in check.message
    regressor = OutputSpec(kind="regressor", dtype="float64")
    assert not model_checks.output_schema(binary, regressor, production_version=1).passed


# --- reports -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "passed", "after"),
    [
        (VersionStatus.CANDIDATE, True, VersionStatus.VALIDATED),
        (VersionStatus.CANDIDATE, False, VersionStatus.CANDIDATE),
        (VersionStatus.VALIDATED, True, VersionStatus.VALIDATED),
        (VersionStatus.VALIDATED, False, VersionStatus.CANDIDATE),
        (VersionStatus.APPROVED, False, VersionStatus.APPROVED),
        (VersionStatus.REJECTED, True, VersionStatus.REJECTED),
        (VersionStatus.ARCHIVED, True, VersionStatus.ARCHIVED),
    ],
)
def test_status_after_a_gate(status: VersionStatus, passed: bool, after: VersionStatus) -> None:
    assert next_status(status, passed) is after


def _report(checks: list[Check]) -> GateReport:
    return GateReport(
        id=7,
        model="churn",
        version=3,
        passed=all(c.passed for c in checks),
        version_status=VersionStatus.CANDIDATE,
        data_digest="sha256:" + "ab" * 32,
        rows=10,
        checks=checks,
        created_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        created_by="ci",
    )


def test_junit_xml_reads_back_with_a_junit_parser(tmp_path: Path) -> None:
    checks = [
        Check(name="data.null_rate", kind="data", passed=True, value=0.0, threshold=0.05, op="<="),
        Check(
            name="model.acceptance.roc_auc",
            kind="model",
            passed=False,
            value=0.81,
            threshold=0.85,
            op=">=",
            message='roc_auc 0.81 misses roc_auc >= 0.85 & "more" <here>',
        ),
        Check(name="model.regression", kind="model", passed=True, skipped=True, message="none"),
    ]
    path = tmp_path / "report.xml"
    path.write_text(junit_xml(_report(checks)), encoding="utf-8")
    suites = list(JUnitXml.fromfile(str(path)))
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.name, suite.tests, suite.failures, suite.skipped, suite.errors) == (
        "werft check churn 3",
        3,
        1,
        1,
        0,
    )
    cases = {case.name: case for case in suite}
    assert list(cases) == [c.name for c in checks]
    failure = cases["model.acceptance.roc_auc"].result[0]
    assert isinstance(failure, Failure)
    assert failure.message == 'roc_auc 0.81 misses roc_auc >= 0.85 & "more" <here>'
    assert "threshold: >= 0.85" in (failure.text or "")
    assert isinstance(cases["model.regression"].result[0], Skipped)
    assert cases["data.null_rate"].is_passed
    assert suite.timestamp == "2025-03-01T12:00:00"


def test_a_check_value_is_never_a_json_nan() -> None:
    check = Check(name="x", kind="model", passed=False, value=float("nan"))
    assert check.value == "nan"


def test_the_server_stores_the_report_and_decides_the_verdict(
    api: httpx.Client, services: Services
) -> None:
    services.projects.create("churn")
    services.registry.create_version(
        "churn-classifier",
        project="churn",
        run_id=None,
        artifact_path="model",
        content_hash="sha256:" + "ab" * 32,
        files={},
        flavor="sklearn",
        model_class="sklearn.pipeline.Pipeline",
        signature={},
    )
    url = "/models/churn-classifier/versions/1/gate-reports"
    failing = [
        Check(name="data.drift", kind="data", passed=False, message="drifted"),
        Check(name="model.predict", kind="model", passed=True),
    ]
    body = GateEvaluation(data_digest="sha256:" + "cd" * 32, rows=1, checks=failing)
    stored = api.post(url, json=body.model_dump(mode="json"))
    assert stored.status_code == 201
    assert stored.json()["passed"] is False and stored.json()["version_status"] == "candidate"
    sneaky = api.post(url, json={**body.model_dump(mode="json"), "passed": True})
    assert sneaky.status_code == 422  # the verdict is not the client's to send
    empty = api.post(url, json={**body.model_dump(mode="json"), "checks": []})
    assert empty.status_code == 422
    assert (
        api.post(
            "/models/nope/versions/1/gate-reports", json=body.model_dump(mode="json")
        ).status_code
        == 404
    )
    assert [r["id"] for r in api.get(url).json()] == [stored.json()["id"]]
