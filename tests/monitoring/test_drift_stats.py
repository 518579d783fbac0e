"""Drift statistics: known answers against SciPy, and the grid's accuracy bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial import distance

from werft.monitoring.grid import GRID_BINS, GRID_SIGMAS, grid
from werft.monitoring.stats import (
    PSI_EPSILON,
    Steps,
    chi2_test,
    jensenshannon,
    ks_pvalue,
    ks_test,
    psi,
    wasserstein_ks,
)

GRID_TOLERANCE = 2 * GRID_SIGMAS / GRID_BINS  # of the normalised Wasserstein distance


def _exact(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    return wasserstein_ks(Steps.points(np.sort(a)), Steps.points(np.sort(b)))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            np.random.default_rng(1).normal(0, 1, 300),
            np.random.default_rng(2).normal(0.3, 1.5, 450),
        ),
        (
            np.random.default_rng(3).integers(0, 4, 200) * 1.0,
            np.random.default_rng(4).integers(0, 6, 90) * 1.0,
        ),
        (np.array([1.0]), np.array([3.0, 3.0, 5.0])),
        (np.array([2.0, 2.0]), np.array([2.0])),
    ],
    ids=["normal", "ties", "tiny", "equal"],
)
def test_exact_wasserstein_and_ks_statistic_equal_scipy(a: np.ndarray, b: np.ndarray) -> None:
    w, d = _exact(a, b)
    assert w == pytest.approx(sps.wasserstein_distance(a, b), rel=1e-12, abs=1e-12)
    assert d == pytest.approx(sps.ks_2samp(a, b).statistic, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
)
def test_exact_wasserstein_matches_scipy_on_any_samples(a: list[float], b: list[float]) -> None:
    x, y = np.array(a), np.array(b)
    expected = sps.wasserstein_distance(x, y)
    assert _exact(x, y)[0] == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_ks_test_is_scipys_two_sample_test() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 400), rng.normal(0.2, 1, 500)
    expected = sps.ks_2samp(a, b)
    assert ks_test(a, b) == (pytest.approx(expected.statistic), pytest.approx(expected.pvalue))


def test_ks_pvalue_is_scipys_asymptotic_one() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.normal(0, 1, 20_000), rng.normal(0.02, 1, 15_000)
    expected = sps.ks_2samp(a, b, method="asymp")
    assert ks_pvalue(expected.statistic, a.size, b.size) == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi2_is_the_contingency_test_without_correction() -> None:
    ref, cur = np.array([120.0, 80.0, 40.0, 0.0]), np.array([90.0, 95.0, 30.0, 12.0])
    expected = sps.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert chi2_test(ref, cur) == (
        pytest.approx(expected.statistic),
        pytest.approx(expected.pvalue),
    )


def test_chi2_on_two_categories_is_the_pooled_z_test_squared() -> None:
    ref, cur = np.array([300.0, 700.0]), np.array([340.0, 660.0])
    pooled = (300 + 340) / 2000
    z = (0.34 - 0.30) / math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 1000))
    statistic, p_value = chi2_test(ref, cur)
    assert statistic == pytest.approx(z * z)
    assert p_value == pytest.approx(2 * sps.norm.sf(abs(z)))


def test_chi2_ignores_buckets_empty_on_both_sides_and_needs_two() -> None:
    assert chi2_test(np.array([5.0, 0.0]), np.array([7.0, 0.0])) == (0.0, 1.0)
    with_empty = chi2_test(np.array([5.0, 0.0, 3.0]), np.array([2.0, 0.0, 6.0]))
    assert with_empty == chi2_test(np.array([5.0, 3.0]), np.array([2.0, 6.0]))


def test_jensenshannon_is_scipys_natural_log_distance() -> None:
    ref, cur = np.array([50.0, 30.0, 20.0, 0.0]), np.array([10.0, 30.0, 45.0, 15.0])
    assert jensenshannon(ref, cur) == pytest.approx(distance.jensenshannon(ref, cur))
    assert jensenshannon(ref, ref * 3) == pytest.approx(0.0, abs=1e-12)
    disjoint = jensenshannon(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert disjoint == pytest.approx(math.sqrt(math.log(2)))


def test_psi_by_hand() -> None:
    # Shares 0.5/0.3/0.2/0 against 0.4/0.3/0.2/0.1; the empty reference bucket counts as 1e-4:
    # (0.4 - 0.5) ln(0.4 / 0.5) + 0 + 0 + (0.1 - 1e-4) ln(0.1 / 1e-4) = 0.0223144 + 0.6900847
    ref, cur = np.array([50.0, 30.0, 20.0, 0.0]), np.array([40.0, 30.0, 20.0, 10.0])
    assert PSI_EPSILON == 1e-4
    assert psi(ref, cur) == pytest.approx(0.7123991, rel=1e-6)
    assert psi(ref, ref) == 0.0


def _normalised(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Normalised Wasserstein distance from the grid and from SciPy."""
    fitted = grid(a, b)
    assert fitted is not None
    w, _ = wasserstein_ks(fitted.steps(fitted.reference), fitted.steps(fitted.current))
    return w / np.std(a), sps.wasserstein_distance(a, b) / np.std(a)


@pytest.mark.parametrize(
    "case", ["shift", "same", "scale", "lognormal", "outliers", "integers", "far-away"]
)
def test_grid_wasserstein_is_within_the_documented_tolerance(case: str) -> None:
    rng = np.random.default_rng(7)
    a = rng.normal(10, 2, 50_000)
    b = {
        "shift": lambda: rng.normal(11, 2, 40_000),
        "same": lambda: rng.normal(10, 2, 40_000),
        "scale": lambda: rng.normal(10, 6, 40_000),
        "lognormal": lambda: rng.lognormal(2.3, 0.2, 40_000),
        "outliers": lambda: np.concatenate([rng.normal(10, 2, 39_990), np.full(10, 1e7)]),
        "integers": lambda: np.round(rng.normal(10, 2, 40_000)),
        "far-away": lambda: rng.normal(500, 2, 40_000),
    }[case]()
    if case == "integers":
        a = np.round(a)
    if case == "outliers":
        a = np.concatenate([a, [-1e6, 5e6]])
    binned, exact = _normalised(a, b)
    assert abs(binned - exact) <= GRID_TOLERANCE


def test_grid_spans_the_reference_and_keeps_tails_exactly() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(0, 1, 30_000), rng.normal(0.5, 1.3, 20_000)
    fitted = grid(a, b)
    assert fitted is not None
    assert fitted.lo == a.min() and fitted.hi == a.max()
    assert fitted.reference.counts[0] == fitted.reference.counts[-1] == 0  # min and max inside
    assert fitted.reference.counts.sum() == a.size and fitted.current.counts.sum() == b.size
    assert fitted.current.above.size == fitted.current.counts[-1] > 0
    assert np.all(fitted.current.above > a.max())
    assert fitted.current.sum_sq == pytest.approx(float(np.square(b).sum()), rel=1e-12)
    skewed = rng.exponential(1.0, 30_000)  # its maximum lies beyond 5 standard deviations
    fitted = grid(skewed, b)
    assert fitted is not None
    assert fitted.hi == pytest.approx(skewed.mean() + GRID_SIGMAS * skewed.std())
    assert fitted.reference.above.size == fitted.reference.counts[-1] > 0


def test_grid_declines_a_constant_reference() -> None:
    assert grid(np.full(20_000, 3.0), np.arange(20_000.0)) is None


def test_histogram_steps_spread_each_bin_evenly() -> None:
    # Uniform on [0, 1] against uniform on [0.5, 1.5], both in bins of 0.5: W1 = 0.5, D = 0.5.
    ref = Steps(np.array([0.0, 0.5, 1.0, 1.5]), np.array([50.0, 50.0, 0.0]))
    cur = Steps(np.array([0.0, 0.5, 1.0, 1.5]), np.array([0.0, 50.0, 50.0]))
    assert wasserstein_ks(ref, cur) == (pytest.approx(0.5), pytest.approx(0.5))
    point = Steps(np.array([0.25, 0.25]), np.array([1.0]))  # all mass at 0.25
    assert wasserstein_ks(point, Steps(np.array([0.0, 0.5]), np.array([1.0])))[0] == (
        pytest.approx(0.125)
    )
