"""Largest-Triangle-Three-Buckets: a long metric history cut to a few points, peaks kept.

Sveinn Steinarsson, "Downsampling Time Series for Visual Representation" (2013):
the first and last points stay; every bucket in between keeps the point that
forms the largest triangle with the point kept before it and the average of
the next bucket — so spikes, which make large triangles, survive.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MAX_CHART_POINTS = 2000
"""Most points a chart sends to the browser per series."""


def lttb(
    x: FloatArray, y: FloatArray, threshold: int = MAX_CHART_POINTS
) -> tuple[FloatArray, FloatArray]:
    """At most ``threshold`` points of ``(x, y)``; ``x`` ascending; non-finite ``y`` dropped.

    Args:
        x: The x values (steps or times), ascending.
        y: The values.
        threshold: How many points to keep (at least 3); fewer points come back unchanged.
    """
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be one-dimensional and of equal length")
    if threshold < 3:
        raise ValueError("threshold must be at least 3")
    finite = np.isfinite(y) & np.isfinite(x)
    x, y = x[finite], y[finite]
    n = len(x)
    if n <= threshold:
        return x, y
    keep = np.empty(threshold, dtype=np.int64)
    keep[0], keep[-1] = 0, n - 1
    # Bucket edges over the points between the first and the last.
    edges = (np.arange(threshold - 1) * ((n - 2) / (threshold - 2))).astype(np.int64) + 1
    edges[-1] = n - 1
    chosen = 0
    for i in range(threshold - 2):
        start, end = edges[i], edges[i + 1]
        if i + 2 < len(edges):
            nxt = slice(edges[i + 1], edges[i + 2])
            avg_x, avg_y = x[nxt].mean(), y[nxt].mean()
        else:
            avg_x, avg_y = x[n - 1], y[n - 1]
        ax, ay = x[chosen], y[chosen]
        bx, by = x[start:end], y[start:end]
        area = np.abs((ax - avg_x) * (by - ay) - (ax - bx) * (avg_y - ay))
        chosen = start + int(np.argmax(area))
        keep[i + 1] = chosen
    return x[keep], y[keep]
