"""The reference side of a monitor: a dataset version's profile as histograms.

A monitor compares each window with the training data it never re-reads: the
dataset profile's decile bins and top values, turned into
:class:`~werft.monitoring.histograms.FeatureHistogram` on exactly the spec
:func:`~werft.monitoring.histograms.reference_spec` gives, so the
prediction log's histograms compare with them directly. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werft.monitoring.histograms import FeatureHistogram, FeatureSpec, reference_spec
from werft.tracking.datasets import ColumnProfile, DatasetProfile


def reference_histograms(
    profile: DatasetProfile | Mapping[str, Any],
) -> dict[str, FeatureHistogram]:
    """The reference histograms of a dataset version, from its profile.

    Numeric columns get the profile's decile ``bin_counts`` on its
    ``bin_edges`` (the outer buckets empty: the edges span the data);
    categorical columns the counts of the top values and an other bucket of
    the rest. Nulls are the profile's ``null_count``. The spec of each is
    :func:`~werft.monitoring.histograms.reference_spec`'s, so prediction-log
    histograms counted on it compare directly. (A profile counts infinite
    values into its outer bins; they stay there.)

    Raises:
        InvalidInputError: ``profile`` is not a dataset profile.
    """
    specs = reference_spec(profile)  # first: its InvalidInputError says what is wrong
    parsed = DatasetProfile.model_validate(profile)
    result: dict[str, FeatureHistogram] = {}
    for column in parsed.columns:
        spec = specs.get(column.name)
        if spec is not None:
            result[column.name] = _profile_histogram(column, spec)
    return result


def _profile_histogram(column: ColumnProfile, spec: FeatureSpec) -> FeatureHistogram:
    total = column.count + column.null_count
    common: dict[str, Any] = {"name": column.name, "kind": spec.kind, "nulls": column.null_count}
    if column.categorical is not None:
        top = column.categorical.top
        counts = [count for _, count in top] + [column.categorical.other_count]
        return FeatureHistogram(
            **common, edges=None, categories=spec.categories, counts=counts, total=total
        )
    numeric = column.numeric
    assert numeric is not None  # reference_spec gave a spec only to numeric and categorical
    counts = [0, *numeric.bin_counts, 0] if numeric.bin_edges else [column.count]
    stats: dict[str, Any] = {"finite": column.count}
    if numeric.mean is not None and column.count:
        std = numeric.std or 0.0
        # Back from mean and sample std to running sums: sum_sq = (n - 1) s² + n mean².
        stats |= {
            "sum": numeric.mean * column.count,
            "sum_sq": (column.count - 1) * std * std + column.count * numeric.mean**2,
            "min": numeric.min,
            "max": numeric.max,
        }
    return FeatureHistogram(
        **common, edges=spec.edges, categories=None, counts=counts, total=total, **stats
    )
