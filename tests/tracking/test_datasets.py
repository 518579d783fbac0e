"""Dataset descriptions: digest, schema inference, profiles and table loading."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from werft.errors import InvalidInputError, NotFoundError
from werft.tracking.datasets import (
    QUANTILES,
    ColumnProfile,
    DatasetDescription,
    NumericStats,
    dataset_digest,
    describe,
    infer_schema,
    load_table,
    profile_frame,
)


def _mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [31, 45, 22, 60, 38],
            "income": [1200.5, np.nan, 830.0, 4100.25, 2200.0],
            "city": ["Bern", "Basel", None, "Bern", "Zug"],
            "segment": pd.Categorical(["a", "b", "a", None, "a"]),
            "active": [True, False, True, True, False],
            "visits": pd.array([3, None, 1, 7, 2], dtype="Int64"),
            "signup": pd.to_datetime(
                ["2021-03-01", "2020-01-15", None, "2022-07-30", "2021-11-11"]
            ),
        }
    )


def _column(df: pd.DataFrame, name: str) -> ColumnProfile:
    return next(column for column in profile_frame(df).columns if column.name == name)


def _numeric(values: Sequence[float] | np.ndarray[Any, Any]) -> NumericStats:
    stats = _column(pd.DataFrame({"x": values}), "x").numeric
    assert stats is not None
    return stats


# --- numeric profiles ---------------------------------------------------------------


def test_numeric_stats_match_numpy() -> None:
    values = np.random.default_rng(7).normal(10.0, 3.0, size=1000)
    stats = _numeric(values)

    assert stats.min == values.min()
    assert stats.max == values.max()
    assert stats.mean == pytest.approx(values.mean())
    assert stats.std == pytest.approx(values.std(ddof=1))
    assert list(stats.quantiles) == list(QUANTILES)
    for key, value in stats.quantiles.items():
        assert value == np.quantile(values, float(key))
    assert stats.bin_edges == list(np.quantile(values, [i / 10 for i in range(11)]))
    assert stats.bin_counts == [100] * 10


def test_bins_are_half_open_with_closed_last_bin() -> None:
    stats = _numeric(list(range(101)))

    assert stats.bin_edges == [float(edge) for edge in range(0, 101, 10)]
    assert stats.bin_counts == [10] * 9 + [11]


def test_a_few_distinct_values_get_one_bin_each() -> None:
    # Deciles would collapse to [0, 1, 5], lumping 1 and 5 together; a flag's
    # share (or a small count's) must stay visible to drift checks.
    stats = _numeric([0] * 81 + [1] * 10 + [5] * 10)

    assert stats.bin_edges == [0.0, 0.5, 3.0, 5.0]
    assert stats.bin_counts == [81, 10, 10]
    assert _numeric([0, 1, 1, 0, 1]).bin_edges == [0.0, 0.5, 1.0]


def test_duplicate_deciles_are_removed_when_values_are_many() -> None:
    stats = _numeric([0] * 81 + list(range(1, 21)))

    assert stats.bin_edges[0] == 0.0 and len(set(stats.bin_edges)) == len(stats.bin_edges)
    assert len(stats.bin_edges) < 11
    assert sum(stats.bin_counts) == 101


def test_constant_column_gets_one_bin() -> None:
    stats = _numeric([4.0, 4.0, 4.0])

    assert stats.bin_edges == [4.0, 4.0]
    assert stats.bin_counts == [3]
    assert stats.std == 0.0


def test_counts_and_nulls_for_integer_and_float_columns() -> None:
    df = _mixed_frame()

    income = _column(df, "income")
    visits = _column(df, "visits")

    assert (income.count, income.null_count) == (4, 1)
    assert (visits.count, visits.null_count) == (4, 1)
    assert visits.numeric is not None
    assert visits.numeric.mean == 3.25


def test_infinities_count_in_min_max_and_outer_bins_only() -> None:
    finite = [1.0, 2.0, 3.0, 4.0]
    stats = _numeric([*finite, np.inf, -np.inf, np.inf, np.nan])
    profile = _column(pd.DataFrame({"x": [*finite, np.inf, -np.inf, np.inf, np.nan]}), "x")

    assert (profile.count, profile.null_count) == (7, 1)
    assert (stats.min, stats.max) == (-np.inf, np.inf)
    assert stats.mean == 2.5
    assert stats.std == pytest.approx(np.std(finite, ddof=1))
    assert stats.quantiles["0.5"] == np.quantile(finite, 0.5)
    assert (stats.bin_edges[0], stats.bin_edges[-1]) == (1.0, 4.0)
    assert stats.bin_counts[0] == 2  # -inf and 1.0
    assert stats.bin_counts[-1] == 3  # 4.0 and two +inf
    assert sum(stats.bin_counts) == 7


def test_infinities_serialise_as_strings_and_parse_back() -> None:
    stats = _numeric([np.inf, -np.inf, 1.0])

    dumped = stats.model_dump(mode="json")

    assert (dumped["min"], dumped["max"]) == ("-Infinity", "Infinity")
    assert NumericStats.model_validate(dumped) == stats
    assert stats.model_dump()["min"] == -np.inf


def test_column_of_only_infinities() -> None:
    stats = _numeric([np.inf, np.inf, -np.inf])

    assert stats.mean is None
    assert stats.quantiles == {}
    assert stats.bin_edges == [-np.inf, np.inf]
    assert stats.bin_counts == [3]
    json.dumps(stats.model_dump(mode="json"), allow_nan=False)


def test_overflowing_mean_is_none_not_inf() -> None:
    stats = _numeric([1e308, 1e308])

    assert stats.mean is None
    assert stats.max == 1e308


def test_quantiles_of_extreme_values_stay_finite() -> None:
    values = [-1.5e308, 0.0, 1.5e308]
    stats = _numeric(values)

    assert stats.quantiles["0.5"] == 0.0
    assert stats.quantiles["0.25"] == pytest.approx(-0.75e308)
    assert all(np.isfinite(stats.bin_edges))
    assert sum(stats.bin_counts) == 3


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)),
        max_size=40,
    )
)
def test_bins_always_account_for_every_value(values: list[float]) -> None:
    df = pd.DataFrame({"x": pd.Series(values, dtype="float64")})
    profile = profile_frame(df).columns[0]
    stats = profile.numeric
    assert stats is not None

    assert sum(stats.bin_counts) == profile.count
    if profile.count:
        assert len(stats.bin_edges) >= 2
        assert len(stats.bin_counts) == len(stats.bin_edges) - 1
        assert stats.bin_edges == sorted(stats.bin_edges)
    json.dumps(profile.model_dump(mode="json"), allow_nan=False)


# --- categorical, boolean and datetime profiles ------------------------------------


def test_top_values_most_frequent_first_ties_by_value() -> None:
    df = pd.DataFrame({"s": ["b", "a", "c", "b", "c", "d", None]})

    profile = _column(df, "s")

    assert (profile.count, profile.null_count) == (6, 1)
    assert profile.categorical is not None
    assert profile.categorical.top == [("b", 2), ("c", 2), ("a", 1), ("d", 1)]
    assert profile.categorical.distinct == 4
    assert profile.categorical.other_count == 0


def test_top_values_keep_fifty_and_count_the_rest() -> None:
    values = [f"v{i:03d}" for i in range(80)] + ["v079"] * 4 + ["v050"] * 2
    stats = _column(pd.DataFrame({"s": values}), "s").categorical
    assert stats is not None

    assert stats.distinct == 80
    assert len(stats.top) == 50
    assert stats.top[:2] == [("v079", 5), ("v050", 3)]
    # Among the tied singletons the smallest values win.
    assert [value for value, _ in stats.top[2:]] == [f"v{i:03d}" for i in range(48)]
    assert stats.other_count == len(values) - sum(count for _, count in stats.top)


def test_categorical_dtype_ignores_unused_categories() -> None:
    df = pd.DataFrame({"c": pd.Categorical(["x", "y", "x"], categories=["x", "y", "z"])})

    stats = _column(df, "c").categorical

    assert stats is not None
    assert stats.distinct == 2
    assert stats.top == [("x", 2), ("y", 1)]


def test_booleans_are_categorical_as_text() -> None:
    df = pd.DataFrame({"b": pd.array([True, None, False, True], dtype="boolean")})

    profile = _column(df, "b")

    assert profile.numeric is None
    assert profile.null_count == 1
    assert profile.categorical is not None
    assert profile.categorical.top == [("True", 2), ("False", 1)]


def test_mixed_object_column_is_profiled_as_strings() -> None:
    df = pd.DataFrame({"m": pd.Series([1, "1", "x", 2.5, None], dtype=object)})

    profile = _column(df, "m")

    assert profile.type == "string"
    assert profile.categorical is not None
    assert profile.categorical.top == [("1", 2), ("2.5", 1), ("x", 1)]
    assert profile.categorical.distinct == 3


def test_datetime_min_and_max_as_iso_strings() -> None:
    df = _mixed_frame()
    df["zoned"] = df["signup"].dt.tz_localize("UTC")

    signup = _column(df, "signup")
    zoned = _column(df, "zoned")

    assert (signup.count, signup.null_count) == (4, 1)
    assert (signup.datetime_min, signup.datetime_max) == (
        "2020-01-15T00:00:00",
        "2022-07-30T00:00:00",
    )
    assert zoned.datetime_min == "2020-01-15T00:00:00+00:00"
    assert signup.numeric is None
    assert signup.categorical is None


# --- schema ---------------------------------------------------------------------------


def test_schema_types_and_nullability() -> None:
    df = _mixed_frame()
    df["codes"] = pd.Series(["a", 1, None], dtype=object).reindex(range(5), fill_value="z")

    schema = {column.name: column for column in infer_schema(df)}

    assert {name: column.type for name, column in schema.items()} == {
        "age": "integer",
        "income": "float",
        "city": "string",
        "segment": "categorical",
        "active": "boolean",
        "visits": "integer",
        "signup": "datetime",
        "codes": "string",
    }
    assert {name for name, column in schema.items() if column.nullable} == {
        "income",
        "city",
        "segment",
        "visits",
        "signup",
        "codes",
    }
    assert schema["age"].dtype == "int64"
    assert schema["segment"].dtype == "category"
    assert schema["visits"].dtype == "Int64"
    assert schema["codes"].dtype == "object"
    assert list(schema) == list(df.columns)


# --- empty and all-null data ----------------------------------------------------------


def test_empty_frame() -> None:
    df = pd.DataFrame({"a": pd.Series([], dtype="float64"), "s": pd.Series([], dtype=object)})

    _, description = describe(df)

    assert description.row_count == 0
    assert [column.nullable for column in description.schema_] == [False, False]
    numeric, text = description.profile.columns
    assert (numeric.count, numeric.null_count) == (0, 0)
    assert numeric.numeric == NumericStats(
        min=None, max=None, mean=None, std=None, quantiles={}, bin_edges=[], bin_counts=[]
    )
    assert text.categorical is not None
    assert (text.categorical.distinct, text.categorical.top) == (0, [])
    assert profile_frame(pd.DataFrame()).columns == []
    assert dataset_digest(pd.DataFrame()).startswith("sha256:")


def test_all_null_columns() -> None:
    df = pd.DataFrame(
        {
            "f": [np.nan, np.nan],
            "i": pd.array([None, None], dtype="Int64"),
            "s": [None, None],
            "d": pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]"),
        }
    )

    _, description = describe(df)

    for column in description.profile.columns:
        assert (column.count, column.null_count) == (0, 2)
    f, i, s, d = description.profile.columns
    assert f.numeric is not None
    assert f.numeric.min is None
    assert i.numeric is not None
    assert i.numeric.bin_counts == []
    assert s.categorical is not None
    assert s.categorical.top == []
    assert (d.datetime_min, d.datetime_max) == (None, None)
    json.dumps(description.model_dump(mode="json"), allow_nan=False)


# --- digest ---------------------------------------------------------------------------


def test_digest_format_and_determinism() -> None:
    digest = dataset_digest(_mixed_frame())

    assert digest.startswith("sha256:")
    assert len(digest) == len("sha256:") + 64
    assert dataset_digest(_mixed_frame()) == digest


def test_digest_same_for_parquet_round_trip(tmp_path: Path) -> None:
    df = _mixed_frame()
    df["zoned"] = df["signup"].dt.tz_localize("Europe/Zurich")
    df["tiny"] = np.array([1, 2, 3, 4, 5], dtype="int8")
    path = tmp_path / "data.parquet"
    df.to_parquet(path)

    loaded, _ = load_table(path)

    assert dataset_digest(loaded) == dataset_digest(df)


def test_digest_same_for_csv_round_trip_where_types_survive(tmp_path: Path) -> None:
    df = pd.DataFrame({"n": [1, 2, 3], "x": [0.5, np.nan, -2.25], "s": ["a", None, "c"]})
    path = tmp_path / "data.csv.gz"
    df.to_csv(path, index=False)

    loaded, _ = load_table(path)

    assert dataset_digest(loaded) == dataset_digest(df)


def test_digest_ignores_index_and_physical_dtypes() -> None:
    df = pd.DataFrame({"n": [1, 2, 3], "x": [0.5, 0.0, 2.0], "s": ["a", "b", "a"]})
    reindexed = df.set_axis(["p", "q", "r"])
    physical = pd.DataFrame(
        {
            "n": pd.array([1, 2, 3], dtype="Int32"),
            "x": np.array([0.5, -0.0, 2.0], dtype="float32"),
            "s": pd.Series(["a", "b", "a"], dtype=object),
        }
    )

    assert dataset_digest(reindexed) == dataset_digest(df)
    assert dataset_digest(physical) == dataset_digest(df)


def test_digest_changes_with_content_names_and_types() -> None:
    df = _mixed_frame()
    digest = dataset_digest(df)

    changed = df.copy()
    changed.loc[2, "age"] = 23
    renamed = df.rename(columns={"age": "years"})
    as_text = df.astype({"segment": "str"})
    one_null_more = df.copy()
    one_null_more.loc[0, "income"] = np.nan

    others = [dataset_digest(frame) for frame in (changed, renamed, as_text, one_null_more)]
    assert digest not in others
    assert len(set(others)) == len(others)


def test_digest_handles_extreme_integers_and_dates() -> None:
    big = pd.DataFrame({"u": np.array([2**64 - 1, 0], dtype="uint64")})
    minus_one = pd.DataFrame({"u": np.array([-1, 0], dtype="int64")})
    far = pd.DataFrame({"d": np.array(["3000-01-01", "1000-01-01"], dtype="datetime64[us]")})

    assert dataset_digest(big) != dataset_digest(minus_one)
    assert dataset_digest(far).startswith("sha256:")


# --- loading and describe -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".parquet", ".pq", ".csv", ".csv.gz"])
def test_load_table_reads_supported_files(tmp_path: Path, suffix: str) -> None:
    df = pd.DataFrame({"n": [1, 2], "s": ["a", "b"]})
    path = tmp_path / f"data{suffix}"
    if "csv" in suffix:
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path)

    loaded, uri = load_table(str(path))

    pd.testing.assert_frame_equal(loaded, df)
    assert uri == path.resolve().as_uri()
    assert uri.startswith("file://")


def test_load_table_passes_dataframes_through() -> None:
    df = _mixed_frame()

    loaded, uri = load_table(df)

    assert loaded is df
    assert uri is None


@pytest.mark.parametrize("data", [b"a,b\n1,2\n", [1, 2], "data.json", "table.xlsx"])
def test_load_table_rejects_unsupported_input(data: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"\.parquet"):
        load_table(data)


def test_load_table_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.parquet"

    with pytest.raises(NotFoundError, match=r"absent\.parquet"):
        load_table(path)


def test_load_table_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")

    with pytest.raises(InvalidInputError, match=r"broken\.parquet"):
        load_table(path)


def test_describe_file_and_source_uri_override(tmp_path: Path) -> None:
    df = _mixed_frame()
    path = tmp_path / "data.parquet"
    df.to_parquet(path)

    _, from_file = describe(path)
    _, overridden = describe(path, source_uri="s3://bucket/data.parquet")
    _, from_frame = describe(df)

    assert from_file.source_uri == path.resolve().as_uri()
    assert overridden.source_uri == "s3://bucket/data.parquet"
    assert from_frame.source_uri is None
    assert from_file.digest == from_frame.digest
    assert from_file.row_count == 5
    assert from_file.profile.row_count == 5


def test_description_serialises_schema_key_and_round_trips() -> None:
    _, description = describe(_mixed_frame())

    dumped = description.model_dump(mode="json")

    assert "schema" in dumped
    assert "schema_" not in dumped
    text = json.dumps(dumped, allow_nan=False)
    assert DatasetDescription.model_validate(json.loads(text)) == description
