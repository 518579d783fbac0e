"""Change-point detection on a stream of per-prediction errors: the Page-Hinkley test.

The Page-Hinkley test (E. S. Page, "Continuous inspection schemes",
Biometrika 41, 1954; D. V. Hinkley, Biometrika 58, 1971) watches a
stream for a rise of its mean.  werft uses the incremental formulation of
scikit-multiflow's and river's ``PageHinkley`` (Gama et al., "A survey on
concept drift adaptation", ACM Computing Surveys 46, 2014): with
``mean[t]`` the running mean of the values seen so far (``x[t]`` included),

    m[t] = max(0, alpha * m[t-1] + (x[t] - mean[t] - delta))

and a change is signalled once ``m[t] > threshold`` (lambda) after at least
``min_instances`` values.  Fed 0/1 misclassifications, it fires when the error rate climbs:
a model that gets worse.  It is one-sided on purpose — a model getting better
is no alarm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict


class PageHinkley:
    """The Page-Hinkley test for a rise in the mean of a stream.

    Args:
        delta: The magnitude of change that is tolerated: each value must
            exceed the running mean by more than this to add to the statistic.
        threshold: Lambda, the value of the cumulative statistic that signals a
            change.  Larger: fewer false alarms, later detection.
        alpha: The forgetting factor of the statistic (1 forgets nothing).
        min_instances: Values seen before a change can be signalled.

    Attributes:
        count: Values seen since the last reset.
        mean: Their running mean.
        statistic: The cumulative statistic ``m[t]``.
        detected: Whether the last value signalled a change.
    """

    def __init__(
        self,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        min_instances: int = 30,
    ) -> None:
        if threshold <= 0 or delta < 0 or not 0 < alpha <= 1 or min_instances < 1:
            raise ValueError("PageHinkley needs threshold > 0, delta >= 0, 0 < alpha <= 1")
        self.delta, self.threshold, self.alpha = delta, threshold, alpha
        self.min_instances = min_instances
        self.reset()

    def reset(self) -> None:
        """Forget everything seen."""
        self.count = 0
        self.mean = 0.0
        self.statistic = 0.0
        self.detected = False

    def clone(self) -> PageHinkley:
        """A detector with the same parameters and no state."""
        return PageHinkley(self.delta, self.threshold, self.alpha, self.min_instances)

    def update(self, x: float) -> bool:
        """Add one value; ``True`` when it signals a change (the next value starts afresh)."""
        if self.detected:
            self.reset()
        self.count += 1
        self.mean += (x - self.mean) / self.count
        self.statistic = max(0.0, self.alpha * self.statistic + (x - self.mean - self.delta))
        self.detected = self.count >= self.min_instances and self.statistic > self.threshold
        return self.detected


class ChangePoint(BaseModel):
    """Where the error stream's mean rose.

    ``detected_index`` is where the test fired (positions count the
    time-ordered labelled predictions from 0); the rise began earlier.
    ``index`` estimates where: the CUSUM estimate over the values up to the
    detection, the split after which their sum of deviations from their mean
    climbs (Page 1954; Hinkley 1971).  ``time_ms`` and ``request_id`` are
    that prediction's; ``mean_before`` is the mean error before ``index``,
    ``mean_after`` from ``index`` to the end of the stream.
    """

    model_config = ConfigDict(frozen=True)

    index: int
    detected_index: int
    time_ms: int
    request_id: str
    mean_before: float | None
    mean_after: float


def first_change(
    errors: Sequence[float] | np.ndarray,
    times_ms: Sequence[int] | np.ndarray,
    request_ids: Sequence[str],
    detector: PageHinkley,
) -> ChangePoint | None:
    """Run a fresh copy of ``detector`` over the time-ordered errors; the first change."""
    test = detector.clone()
    values = np.asarray(errors, dtype=float)
    for position, value in enumerate(values.tolist()):
        if test.update(value):
            index = _onset(values[: position + 1])
            before = values[:index]
            return ChangePoint(
                index=index,
                detected_index=position,
                time_ms=int(times_ms[index]),
                request_id=str(request_ids[index]),
                mean_before=float(before.mean()) if len(before) else None,
                mean_after=float(values[index:].mean()),
            )
    return None


def _onset(values: np.ndarray) -> int:
    """The split where the values' mean most likely rose: after the CUSUM's minimum."""
    cusum = np.cumsum(values - values.mean())
    return min(int(np.argmin(cusum)) + 1, len(values) - 1)
