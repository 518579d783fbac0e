"""The Page-Hinkley test on Bernoulli error streams: detection delay and false alarms."""

from __future__ import annotations

import numpy as np
import pytest

from werft.monitoring.changepoint import PageHinkley, first_change

N = 1_000  # predictions before the change


def _step(seed: int, before: float = 0.1, after: float = 0.4, n_after: int = N) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.random(N) < before, rng.random(n_after) < after]).astype(float)


def _detect(errors: np.ndarray, detector: PageHinkley | None = None) -> int | None:
    change = first_change(
        errors,
        np.arange(len(errors)),
        [f"r{i}" for i in range(len(errors))],
        detector or PageHinkley(),
    )
    return None if change is None else change.detected_index


def test_a_step_in_the_error_rate_is_found_within_a_bounded_delay() -> None:
    """0.1 -> 0.4: found every time, never before the step, within 400 predictions.

    The expected delay is about threshold / (0.4 - 0.1 - delta) plus the
    running mean's catching up: ~170 predictions; 400 leaves room for chance.
    """
    delays = []
    for seed in range(50):
        detected = _detect(_step(seed))
        assert detected is not None and detected >= N, seed
        delays.append(detected - N)
    assert max(delays) < 400
    assert 100 < float(np.median(delays)) < 250


def test_the_change_point_estimate_is_near_the_step() -> None:
    onsets = []
    for seed in range(50):
        errors = _step(seed)
        change = first_change(
            errors, np.arange(2 * N) * 10, [f"r{i}" for i in range(2 * N)], PageHinkley()
        )
        assert change is not None
        assert change.time_ms == change.index * 10 and change.request_id == f"r{change.index}"
        assert change.index <= change.detected_index
        onsets.append(change.index)
        assert change.mean_before is not None and change.mean_before < change.mean_after
    assert abs(float(np.median(onsets)) - N) < 50


def test_a_stationary_stream_rarely_alarms() -> None:
    """At a steady 10 % error rate, at most 2 of 100 streams of 3,000 predictions alarm.

    With drift -delta per step and variance 0.09 the statistic's tail above
    lambda = 50 is about exp(-2 * 0.005 * 50 / 0.09) = 0.4 %: false alarms are rare.
    """
    alarms = sum(
        _detect((np.random.default_rng(10_000 + seed).random(3 * N) < 0.1).astype(float))
        is not None
        for seed in range(100)
    )
    assert alarms <= 2


def test_an_improvement_is_no_alarm() -> None:
    assert _detect(_step(1, before=0.4, after=0.1)) is None


def test_update_signals_and_then_starts_afresh() -> None:
    detector = PageHinkley(threshold=5.0, min_instances=5)
    stream = iter([0.0] * 20 + [1.0] * 10)
    first = next(i for i, x in enumerate(stream) if detector.update(x))
    assert 20 < first < 30 and detector.detected and detector.statistic > 5.0
    detector.update(0.0)
    assert detector.count == 1 and not detector.detected  # reset after the signal


def test_no_signal_before_min_instances() -> None:
    detector = PageHinkley(threshold=0.5, min_instances=30)
    assert not any(detector.update(1.0 if i > 5 else 0.0) for i in range(29))
    assert detector.statistic > 0.5


def test_first_change_leaves_the_given_detector_alone() -> None:
    detector = PageHinkley()
    assert _detect(_step(3), detector) is not None
    assert detector.count == 0 and detector.statistic == 0.0


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        PageHinkley(threshold=0)
