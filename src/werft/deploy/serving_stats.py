"""Serving statistics over a window: sums of replicas' intervals, latency percentiles.

Pure calculations; :class:`~werft.deploy.deployments.DeploymentService` reads
the intervals from the store and hands them here.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence

from werft.deploy.entities import LatencyHistogram, ServingStats, ServingWindow


def quantile(histogram: LatencyHistogram, q: float) -> float | None:
    """The ``q`` quantile, interpolated linearly within its bucket (as Prometheus does).

    The first bucket starts at 0.  A quantile that falls in the last, open
    bucket is reported as ``bounds[-1]``: the histogram only says "slower than
    that".  ``None`` for an empty histogram.

    Example: 100 requests, all in ``(0.01, 0.02]`` -> the median is 0.015.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"quantile {q} is not within [0, 1]")
    total = sum(histogram.counts)
    if total == 0:
        return None
    rank = q * total
    cumulative = 0
    for index, count in enumerate(histogram.counts):
        if count and cumulative + count >= rank:
            if index == len(histogram.bounds):
                return histogram.bounds[-1] if histogram.bounds else None
            lower = histogram.bounds[index - 1] if index else 0.0
            upper = histogram.bounds[index]
            return lower + (upper - lower) * max(rank - cumulative, 0.0) / count
        cumulative += count
    return histogram.bounds[-1] if histogram.bounds else None  # only by rounding


def merge_latency(histograms: Sequence[LatencyHistogram]) -> LatencyHistogram:
    """The sum of several histograms.

    Histograms with the same bounds add up exactly.  Were the bounds ever
    changed between releases, every bucket is counted in the bucket of the union
    of all bounds that ends where it ends — exact in count, a little optimistic
    in where within the bucket its requests fell.
    """
    if not histograms:
        return LatencyHistogram(bounds=[], counts=[0])
    first = histograms[0].bounds
    if all(h.bounds == first for h in histograms):
        counts = [sum(column) for column in zip(*(h.counts for h in histograms), strict=True)]
        return LatencyHistogram(bounds=list(first), counts=counts)
    bounds = sorted({b for h in histograms for b in h.bounds})
    merged = [0] * (len(bounds) + 1)
    for histogram in histograms:
        for index, count in enumerate(histogram.counts):
            if index == len(histogram.bounds):
                merged[-1] += count
            else:
                merged[bisect.bisect_left(bounds, histogram.bounds[index])] += count
    return LatencyHistogram(bounds=bounds, counts=merged)


def summarize(
    intervals: Sequence[ServingStats],
    start_ms: int,
    end_ms: int,
    *,
    replicas: int = 0,
) -> ServingWindow:
    """Add up the intervals (already chosen as overlapping the window) into a window.

    ``rps`` divides by the window's length, not by the intervals' span: a
    window with traffic in only half of it reports half the peak rate.
    """
    requests = sum(i.requests for i in intervals)
    errors = sum(i.errors for i in intervals)
    fields: Counter[str] = Counter()
    for interval in intervals:
        fields.update(interval.rejected_fields)
    latency = merge_latency([i.latency for i in intervals])
    seconds = (end_ms - start_ms) / 1000
    return ServingWindow(
        start_ms=start_ms,
        end_ms=end_ms,
        requests=requests,
        errors=errors,
        rejected=sum(i.rejected for i in intervals),
        error_rate=errors / requests if requests else None,
        rps=requests / seconds if seconds > 0 else 0.0,
        rejected_fields=dict(fields.most_common()),
        replicas=replicas,
        latency_p50=quantile(latency, 0.5),
        latency_p95=quantile(latency, 0.95),
        latency_p99=quantile(latency, 0.99),
    )
