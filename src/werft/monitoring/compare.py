"""One feature's two sides, made ready for any drift statistic, and the statistics on them.

:func:`columns` prepares two table columns, :func:`histograms` two
histograms; both give an :class:`Outcome` (or the reason the feature cannot
be compared), and :func:`statistic` computes any method on it. Pure: no I/O.

Numeric samples of up to :data:`EXACT_LIMIT` values are sorted and compared
exactly; larger ones are counted on a fine grid (:mod:`werft.monitoring.grid`).
The KS test always gets the raw samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from werft.errors import InvalidInputError
from werft.monitoring import samples, stats
from werft.monitoring.grid import grid
from werft.monitoring.histograms import FeatureHistogram
from werft.monitoring.samples import Column, Counts, Numbers
from werft.monitoring.stats import FloatArray, Steps
from werft.tracking.datasets import TOP_VALUES

EXACT_LIMIT = 10_000
"""Numeric samples up to this many values (both sides) are sorted and compared exactly."""

FEW_VALUES = 5
"""A numeric feature with at most this many distinct values is compared by value, as a category."""

MIN_SCALE = 0.001
"""Floor of the reference standard deviation that divides the Wasserstein distance (Evidently's)."""

BUCKET_METHODS = frozenset({"chi2", "jensenshannon", "psi"})
_DECILES = np.array([i / 10 for i in range(11)])  # i / 10, not linspace: 0.3 is 0.3
_TEMPORAL = (
    "a date or time column is not compared; turn it into a number (an age in days) to check it"
)

Pair = tuple[FloatArray, FloatArray]


@dataclass(frozen=True)
class Outcome:
    """Both sides of one feature.

    ``buckets`` are the counts per category, or per bin of the two
    histograms (numeric); ``by_value`` the counts per distinct value of a
    numeric feature with few of them. ``steps`` gives the two numeric
    distributions (lazily: sorting costs), ``samples`` the raw finite values
    for the exact KS test, ``scale`` the reference standard deviation.
    """

    kind: Literal["numeric", "categorical"]
    reference_rows: int
    current_rows: int
    reference: FeatureHistogram
    current: FeatureHistogram
    buckets: Pair
    by_value: Pair | None = None
    steps: Callable[[], tuple[Steps, Steps]] | None = None
    samples: Pair | None = None
    scale: float = 1.0


def statistic(outcome: Outcome, method: str) -> tuple[float, float | None, str | None]:
    """``(statistic, p-value or None, note or None)`` of one method."""
    if method in BUCKET_METHODS:
        reference, current = outcome.by_value or outcome.buckets
        note = None
        if outcome.by_value is not None:
            note = f"{reference.size} distinct values, compared by value"
        if method == "chi2":
            value, p_value = stats.chi2_test(reference, current)
            return value, p_value, note
        if method == "jensenshannon":
            return stats.jensenshannon(reference, current), None, note
        return stats.psi(reference, current), None, note
    if method == "ks" and outcome.samples is not None:
        d, p_value = stats.ks_test(*outcome.samples)
        return d, p_value, None
    assert outcome.steps is not None  # numeric: the caller checked the kind
    distance, d = stats.wasserstein_ks(*outcome.steps())
    if method == "ks":
        return d, stats.ks_pvalue(d, outcome.reference_rows, outcome.current_rows), "D at bin edges"
    return distance / outcome.scale, None, None


def columns(name: str, reference: Column, current: Column, as_categories: bool) -> Outcome | str:
    """Prepare two table columns; a string says why they cannot be compared."""
    kinds = samples.kind_of(reference), samples.kind_of(current)
    if "temporal" in kinds:
        return _TEMPORAL
    if as_categories:
        by_number = kinds == ("numeric", "numeric")
        ref = samples.counts(reference, numeric=by_number)
        return _categorical(name, ref, samples.counts(current, numeric=by_number))
    if kinds[0] != kinds[1]:
        for side, values in (("reference", reference), ("current", current)):
            if not _present(values):
                return _no_values(side, len(values))
        numeric = "reference" if kinds[0] == "numeric" else "current"
        other = "current" if numeric == "reference" else "reference"
        return (
            f"numbers in the {numeric} data but not in the {other} data; fix the type, or "
            f"pass categorical=[{name!r}] to compare the values as categories"
        )
    if kinds[0] == "numeric":
        return _numeric(name, samples.numbers(reference), samples.numbers(current))
    return _categorical(
        name, samples.counts(reference, numeric=False), samples.counts(current, numeric=False)
    )


def histograms(name: str, reference: FeatureHistogram, current: FeatureHistogram) -> Outcome | str:
    """Prepare two histograms; a string says why they cannot be compared.

    Raises:
        InvalidInputError: Different kinds, or bins that cannot be matched.
    """
    if reference.kind != current.kind:
        raise InvalidInputError(
            f"{name!r} is {reference.kind} in the reference histogram but {current.kind} in "
            "the current one; count both on the reference's spec"
        )
    current = _aligned(name, reference, current)
    ref_counts = np.asarray(reference.counts, dtype=np.float64)
    cur_counts = np.asarray(current.counts, dtype=np.float64)
    ref_rows, cur_rows = int(ref_counts.sum()), int(cur_counts.sum())
    if not ref_rows:
        return _no_values("reference", reference.total)
    if not cur_rows:
        return _no_values("current", current.total)
    if reference.kind == "categorical":
        return Outcome(
            "categorical", ref_rows, cur_rows, reference, current, (ref_counts, cur_counts)
        )
    ref_steps, cur_steps = _histogram_steps(reference), _histogram_steps(current)
    return Outcome(
        "numeric",
        ref_rows,
        cur_rows,
        reference,
        current,
        (ref_counts, cur_counts),
        steps=lambda: (ref_steps, cur_steps),
        scale=max(_histogram_std(reference, ref_steps), MIN_SCALE),
    )


def _numeric(name: str, reference: Numbers, current: Numbers) -> Outcome | str:
    ref, cur = reference.values, current.values
    for side, found, values in (("reference", reference, ref), ("current", current, cur)):
        if values.size == 0:
            return _no_values(side, found.missing)
    fitted = grid(ref, cur) if max(ref.size, cur.size) > EXACT_LIMIT else None
    if fitted is not None:
        knots = fitted.decile_knots()
        ref_hist = fitted.histogram(fitted.reference, name, knots, reference.missing)
        cur_hist = fitted.histogram(fitted.current, name, knots, current.missing)
        few = fitted.occupied() <= FEW_VALUES
        ref_steps, cur_steps = fitted.steps(fitted.reference), fitted.steps(fitted.current)
        scale = fitted.reference_std
    else:
        ref_sorted, cur_sorted = np.sort(ref), np.sort(cur)
        edges = np.unique(np.quantile(ref_sorted, _DECILES))
        edges = np.repeat(edges, 2) if edges.size == 1 else edges
        ref_hist = _sorted_histogram(ref_sorted, edges, name, reference.missing)
        cur_hist = _sorted_histogram(cur_sorted, edges, name, current.missing)
        distinct = np.union1d(_distinct_sorted(ref_sorted), _distinct_sorted(cur_sorted))
        few = distinct.size <= FEW_VALUES
        ref_steps, cur_steps = Steps.points(ref_sorted), Steps.points(cur_sorted)
        scale = _std(ref)
    buckets = (
        np.asarray(ref_hist.counts, dtype=np.float64),
        np.asarray(cur_hist.counts, dtype=np.float64),
    )
    return Outcome(
        "numeric",
        ref.size,
        cur.size,
        ref_hist,
        cur_hist,
        buckets,
        by_value=_by_value(ref, cur) if few else None,
        steps=lambda: (ref_steps, cur_steps),
        samples=(ref, cur),
        scale=max(scale, MIN_SCALE),
    )


def _categorical(name: str, reference: Counts, current: Counts) -> Outcome | str:
    ref, cur = reference.counts, current.counts
    for side, found in (("reference", reference), ("current", current)):
        if not found.counts:
            return _no_values(side, found.missing)
    order = sorted(ref, key=lambda label: (-ref[label], label))
    order += sorted((label for label in cur if label not in ref), key=lambda k: (-cur[k], k))
    ref_counts = np.array([ref.get(label, 0) for label in order], dtype=np.float64)
    cur_counts = np.array([cur.get(label, 0) for label in order], dtype=np.float64)
    shown = [label for label in order[:TOP_VALUES] if label in ref]
    ref_rows, cur_rows = int(ref_counts.sum()), int(cur_counts.sum())
    return Outcome(
        "categorical",
        ref_rows,
        cur_rows,
        _category_histogram(name, shown, ref, reference.missing),
        _category_histogram(name, shown, cur, current.missing),
        (ref_counts, cur_counts),
    )


def _category_histogram(
    name: str, shown: list[str], counts: dict[str, int], missing: int
) -> FeatureHistogram:
    kept = [counts.get(label, 0) for label in shown]
    present = sum(counts.values())
    return FeatureHistogram(
        name=name,
        kind="categorical",
        edges=None,
        counts=[*kept, present - sum(kept)],
        categories=shown,
        nulls=missing,
        total=missing + present,
    )


def _sorted_histogram(
    values: FloatArray, edges: FloatArray, name: str, missing: int
) -> FeatureHistogram:
    """Sorted values counted on the edges: ``[lo, hi)`` bins, the last closed, outer buckets."""
    below = np.searchsorted(values, edges, side="left")
    up_to_last = int(np.searchsorted(values, edges[-1], side="right"))
    inner = np.diff(np.concatenate((below[:-1], [up_to_last])))
    counts = [int(below[0]), *(int(c) for c in inner), values.size - up_to_last]
    with np.errstate(over="ignore", invalid="ignore"):
        total, squares = float(values.sum()), float(np.square(values).sum())
    return FeatureHistogram(
        name=name,
        kind="numeric",
        edges=[float(edge) for edge in edges],
        counts=counts,
        categories=None,
        nulls=missing,
        total=missing + values.size,
        finite=values.size,
        sum=total,
        sum_sq=squares,
        min=float(values[0]),
        max=float(values[-1]),
    )


def _std(values: FloatArray) -> float:
    """Standard deviation (``ddof=0``), also of values so large that their squares overflow."""
    with np.errstate(over="ignore", invalid="ignore"):
        std = float(np.std(values))
        if math.isfinite(std):
            return std
        largest = float(np.abs(values).max())
        return float(np.std(values / largest)) * largest


def _distinct_sorted(values: FloatArray) -> FloatArray:
    keep = np.concatenate(([True], values[1:] != values[:-1]))
    distinct: FloatArray = values[keep]
    return distinct


def _by_value(reference: FloatArray, current: FloatArray) -> Pair:
    """Counts per distinct value of either side, aligned."""
    ref_values, ref_counts = np.unique(reference, return_counts=True)
    cur_values, cur_counts = np.unique(current, return_counts=True)
    values = np.union1d(ref_values, cur_values)
    aligned_ref, aligned_cur = np.zeros(values.size), np.zeros(values.size)
    aligned_ref[np.searchsorted(values, ref_values)] = ref_counts
    aligned_cur[np.searchsorted(values, cur_values)] = cur_counts
    return aligned_ref, aligned_cur


def _aligned(name: str, reference: FeatureHistogram, current: FeatureHistogram) -> FeatureHistogram:
    """``current`` on the reference's spec: categories re-count exactly, numeric bins cannot."""
    if current.spec == reference.spec:
        return current
    if reference.kind == "numeric":
        raise InvalidInputError(
            f"the current histogram of {name!r} was counted on other bins than the reference "
            f"({current.edges} vs {reference.edges}); count the current values on the "
            "reference's spec: histogram(values, reference.spec)"
        )
    categories = reference.categories or []
    source = dict(zip(current.categories or [], current.counts, strict=False))
    missing = [category for category in categories if category not in source]
    if missing:
        raise InvalidInputError(
            f"the current histogram of {name!r} does not count the reference categories "
            f"{missing[:5]!r}; count the current values on the reference's spec: "
            "histogram(values, reference.spec)"
        )
    counts = [source.pop(category) for category in categories]
    counts.append(current.counts[-1] + sum(source.values()))
    return current.model_copy(update={"categories": list(categories), "counts": counts})


def _histogram_steps(hist: FeatureHistogram) -> Steps:
    """Each bin's count spread evenly over it; the outer buckets reach the observed min or max."""
    edges = list(hist.edges or [])
    low = hist.min if hist.min is not None and math.isfinite(hist.min) else None
    high = hist.max if hist.max is not None and math.isfinite(hist.max) else None
    if not edges:
        start = 0.0 if low is None else low
        return Steps(
            np.array([start, start if high is None else high]), np.array(hist.counts, float)
        )
    start = edges[0] if low is None else min(low, edges[0])
    end = edges[-1] if high is None else max(high, edges[-1])
    knots = np.array([start, *edges, end], dtype=np.float64)
    return Steps(knots, np.asarray(hist.counts, dtype=np.float64))


def _histogram_std(hist: FeatureHistogram, steps: Steps) -> float:
    """Standard deviation (``ddof=0``): from the running sums, or from the bins without them."""
    if hist.finite and hist.sum is not None and hist.sum_sq is not None:
        mean = hist.sum / hist.finite
        variance = hist.sum_sq / hist.finite - mean * mean
        # Below ~1e-10 of mean² the subtraction has cancelled most digits: use the bins.
        if math.isfinite(variance) and variance > 1e-10 * mean * mean:
            return math.sqrt(variance)
    low, high, counts = steps.knots[:-1], steps.knots[1:], steps.counts
    mean = float(np.sum(counts * (low + high) / 2) / counts.sum())
    second = float(np.sum(counts * (low * low + low * high + high * high) / 3) / counts.sum())
    return math.sqrt(max(second - mean * mean, 0.0))


def _present(values: Column) -> int:
    if isinstance(values, pa.ChunkedArray):
        return len(values) - int(values.null_count)
    return int(values.notna().sum())


def _no_values(side: str, rows: int) -> str:
    data = "reference" if side == "reference" else "current"
    return f"no values in the {data} data ({rows} missing)"
