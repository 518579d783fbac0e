"""Request validation against a signature, and batch frames rebuilt with training dtypes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from werft.errors import InvalidInputError
from werft.registry.signature import ColumnSpec, OutputSpec, Signature, infer_signature
from werft.serving.validation import FieldError, RequestInvalid, RequestValidator, ValidatedRows

PLANS = ["basic", "pro", "team"]
REGIONS = [f"region-{i:02d}" for i in range(12)]
SIGNATURE = Signature(
    inputs=[
        ColumnSpec(name="tenure", type="integer", dtype="int64", nullable=False),
        ColumnSpec(name="monthly_fee", type="float", dtype="float64", nullable=True),
        ColumnSpec(name="plan", type="string", dtype="str", nullable=False, categories=PLANS),
        ColumnSpec(
            name="region", type="categorical", dtype="category", nullable=True, categories=REGIONS
        ),
        ColumnSpec(
            name="autopay", type="boolean", dtype="bool", nullable=False, categories=["True"]
        ),
        ColumnSpec(name="signup", type="datetime", dtype="datetime64[us]", nullable=True),
    ],
    output=OutputSpec(kind="regressor", dtype="float64"),
)
NAMES = SIGNATURE.column_names


def row(**changes: Any) -> dict[str, Any]:
    values = {
        "tenure": 12,
        "monthly_fee": 49.0,
        "plan": "pro",
        "region": "region-03",
        "autopay": True,
        "signup": "2024-05-01T12:30:00",
    }
    return {**values, **changes}


def problems(payload: object, validator: RequestValidator | None = None) -> RequestInvalid:
    with pytest.raises(RequestInvalid) as caught:
        (validator or RequestValidator(SIGNATURE)).validate(payload)
    return caught.value


def only_error(payload: object, validator: RequestValidator | None = None) -> FieldError:
    errors = problems(payload, validator).errors
    assert len(errors) == 1, errors
    return errors[0]


def json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame as a client would send it: JSON records, missing values as null."""

    def plain(value: Any) -> Any:
        if pd.isna(value):  # before datetime: NaT is a datetime
            return None
        return value.isoformat() if isinstance(value, datetime) else value

    columns = {name: [plain(value) for value in frame[name].tolist()] for name in frame}
    records = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    loaded: list[dict[str, Any]] = orjson.loads(orjson.dumps(records))
    return loaded


def as_split(records: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    return {"columns": columns, "data": [[record[name] for name in columns] for record in records]}


# Request-level problems: the shape of the request itself.


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param([row()], "must be a JSON object, got list", id="not-an-object"),
        pytest.param({"inputs": [row()]}, "neither 'rows' nor 'columns'", id="neither"),
        pytest.param(
            {"rows": [row()], "columns": NAMES, "data": [[]]}, "both 'rows' and", id="both"
        ),
        pytest.param({"columns": NAMES}, "needs both 'columns' and 'data'", id="no-data"),
        pytest.param({"rows": row()}, "'rows' must be a list of objects", id="rows-not-list"),
        pytest.param({"rows": [row(), [1, 2]]}, "rows[1] must be an object", id="row-not-obj"),
        pytest.param({"columns": "tenure", "data": [[1]]}, "'columns' must be a list", id="cols"),
        pytest.param(
            {"columns": ["tenure", "tenure"], "data": [[1, 2]]}, "more than once", id="dup-cols"
        ),
        pytest.param({"columns": NAMES, "data": {"a": 1}}, "'data' must be a list", id="data"),
        pytest.param(
            {"columns": NAMES, "data": [list(row().values()), {"a": 1}]},
            "data[1] must be a list of 6 values",
            id="data-row-not-list",
        ),
        pytest.param(
            {"columns": NAMES, "data": [list(row().values())[:5]]},
            "data[0] must be a list of 6 values, one per name in 'columns'; got 5",
            id="data-row-short",
        ),
        pytest.param({"rows": []}, "the request has no rows", id="empty-rows"),
        pytest.param({"columns": NAMES, "data": []}, "the request has no rows", id="empty-data"),
    ],
)
def test_a_malformed_request_is_one_request_level_error_naming_the_shapes(
    payload: object, expected: str
) -> None:
    error = only_error(payload)

    assert (error.row, error.field) == (None, None)
    assert expected in error.message
    assert '{"rows": [{"column": value, ...}, ...]}' in error.message
    assert '{"columns": ["column", ...], "data": [[value, ...], ...]}' in error.message


def test_more_rows_than_max_rows_is_rejected_before_any_value_is_read() -> None:
    validator = RequestValidator(SIGNATURE, max_rows=3)

    error = only_error({"rows": [row()] * 3 + [{"garbage": object()}]}, validator)

    assert (error.row, error.field) == (None, None)
    assert "4 rows, more than the 3 allowed" in error.message
    assert validator.validate({"rows": [row()] * 3}).n_rows == 3


# Columns: missing, unknown, in any order.


def test_a_missing_column_is_named_with_its_row() -> None:
    incomplete = row()
    del incomplete["plan"]

    error = only_error({"rows": [row(), incomplete]})

    assert error == FieldError(row=1, field="plan", message="missing column 'plan'")


def test_an_unknown_column_is_named_and_the_expected_columns_listed() -> None:
    error = only_error({"rows": [row(tenure_months=3)]})

    assert (error.row, error.field) == (0, "tenure_months")
    assert error.message == (
        "unknown column 'tenure_months'; expected columns: 'tenure', 'monthly_fee', 'plan', "
        "'region', 'autopay', 'signup'"
    )


def test_split_requests_report_missing_and_unknown_columns_for_the_whole_request() -> None:
    columns = ["tenure", "monthly_fee", "plan", "region", "autopay", "signed_up"]

    errors = problems({"columns": columns, "data": [list(row().values())]}).errors

    assert [(error.row, error.field) for error in errors] == [
        (None, "signup"),
        (None, "signed_up"),
    ]
    assert errors[0].message == "missing column 'signup'"
    assert errors[1].message.startswith("unknown column 'signed_up'; expected columns:")


def test_records_and_split_give_identical_rows_whatever_the_column_order() -> None:
    records = [row(), row(tenure=1, plan="team", monthly_fee=None, region=None, signup=None)]
    shuffled = [dict(reversed(record.items())) for record in records]
    validator = RequestValidator(SIGNATURE)

    from_records = validator.validate({"rows": shuffled})
    from_split = validator.validate(as_split(records, list(reversed(NAMES))))

    assert from_records == from_split
    assert list(from_records.columns) == NAMES
    assert from_records == ValidatedRows(
        columns={
            "tenure": [12, 1],
            "monthly_fee": [49.0, None],
            "plan": ["pro", "team"],
            "region": ["region-03", None],
            "autopay": [True, True],
            "signup": [datetime(2024, 5, 1, 12, 30), None],
        },
        n_rows=2,
        unseen={},
    )


# Types: what each column type accepts and how values are coerced.


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("tenure", "12", "expected an integer, got '12' (str)"),
        ("tenure", True, "expected an integer, got True (bool)"),
        ("tenure", 1.5, "expected an integer, got 1.5 (float)"),
        ("tenure", 2**63, "expected an integer from -9223372036854775808 to 9223372036854775807"),
        ("monthly_fee", "abc", "expected a number, got 'abc' (str)"),
        ("monthly_fee", False, "expected a number, got False (bool)"),
        ("autopay", 1, "expected true or false, got 1 (int)"),
        ("autopay", "true", "expected true or false, got 'true' (str)"),
        ("plan", 12, "expected a string, got 12 (int)"),
        ("region", ["eu"], "expected a string, got ['eu'] (list)"),
        ("signup", 20240501, "expected an ISO-8601 datetime string such as '2024-05-01T12:30:00'"),
        ("signup", "2024-13-01", "got '2024-13-01' (str)"),
        ("signup", "2024-05-01T12:30:00+02:00", "(without a UTC offset), got"),
    ],
)
def test_a_value_of_the_wrong_type_names_what_was_expected(
    column: str, value: object, expected: str
) -> None:
    error = only_error({"rows": [row(), row(**{column: value})]})

    assert (error.row, error.field) == (1, column)
    assert expected in error.message


def test_integral_floats_become_integers_and_integers_become_floats() -> None:
    rows = RequestValidator(SIGNATURE).validate({"rows": [row(tenure=3.0, monthly_fee=50)]})

    assert rows.columns["tenure"] == [3]
    assert type(rows.columns["tenure"][0]) is int
    assert rows.columns["monthly_fee"] == [50.0]
    assert type(rows.columns["monthly_fee"][0]) is float


def test_datetimes_with_an_offset_are_required_and_kept_in_utc_for_an_aware_column() -> None:
    spec = ColumnSpec(name="at", type="datetime", dtype="datetime64[ns, UTC]", nullable=False)
    validator = RequestValidator(Signature(inputs=[spec], output=SIGNATURE.output))

    rows = validator.validate({"rows": [{"at": "2024-05-01T12:30:00+02:00"}]})
    naive = only_error({"rows": [{"at": "2024-05-01T12:30:00"}]}, validator)
    too_early = only_error({"rows": [{"at": "1500-01-01T00:00:00+00:00"}]}, validator)

    assert rows.columns["at"] == [datetime(2024, 5, 1, 10, 30, tzinfo=UTC)]
    assert "(with a UTC offset), got" in naive.message
    assert "from 1677-09-22 to 2262-04-11" in too_early.message


def test_values_a_small_dtype_cannot_hold_are_rejected() -> None:
    specs = [
        ColumnSpec(name="small", type="integer", dtype="uint8", nullable=False),
        ColumnSpec(name="single", type="float", dtype="float32", nullable=False),
    ]
    validator = RequestValidator(Signature(inputs=specs, output=SIGNATURE.output))

    errors = problems({"rows": [{"small": 256, "single": 1e300}]}, validator).errors

    assert [error.message for error in errors] == [
        "expected an integer from 0 to 255, got 256",
        "expected a number from -3.4028234663852886e+38 to 3.4028234663852886e+38, got 1e+300",
    ]


# Nulls.


def test_null_is_rejected_where_training_never_had_a_missing_value() -> None:
    error = only_error({"rows": [row(tenure=None)]})

    assert error == FieldError(
        row=0,
        field="tenure",
        message="null is not allowed: the model never saw a missing value here",
    )


def test_null_is_accepted_where_training_had_missing_values() -> None:
    validator = RequestValidator(SIGNATURE)

    rows = validator.validate({"rows": [row(monthly_fee=None, region=None, signup=None)]})
    frame = validator.to_frame([rows])

    assert (rows.columns["monthly_fee"], rows.columns["region"]) == ([None], [None])
    assert frame[["monthly_fee", "region", "signup"]].isna().all(axis=None)


# Unseen category levels.


def test_an_unseen_level_is_rejected_naming_it_and_up_to_ten_known_levels() -> None:
    errors = problems({"rows": [row(region="mars"), row(autopay=False)]}).errors

    assert [(error.row, error.field) for error in errors] == [(0, "region"), (1, "autopay")]
    shown = ", ".join(repr(level) for level in REGIONS[:10])
    assert (
        errors[0].message
        == f"unseen category 'mars'; known levels: {shown}, ... (12 levels in all)"
    )
    assert errors[1].message == "unseen category False; known levels: 'True'"


def test_unseen_levels_are_counted_and_passed_on_with_policy_pass() -> None:
    validator = RequestValidator(SIGNATURE, unseen_categories="pass")

    rows = validator.validate(
        {"rows": [row(plan="gold", region="mars"), row(plan="gold"), row(autopay=False)]}
    )
    frame = validator.to_frame([rows])

    assert rows.unseen == {"plan": 2, "region": 1, "autopay": 1}
    assert rows.columns["plan"] == ["gold", "gold", "pro"]
    assert frame["plan"].tolist() == ["gold", "gold", "pro"]
    # A category dtype cannot hold a level it does not list: the model sees a missing value.
    assert frame["region"].isna().tolist() == [True, False, False]
    assert frame["region"].dtype == pd.CategoricalDtype(REGIONS)


def test_no_unseen_counts_when_every_level_is_known() -> None:
    rows = RequestValidator(SIGNATURE, unseen_categories="pass").validate({"rows": [row()]})

    assert rows.unseen == {}


# Collecting errors: every problem, by row, up to a cap.


def test_every_problem_is_reported_by_row_then_column_with_a_summary() -> None:
    payload = {"rows": [row(plan=1, tenure="x"), row(), row(monthly_fee="abc")]}

    failure = problems(payload)

    assert [(error.row, error.field) for error in failure.errors] == [
        (0, "tenure"),
        (0, "plan"),
        (2, "monthly_fee"),
    ]
    assert not failure.truncated
    assert str(failure) == (
        "3 invalid fields in 2 rows: row 0 'tenure': expected an integer, got 'x' (str); "
        "row 0 'plan': expected a string, got 1 (int); "
        "row 2 'monthly_fee': expected a number, got 'abc' (str)"
    )
    assert failure.code == "invalid_input"
    assert isinstance(failure, InvalidInputError)


def test_errors_stop_at_max_errors_and_say_there_are_more() -> None:
    bad_rows = [row(tenure="x", plan=None) for _ in range(300)]
    bad_rows[0] = {"tenure": 1, "surprise": 2}

    failure = problems({"rows": bad_rows}, RequestValidator(SIGNATURE, max_errors=10))

    assert len(failure.errors) == 10
    assert failure.truncated
    assert [(error.row, error.field) for error in failure.errors[:6]] == [
        (0, "monthly_fee"),
        (0, "plan"),
        (0, "region"),
        (0, "autopay"),
        (0, "signup"),
        (0, "surprise"),
    ]
    assert [error.row for error in failure.errors[6:]] == [1, 1, 2, 2]
    assert str(failure).startswith("10+ invalid fields in 3 rows: row 0 'monthly_fee': missing")
    assert str(failure).endswith("; ... and more")


# Signatures serving cannot honour fail at start-up, not per batch.


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (ColumnSpec(name="x", type="integer", dtype="nonsense", nullable=False), "unknown dtype"),
        (ColumnSpec(name="x", type="string", dtype="period[D]", nullable=False), "cannot rebuild"),
    ],
)
def test_a_signature_with_a_dtype_serving_cannot_rebuild_is_refused(
    spec: ColumnSpec, expected: str
) -> None:
    with pytest.raises(InvalidInputError, match=expected):
        RequestValidator(Signature(inputs=[spec], output=SIGNATURE.output))


# Batches: one frame from many requests, as the model was trained.


@pytest.fixture
def training() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 60
    return pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, n),
            "monthly_fee": rng.normal(50, 10, n).round(2),
            "plan": rng.choice(PLANS, n),
            "region": pd.Categorical(rng.choice(["apac", "eu", "us"], n)),
            "autopay": rng.random(n) < 0.5,
            "churned": rng.random(n) < 0.3,
        }
    )


def test_to_frame_of_several_requests_equals_the_training_frame_and_its_predictions(
    training: pd.DataFrame,
) -> None:
    features = training.drop(columns="churned")
    encode = ColumnTransformer(
        [("levels", OneHotEncoder(handle_unknown="ignore"), ["plan", "region", "autopay"])],
        remainder="passthrough",
    )
    model = Pipeline([("encode", encode), ("classify", LogisticRegression(max_iter=500))])
    model.fit(features, training["churned"])
    validator = RequestValidator(infer_signature(features, model))
    records = json_rows(features)
    requests = [{"rows": records[:1]}, as_split(records[1:40], list(features)[::-1])]
    requests.append({"rows": records[40:]})

    frame = validator.to_frame([validator.validate(request) for request in requests])

    pd.testing.assert_frame_equal(frame, features, check_dtype=True)
    np.testing.assert_array_equal(model.predict_proba(frame), model.predict_proba(features))


# Properties.

NULLABLE_FLOATS = st.none() | st.floats(allow_nan=False, allow_infinity=False)
VALID_ROWS = st.fixed_dictionaries(
    {
        "tenure": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        "monthly_fee": NULLABLE_FLOATS | st.integers(min_value=-(2**53), max_value=2**53),
        "plan": st.sampled_from(PLANS),
        "region": st.none() | st.sampled_from(REGIONS),
        "autopay": st.just(True),
        "signup": st.none() | st.datetimes(),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(VALID_ROWS, min_size=1, max_size=20), chunk=st.integers(1, 20))
def test_valid_rows_always_validate_and_round_trip(rows: list[dict[str, Any]], chunk: int) -> None:
    training = pd.DataFrame(
        {
            spec.name: pd.Series(
                [record[spec.name] for record in rows],
                dtype=pd.CategoricalDtype(spec.categories)
                if spec.dtype == "category"
                else spec.dtype,
            )
            for spec in SIGNATURE.inputs
        }
    )
    validator = RequestValidator(SIGNATURE)
    records = json_rows(training)

    parts = [
        validator.validate({"rows": records[start : start + chunk]})
        for start in range(0, len(records), chunk)
    ]

    assert validator.validate(as_split(records, NAMES[::-1])) == validator.validate(
        {"rows": records}
    )
    pd.testing.assert_frame_equal(validator.to_frame(parts), training, check_dtype=True)


SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3)
JSON = SCALARS | st.lists(SCALARS, max_size=2) | st.dictionaries(st.text(max_size=3), SCALARS)
FIELDS = st.sampled_from([*NAMES, "other"])
PAYLOADS = (
    JSON
    | st.fixed_dictionaries({"rows": st.lists(st.dictionaries(FIELDS, JSON), max_size=3)})
    | st.fixed_dictionaries(
        {"columns": st.lists(FIELDS, max_size=7), "data": st.lists(st.lists(JSON), max_size=3)}
    )
)


@settings(max_examples=100, deadline=None)
@given(payload=PAYLOADS)
def test_any_json_either_validates_or_raises_request_invalid(payload: object) -> None:
    validator = RequestValidator(SIGNATURE, unseen_categories="pass", max_errors=5)

    outcome: ValidatedRows | RequestInvalid
    try:
        outcome = validator.validate(payload)
    except RequestInvalid as failure:
        outcome = failure

    if isinstance(outcome, RequestInvalid):
        assert 1 <= len(outcome.errors) <= 5
    else:
        frame = validator.to_frame([outcome, outcome])
        assert len(frame) == 2 * outcome.n_rows
        assert list(frame.columns) == NAMES


def test_levels_seen_only_in_the_example_do_not_reject_new_values() -> None:
    spec = ColumnSpec(
        name="plan",
        type="string",
        dtype="object",
        nullable=False,
        categories=["basic", "pro"],
        categories_complete=False,
    )
    signature = Signature(inputs=[spec], output=OutputSpec(kind="regressor", dtype="float64"))
    rows = RequestValidator(signature).validate({"rows": [{"plan": "family"}]})
    assert rows.columns == {"plan": ["family"]} and rows.unseen == {}
