"""LTTB keeps a long history's shape, and its peaks, in at most the points asked for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from werft.ui.lttb import MAX_CHART_POINTS, lttb


def test_a_100000_point_history_becomes_2000_points_with_its_peaks() -> None:
    rng = np.random.default_rng(7)
    x = np.arange(100_000, dtype=np.float64)
    y = rng.normal(0, 1, size=x.size)
    y[31_337], y[77_001], y[5] = 40.0, -35.0, 25.0
    xs, ys = lttb(x, y)
    assert len(xs) == MAX_CHART_POINTS == 2000
    assert {31_337.0, 77_001.0, 5.0} <= set(xs.tolist())
    assert (ys.max(), ys.min()) == (40.0, -35.0)
    assert (xs[0], xs[-1]) == (0.0, 99_999.0)
    assert np.all(np.diff(xs) > 0)


def test_a_short_history_comes_back_unchanged() -> None:
    x, y = np.arange(10.0), np.linspace(0, 1, 10)
    xs, ys = lttb(x, y, 100)
    assert xs.tolist() == x.tolist() and ys.tolist() == y.tolist()


def test_non_finite_values_are_left_out() -> None:
    y = np.array([1.0, np.nan, 2.0, np.inf, 3.0])
    xs, ys = lttb(np.arange(5.0), y, 100)
    assert xs.tolist() == [0.0, 2.0, 4.0] and ys.tolist() == [1.0, 2.0, 3.0]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        lttb(np.arange(5.0), np.arange(5.0), 2)
    with pytest.raises(ValueError, match="equal length"):
        lttb(np.arange(5.0), np.arange(4.0))


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=400),
    threshold=st.integers(3, 50),
)
def test_output_is_a_subset_in_order_with_the_ends_and_the_extremes_nearby(
    values: list[float], threshold: int
) -> None:
    x, y = np.arange(len(values), dtype=np.float64), np.array(values)
    xs, ys = lttb(x, y, threshold)
    assert len(xs) == min(threshold, len(values))
    assert np.all(np.diff(xs) > 0)
    assert (xs[0], xs[-1]) == (0.0, len(values) - 1.0)
    assert np.array_equal(y[xs.astype(int)], ys)
