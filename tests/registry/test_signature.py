"""Signature inference: input columns from the example, output from the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

from werft.errors import InvalidInputError
from werft.registry.signature import Signature, infer_signature


class Echo:
    """A model whose predict returns the first column, whatever its type."""

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return data.iloc[:, 0].to_numpy()


@pytest.fixture
def mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "count": [1, 2, 3],
            "maybe_count": pd.array([1, None, 3], dtype="Int64"),
            "score": [0.5, np.nan, 1.5],
            "flag": [True, False, True],
            "city": ["Bern", None, "Basel"],
            "plan": pd.Categorical(["pro", "free", "pro"], categories=["free", "pro", "team"]),
            "seen": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "code": pd.Series(["x", "y", "x"], dtype=object),
        }
    )


def test_input_types_nullability_and_categories(mixed: pd.DataFrame) -> None:
    signature = infer_signature(mixed, Echo())
    by_name = {column.name: column for column in signature.inputs}

    assert [column.name for column in signature.inputs] == list(mixed.columns)
    assert {name: column.type for name, column in by_name.items()} == {
        "count": "integer",
        "maybe_count": "integer",
        "score": "float",
        "flag": "boolean",
        "city": "string",
        "plan": "categorical",
        "seen": "datetime",
        "code": "string",
    }
    assert {name for name, column in by_name.items() if column.nullable} == {
        "maybe_count",
        "score",
        "city",
    }
    assert by_name["count"].dtype == "int64"
    assert by_name["maybe_count"].dtype == "Int64"
    assert by_name["city"].categories == ["Basel", "Bern"]
    assert by_name["plan"].categories == ["free", "pro", "team"]  # declared levels count
    assert by_name["flag"].categories == ["False", "True"]
    assert by_name["count"].categories is None
    assert by_name["seen"].categories is None


def test_category_levels_from_the_profile_are_unioned(mixed: pd.DataFrame) -> None:
    signature = infer_signature(
        mixed,
        Echo(),
        category_levels={
            "city": ["Zug", "Bern"],
            "count": ["7"],  # numeric: ignored
            "churned": ["yes", "no"],  # the label, not an input: ignored
        },
    )
    by_name = {column.name: column for column in signature.inputs}
    assert by_name["city"].categories == ["Basel", "Bern", "Zug"]
    assert by_name["count"].categories is None
    assert "churned" not in by_name


def test_classifier_output_has_plain_classes_and_probability_columns() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(frame, ["no", "no", "yes", "yes"])
    output = infer_signature(frame, model).output
    assert output.kind == "classifier"
    assert output.classes == ["no", "yes"]
    assert output.probability_columns == ["proba_no", "proba_yes"]
    assert output.dtype == "<U3"  # numpy strings, as predict returns them

    numeric = LogisticRegression().fit(frame, [0, 0, 1, 1])
    output = infer_signature(frame, numeric).output
    assert output.classes == [0, 1]
    assert all(type(value) is int for value in output.classes)
    assert output.probability_columns == ["proba_0", "proba_1"]
    assert output.dtype == "int64"


def test_classifier_without_predict_proba_has_no_probability_columns() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    output = infer_signature(frame, LinearSVC().fit(frame, [0, 0, 1, 1])).output
    assert output.kind == "classifier"
    assert output.classes == [0, 1]
    assert output.probability_columns is None


def test_regressor_and_other_outputs() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    regressor = infer_signature(frame, LinearRegression().fit(frame, [0.0, 1.0, 2.5, 3.0]))
    assert regressor.output.kind == "regressor"
    assert regressor.output.dtype == "float64"
    assert regressor.output.classes is None

    clusters = infer_signature(frame, KMeans(n_clusters=2, n_init=1, random_state=0).fit(frame))
    assert clusters.output.kind == "other"
    assert clusters.output.dtype == "int32"


@pytest.mark.parametrize(
    "example",
    [
        np.zeros((3, 2)),
        [[1, 2]],
        pd.DataFrame(np.zeros((3, 2))),  # integer column labels, no names
    ],
)
def test_example_must_be_a_dataframe_with_named_columns(example: object) -> None:
    with pytest.raises(
        InvalidInputError, match="input_example must be a pandas DataFrame with named columns"
    ):
        infer_signature(example, Echo())  # type: ignore[arg-type]


def test_example_must_have_rows() -> None:
    with pytest.raises(InvalidInputError, match="at least one row"):
        infer_signature(pd.DataFrame({"x": []}), Echo())


def test_signature_is_frozen_and_round_trips_through_json() -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    signature = infer_signature(frame, LogisticRegression().fit(frame, [True, False, True, False]))
    assert signature.output.classes == [False, True]
    assert Signature.model_validate(signature.model_dump(mode="json")) == signature
    with pytest.raises(ValidationError):
        signature.output = signature.output  # type: ignore[misc]


def test_levels_are_complete_only_from_the_training_profile_or_a_category_dtype() -> None:
    frame = pd.DataFrame(
        {
            "plan": ["pro", "basic"],
            "region": pd.Categorical(["n", "s"], categories=["n", "s", "w"]),
            "tier": ["a", "b"],
        }
    )
    model = LinearRegression().fit(np.arange(4).reshape(2, 2), [0.0, 1.0])

    class _Model:
        def predict(self, data: pd.DataFrame) -> np.ndarray:
            return model.predict(np.zeros((len(data), 2)))

    signature = infer_signature(frame, _Model(), category_levels={"tier": ["a", "b", "c"]})
    specs = {spec.name: spec for spec in signature.inputs}
    assert specs["plan"].categories == ["basic", "pro"] and not specs["plan"].categories_complete
    assert specs["region"].categories_complete and specs["region"].categories == ["n", "s", "w"]
    assert specs["tier"].categories_complete and specs["tier"].categories == ["a", "b", "c"]
