"""Per-feature histograms: reference bins, known answers, merging and the JSON form."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from werft.errors import InvalidInputError
from werft.monitoring.histograms import (
    FeatureHistogram,
    FeatureSpec,
    default_spec_for,
    histogram,
    histograms,
    merge,
    merge_all,
    reference_spec,
)
from werft.tracking.datasets import profile_frame

EDGES = [0.0, 1.0, 2.0, 3.0]
NUMERIC = FeatureSpec(kind="numeric", edges=EDGES)
COLORS = FeatureSpec(kind="categorical", categories=["red", "green"])

# Below, two in [0, 1), one in [1, 2), two in [2, 3] (3 is the closed last edge), above; 2 nulls.
KNOWN = [-1.0, 0.0, 0.5, 1.0, 2.5, 3.0, 3.5, float("nan"), None]
KNOWN_COUNTS = [1, 2, 1, 2, 1]

AS_INPUT: list[Callable[[list[Any]], Any]] = [
    list,
    lambda v: np.array([math.nan if x is None else x for x in v]),
    lambda v: pd.Series(v, dtype="float64"),
    lambda v: pd.Series(v, dtype="Float64"),
    pa.array,
    lambda v: pa.chunked_array([pa.array(v[:3]), pa.array(v[3:])]),
]


def _approx_equal(a: FeatureHistogram, b: FeatureHistogram) -> None:
    """Equal, except that float sums may differ by rounding."""
    exact = {"sum", "sum_sq"}
    assert a.model_dump(exclude=exact) == b.model_dump(exclude=exact)
    for name in exact:
        left, right = getattr(a, name), getattr(b, name)
        assert (left is None) == (right is None)
        if left is not None:
            assert left == pytest.approx(right, rel=1e-9, abs=1e-6)


# --- known answers --------------------------------------------------------------------


@pytest.mark.parametrize("convert", AS_INPUT)
def test_numeric_counts_buckets_boundaries_and_nulls(convert: Callable[[list[Any]], Any]) -> None:
    result = histogram(convert(KNOWN), NUMERIC, name="x")

    assert result.name == "x"
    assert result.counts == KNOWN_COUNTS
    assert (result.nulls, result.total, result.finite) == (2, 9, 7)
    assert result.sum == pytest.approx(9.5)
    assert result.sum_sq == pytest.approx(1 + 0.25 + 1 + 6.25 + 9 + 12.25)
    assert (result.min, result.max) == (-1.0, 3.5)


def test_infinities_fall_outside_and_stay_out_of_the_stats() -> None:
    result = histogram([-math.inf, 0.5, math.inf], NUMERIC)

    assert result.counts == [1, 1, 0, 0, 1]
    assert (result.finite, result.sum, result.min, result.max) == (1, 0.5, 0.5, 0.5)


def test_constant_reference_and_no_edges() -> None:
    constant = FeatureSpec(kind="numeric", edges=[2.0, 2.0])
    assert histogram([1.0, 2.0, 2.0, 3.0], constant).counts == [1, 2, 1]
    no_edges = FeatureSpec(kind="numeric", edges=[])
    assert histogram([1.0, None, 3.0], no_edges).counts == [2]


def test_values_that_are_not_numbers_count_as_null() -> None:
    result = histogram(["x", 0.5, None, True], NUMERIC)  # True is 1
    assert (result.counts, result.nulls) == ([0, 1, 1, 0, 0], 2)


def test_mean_and_std_follow_numpy() -> None:
    values = np.random.default_rng(3).normal(5.0, 2.0, size=1000)
    result = histogram(values, NUMERIC)
    assert result.mean == pytest.approx(values.mean())
    assert result.std == pytest.approx(values.std(ddof=1))


@pytest.mark.parametrize(
    "convert",
    [list, pa.array, lambda v: pd.Series(v, dtype="category"), pd.Series],
)
def test_categorical_counts_with_other_bucket(convert: Callable[[list[Any]], Any]) -> None:
    values = ["red", "green", "red", "blue", None, "pink", "red"]
    result = histogram(convert(values), COLORS, name="color")

    assert result.counts == [3, 1, 2]
    assert (result.nulls, result.total) == (1, 7)
    assert result.finite is None and result.sum is None


@pytest.mark.parametrize("convert", [list, pa.array, lambda v: pd.Series(v, dtype="boolean")])
def test_categorical_compares_as_text_like_the_profile(
    convert: Callable[[list[Any]], Any],
) -> None:
    spec = FeatureSpec(kind="categorical", categories=["True", "False"])
    assert histogram(convert([True, True, False, None]), spec).counts == [2, 1, 0]
    numbers = FeatureSpec(kind="categorical", categories=["1", "2.5"])
    assert histogram([1, 2.5, 3, math.nan], numbers).counts == [1, 1, 1]


def test_reference_spec_reproduces_the_profile_bins() -> None:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(8.0, 1.0, size=5000),
            "age": rng.integers(18, 90, size=5000),
            "city": rng.choice(["Bern", "Basel", "Zug"], size=5000),
            "active": rng.random(5000) > 0.3,
            "seen": pd.date_range("2024-01-01", periods=5000, freq="h"),
        }
    )
    profile = profile_frame(frame)
    specs = reference_spec(json.loads(json.dumps(profile.model_dump(mode="json"))))

    assert sorted(specs) == ["active", "age", "city", "income"]  # datetimes have no bins
    result = histograms(frame, specs)
    for column in profile.columns:
        if column.numeric is not None:
            counts = result[column.name].counts
            assert counts[1:-1] == column.numeric.bin_counts
            assert counts[0] == counts[-1] == 0
        elif column.categorical is not None:
            assert result[column.name].counts[:-1] == [n for _, n in column.categorical.top]


def test_reference_spec_accepts_infinite_edges_in_json_form() -> None:
    profile = profile_frame(pd.DataFrame({"x": [-math.inf, math.inf, math.nan]}))
    spec = reference_spec(json.loads(json.dumps(profile.model_dump(mode="json"))))["x"]

    assert spec.edges == [-math.inf, math.inf]
    assert histogram([-math.inf, 5.0, math.inf], spec).counts == [0, 3, 0]


def test_reference_spec_rejects_what_is_not_a_profile() -> None:
    with pytest.raises(InvalidInputError, match="not a dataset profile"):
        reference_spec({"columns": "nope"})


def test_histograms_counts_a_missing_column_as_null() -> None:
    table = pa.table({"x": [1.5, 2.5]})
    result = histograms(table, {"x": NUMERIC, "gone": COLORS})
    assert result["gone"].nulls == result["gone"].total == 2
    assert result["x"].counts == [0, 0, 1, 1, 0]


# --- default specs --------------------------------------------------------------------


def test_default_numeric_spec_has_equal_width_bins_over_the_range() -> None:
    spec = default_spec_for(np.array([2.0, 7.0, math.nan, 12.0]))
    assert spec.kind == "numeric" and spec.edges is not None
    assert spec.edges == pytest.approx([2.0 + i for i in range(11)])
    assert histogram([2.0, 7.0, 12.0], spec).counts == [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert default_spec_for([4, 4]).edges == [4.0, 4.0]
    assert default_spec_for(pa.array([None], pa.float64())).edges == []
    assert default_spec_for([-1e308, 1e308]).edges == [-1e308, 1e308]  # the width overflows


def test_default_categorical_spec_keeps_the_most_frequent_values() -> None:
    values = ["b", "a", "b", "c", "a", "b", None, "d"]
    assert default_spec_for(values, top=2).categories == ["b", "a"]
    assert default_spec_for(pa.array(values), top=3).categories == ["b", "a", "c"]  # ties by value
    assert default_spec_for([True, False, True]).categories == ["True", "False"]
    assert default_spec_for(pa.nulls(3)).categories == []


# --- merging --------------------------------------------------------------------------


def test_merge_adds_counts_and_combines_stats() -> None:
    a = histogram([0.5, None, 5.0], NUMERIC, name="x")
    b = histogram([-2.0, 1.5], NUMERIC, name="x")
    merged = merge(a, b)

    assert merged.counts == [1, 1, 1, 0, 1]
    assert (merged.nulls, merged.total, merged.finite) == (1, 5, 4)
    assert (merged.sum, merged.min, merged.max) == (5.0, -2.0, 5.0)


def test_merge_keeps_stats_of_the_side_that_has_them() -> None:
    some = histogram([1.5], NUMERIC)
    assert merge(histogram([None], NUMERIC), some) == merge(some, histogram([None], NUMERIC))
    assert merge(histogram([None], NUMERIC), some).min == 1.5


@pytest.mark.parametrize(
    "other",
    [
        histogram([1.0], FeatureSpec(kind="numeric", edges=[0.0, 2.0]), name="x"),
        histogram([1.0], NUMERIC, name="y"),
        histogram(["red"], COLORS, name="x"),
    ],
)
def test_merge_rejects_different_bins(other: FeatureHistogram) -> None:
    with pytest.raises(ValueError, match="cannot merge"):
        merge(histogram([1.0], NUMERIC, name="x"), other)


def test_merge_all_needs_something() -> None:
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_all([])


numbers = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6),
    st.sampled_from([*EDGES, math.nan, math.inf, -math.inf, None]),
)
words = st.one_of(st.sampled_from(["red", "green", "blue"]), st.text(max_size=3), st.none())


@settings(max_examples=150, deadline=None)
@given(a=st.lists(numbers), b=st.lists(numbers), c=st.lists(numbers))
def test_numeric_histogram_of_concatenation_is_the_merge(
    a: list[float | None], b: list[float | None], c: list[float | None]
) -> None:
    ha, hb, hc = (histogram(part, NUMERIC, name="x") for part in (a, b, c))

    _approx_equal(histogram(a + b, NUMERIC, name="x"), merge(ha, hb))
    assert merge(ha, hb) == merge(hb, ha)
    _approx_equal(merge(merge(ha, hb), hc), merge(ha, merge(hb, hc)))
    _approx_equal(merge_all([ha, hb, hc]), histogram(a + b + c, NUMERIC, name="x"))


@settings(max_examples=100, deadline=None)
@given(a=st.lists(words), b=st.lists(words))
def test_categorical_histogram_of_concatenation_is_the_merge(
    a: list[str | None], b: list[str | None]
) -> None:
    ha, hb = histogram(a, COLORS), histogram(pa.array(b, pa.string()), COLORS)
    assert histogram(a + b, COLORS) == merge(ha, hb) == merge(hb, ha)


# --- the JSON form and validation -----------------------------------------------------


def test_json_round_trip_keeps_infinities() -> None:
    spec = FeatureSpec(kind="numeric", edges=[-math.inf, 0.0, math.inf])
    original = histogram([1e300, 1e300, -3.0, None], spec, name="big")
    assert original.sum_sq == math.inf

    document = json.dumps(original.model_dump(mode="json"), allow_nan=False)
    assert FeatureHistogram.model_validate(json.loads(document)) == original
    assert FeatureHistogram.model_validate_json(original.model_dump_json()) == original
    categorical = histogram(["red", "x"], COLORS, name="c")
    assert FeatureHistogram.model_validate_json(categorical.model_dump_json()) == categorical


@pytest.mark.parametrize(
    "change",
    [
        {"counts": [1, 2]},
        {"total": 99},
        {"kind": "categorical"},
        {"edges": [0.0, 1.0, math.nan, 3.0]},
        {"edges": [3.0, 2.0, 1.0, 0.0]},
    ],
)
def test_histogram_rejects_inconsistent_fields(change: dict[str, Any]) -> None:
    fields = histogram(KNOWN, NUMERIC).model_dump() | change
    with pytest.raises(ValidationError):
        FeatureHistogram.model_validate(fields)


def test_spec_rejects_a_single_edge_and_repeated_categories() -> None:
    with pytest.raises(ValidationError, match="at least two"):
        FeatureSpec(kind="numeric", edges=[1.0])
    with pytest.raises(ValidationError, match="distinct"):
        FeatureSpec(kind="categorical", categories=["a", "a"])


# --- speed ----------------------------------------------------------------------------


def test_a_million_values_take_well_under_50_ms() -> None:
    rng = np.random.default_rng(5)
    spec = FeatureSpec(kind="numeric", edges=[float(q) for q in np.linspace(-3, 3, 11)])
    values = {
        "numpy": rng.normal(size=1_000_000),
        "arrow": pa.array(rng.normal(size=1_000_000)),
    }
    for kind, column in values.items():
        best = math.inf
        for _ in range(5):
            start = time.perf_counter()
            histogram(column, spec)
            best = min(best, time.perf_counter() - start)
        assert best < 0.05, f"{kind}: {best * 1000:.1f} ms"
