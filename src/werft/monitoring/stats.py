"""The drift statistics: pure functions on samples and bin counts (no I/O).

Two kinds of input. Numeric distributions are :class:`Steps`: counts spread
evenly over consecutive intervals, a point mass where an interval has no
width. Exact samples are all point masses (:meth:`Steps.points`); histograms
are intervals. :func:`wasserstein_ks` compares two of them exactly as given.
Counts per bucket (categories, or the numeric bins of a histogram) go to
:func:`chi2_test`, :func:`jensenshannon` and :func:`psi`.

SciPy supplies the p-value distributions. ``scipy.stats`` takes most of a
second to import, and the large-sample defaults (Wasserstein, Jensen-Shannon)
never need it, so the two functions that do import it when first called.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

PSI_EPSILON = 1e-4
"""Share that an empty bucket counts as in :func:`psi`, so the logarithm stays finite."""


@dataclass(frozen=True)
class Steps:
    """A distribution on the line: ``counts[i]`` spread evenly over ``[knots[i], knots[i + 1]]``.

    ``knots`` are non-decreasing and one longer than ``counts``; an interval of
    no width holds a point mass, an interval with count 0 is a gap.
    """

    knots: FloatArray
    counts: FloatArray

    @classmethod
    def points(cls, values: FloatArray) -> Steps:
        """One point mass per value (a sample); ``values`` must be sorted."""
        if values.size == 0:
            return cls(np.empty(0), np.empty(0))
        counts = np.zeros(2 * values.size - 1)
        counts[::2] = 1.0
        return cls(np.repeat(values, 2), counts)

    @classmethod
    def join(cls, *parts: Steps) -> Steps:
        """The parts in order, gaps between; each starts where the one before ends, or later."""
        present = [part for part in parts if part.knots.size]
        if not present:
            return cls(np.empty(0), np.empty(0))
        counts: list[FloatArray] = [present[0].counts]
        for part in present[1:]:
            counts += [np.zeros(1), part.counts]
        return cls(np.concatenate([p.knots for p in present]), np.concatenate(counts))

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def cdf(self, at: FloatArray, *, left: bool) -> FloatArray:
        """Share of the mass at or below each point (``left``: strictly below)."""
        knots, counts = self.knots, self.counts
        below = np.concatenate(([0.0], np.cumsum(counts)))
        # The last knot below (or at) each point; the interval after it holds the point.
        i = np.searchsorted(knots, at, side="left" if left else "right") - 1
        inside = (i >= 0) & (i < counts.size)
        j = np.clip(i, 0, max(counts.size - 1, 0))
        start, width = knots[j], knots[np.minimum(j + 1, knots.size - 1)] - knots[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            part = np.where(width > 0, np.clip((at - start) / width, 0.0, 1.0), 1.0)
        mass = np.where(inside, below[j] + counts[j] * part, np.where(i < 0, 0.0, below[-1]))
        result: FloatArray = mass / below[-1]
        return result


def wasserstein_ks(reference: Steps, current: Steps) -> tuple[float, float]:
    """The Wasserstein-1 distance and the Kolmogorov-Smirnov statistic D of two distributions.

    Both follow from the difference of the two CDFs: W1 is the area between
    them, D the largest gap. Between the knots of either side both CDFs are
    linear, so the area is exact for the distributions as given. For two
    samples (:meth:`Steps.points`) the results equal
    ``scipy.stats.wasserstein_distance`` and ``scipy.stats.ks_2samp``'s D.
    """
    at = np.union1d(reference.knots, current.knots)
    if at.size == 0:
        return 0.0, 0.0
    right = reference.cdf(at, left=False) - current.cdf(at, left=False)
    left = reference.cdf(at, left=True) - current.cdf(at, left=True)
    # On (at[k], at[k+1]) the difference runs linearly from right[k] to left[k+1].
    start, end, width = np.abs(right[:-1]), np.abs(left[1:]), np.diff(at)
    same_sign = right[:-1] * left[1:] >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = (start * start + end * end) / (2.0 * (start + end))
    area = np.where(same_sign, (start + end) / 2.0, np.nan_to_num(crossing))
    distance = float(np.sum(width * area))
    statistic = float(max(np.abs(right).max(), np.abs(left).max()))
    return distance, statistic


def ks_test(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test on the samples: ``(D, p-value)``.

    ``scipy.stats.ks_2samp`` with its defaults: the exact p-value while both
    samples have at most 10,000 values, the asymptotic one above.
    """
    result = _scipy_stats().ks_2samp(reference, current)
    return float(result.statistic), float(result.pvalue)


def ks_pvalue(statistic: float, reference_rows: int, current_rows: int) -> float:
    """The p-value of a two-sample KS statistic D, as ``ks_2samp(method="asymp")`` computes it."""
    big, small = max(reference_rows, current_rows), min(reference_rows, current_rows)
    effective = round(big * small / (big + small))
    return float(np.clip(_scipy_stats().kstwo.sf(statistic, max(effective, 1)), 0.0, 1.0))


def chi2_test(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """Chi-square test of homogeneity on two rows of bucket counts: ``(statistic, p-value)``.

    The 2 x k contingency table of the buckets seen on either side, without
    Yates' correction: ``scipy.stats.chi2_contingency(..., correction=False)``.
    With two buckets it is the pooled two-proportion z-test (chi2 = z²).
    Fewer than two buckets: nothing can differ, ``(0.0, 1.0)``.
    """
    seen = (reference + current) > 0
    table = np.vstack([reference[seen], current[seen]]).astype(np.float64)
    if table.shape[1] < 2 or table.sum(axis=1).min() == 0:
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, float(_scipy_stats().chi2.sf(statistic, table.shape[1] - 1))


def jensenshannon(reference: FloatArray, current: FloatArray) -> float:
    """Jensen-Shannon distance of two rows of bucket counts, natural logarithm.

    The square root of the JS divergence of the two shares: 0 for equal
    shares, at most ``sqrt(ln 2)`` (0.833) for disjoint ones. Equal to
    ``scipy.spatial.distance.jensenshannon(reference, current)`` (base e),
    which Evidently uses.
    """
    p, q = reference / reference.sum(), current / current.sum()
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0)
    return math.sqrt(max(float(terms.sum()) / 2.0, 0.0))


def psi(reference: FloatArray, current: FloatArray) -> float:
    """Population stability index of two rows of bucket counts.

    ``sum((c - r) * ln(c / r))`` over the shares ``r`` and ``c`` of each
    bucket, where an empty bucket's share counts as :data:`PSI_EPSILON`.
    """
    r, c = reference / reference.sum(), current / current.sum()
    r, c = np.where(r > 0, r, PSI_EPSILON), np.where(c > 0, c, PSI_EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def _scipy_stats() -> Any:
    """``scipy.stats``, imported on first use (see the module docstring)."""
    from scipy import stats  # type: ignore[import-untyped]

    return stats
