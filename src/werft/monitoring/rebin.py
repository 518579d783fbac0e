"""Putting histograms counted on different bins onto one spec, so they add up.

A window can span segments counted on different bins: a hot swap to a
version trained on other data changes the reference bins, and outputs
without a reference get bins fitted to each segment. :func:`rebin` moves a
histogram onto the target spec, assuming values spread evenly within a
source bin (the outer buckets spread between the observed minimum or maximum
and the first or last edge). Counts stay integers and the total is kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from werft.monitoring.histograms import FeatureHistogram, FeatureSpec, merge_all


def rebin(hist: FeatureHistogram, spec: FeatureSpec) -> FeatureHistogram:
    """``hist`` on ``spec``'s bins; unchanged when it already is.

    Raises:
        ValueError: The kinds differ (numeric vs categorical).
    """
    if hist.spec == spec:
        return hist
    if hist.kind != spec.kind:
        raise ValueError(f"cannot rebin the {hist.kind} histogram of {hist.name!r} to {spec.kind}")
    if spec.kind == "categorical":
        counts = _categorical_counts(hist, spec.categories or [])
    else:
        counts = _numeric_counts(hist, spec.edges or [])
    return FeatureHistogram(
        name=hist.name,
        kind=spec.kind,
        edges=spec.edges,
        categories=spec.categories,
        counts=counts,
        nulls=hist.nulls,
        total=hist.total,
        finite=hist.finite,
        sum=hist.sum,
        sum_sq=hist.sum_sq,
        min=hist.min,
        max=hist.max,
    )


def merge_onto(parts: Iterable[FeatureHistogram], spec: FeatureSpec | None) -> FeatureHistogram:
    """Add up histograms, rebinning those on other bins onto ``spec`` first.

    Args:
        parts: At least one histogram of one feature.
        spec: The target bins; ``None`` takes the spec shared by most parts.
    """
    hists = list(parts)
    if spec is None:
        specs = [h.spec for h in hists]
        spec = max(specs, key=specs.count)
    return merge_all(rebin(h, spec) if h.kind == spec.kind else _as_nulls(h, spec) for h in hists)


def _as_nulls(hist: FeatureHistogram, spec: FeatureSpec) -> FeatureHistogram:
    """A histogram of another kind counts as values nobody can place: its rows become nulls."""
    buckets = (
        len(spec.categories or []) + 1 if spec.kind == "categorical" else len(spec.edges or []) + 1
    )
    return FeatureHistogram(
        name=hist.name,
        kind=spec.kind,
        edges=spec.edges,
        categories=spec.categories,
        counts=[0] * buckets,
        nulls=hist.total,
        total=hist.total,
        finite=0 if spec.kind == "numeric" else None,
    )


def _categorical_counts(hist: FeatureHistogram, categories: list[str]) -> list[int]:
    source = dict(zip(hist.categories or [], hist.counts, strict=False))
    counts = [source.pop(category, 0) for category in categories]
    other = hist.counts[-1] + sum(source.values())
    return [*counts, other]


def _numeric_counts(hist: FeatureHistogram, edges: list[float]) -> list[int]:
    present = hist.total - hist.nulls
    if not edges:
        return [present]
    if present == 0:
        return [0] * (len(edges) + 1)
    points, cumulative = _source_cdf(hist)
    target = np.asarray(edges, dtype=float)
    below = np.interp(target, points, cumulative, left=0.0, right=float(present))
    mass = np.diff(np.concatenate(([0.0], below, [float(present)])))
    return _round_keeping_total(np.clip(mass, 0.0, None), present)


def _source_cdf(hist: FeatureHistogram) -> tuple[np.ndarray, np.ndarray]:
    """Points and the count of values below each, piecewise linear between them."""
    edges = list(hist.edges or [])
    counts = hist.counts
    if not edges:
        low = hist.min if hist.min is not None else 0.0
        high = hist.max if hist.max is not None else low
        return np.array([low, high + 1e-12]), np.array([0.0, float(counts[0])])
    low = hist.min if hist.min is not None and math.isfinite(hist.min) else edges[0]
    high = hist.max if hist.max is not None and math.isfinite(hist.max) else edges[-1]
    points = [min(low, edges[0]), *edges, max(high, edges[-1])]
    cumulative = np.cumsum([0, *counts]).astype(float)
    # Equal points (a constant bin) would make interp jump; nudge them apart.
    xs = np.asarray(points, dtype=float)
    for i in range(1, len(xs)):
        if xs[i] <= xs[i - 1]:
            xs[i] = np.nextafter(xs[i - 1], np.inf)
    return xs, cumulative


def _round_keeping_total(mass: np.ndarray, total: int) -> list[int]:
    floors = np.floor(mass).astype(int)
    short = total - int(floors.sum())
    if short > 0:
        order = np.argsort(-(mass - floors), kind="stable")[:short]
        floors[order] += 1
    return [int(value) for value in floors]
