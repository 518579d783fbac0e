"""Evaluating one window from segment histograms (no store)."""

from __future__ import annotations

import numpy as np

from werft.monitoring.evaluation import WindowInputs, evaluate_window
from werft.monitoring.histograms import FeatureSpec, default_spec_for, histogram


def _segment(values: np.ndarray, predictions: np.ndarray) -> dict[str, object]:
    spec = FeatureSpec(kind="numeric", edges=[float(e) for e in np.linspace(-3, 3, 11)])
    return {
        "in:x": histogram(values, spec, name="in:x").model_dump(mode="json"),
        "prediction": histogram(
            predictions, default_spec_for(predictions), name="prediction"
        ).model_dump(mode="json"),
    }


def test_regressor_outputs_on_other_bins_are_compared_with_the_baseline() -> None:
    rng = np.random.default_rng(1)
    spec = FeatureSpec(kind="numeric", edges=[float(e) for e in np.linspace(-3, 3, 11)])
    reference = {"x": histogram(rng.normal(size=5000), spec, name="x")}
    baseline_values = rng.normal(10, 1, 5000)
    baseline = {
        "prediction": histogram(
            baseline_values, default_spec_for(baseline_values), name="prediction"
        )
    }
    same = [_segment(rng.normal(size=3000), rng.normal(10, 1, 3000)) for _ in range(3)]
    calm = evaluate_window(WindowInputs(reference, same, rows=9000, baseline=baseline))
    assert calm.values["prediction.drift"] == 0.0
    moved = [_segment(rng.normal(size=3000), rng.normal(12, 1, 3000)) for _ in range(3)]
    shifted = evaluate_window(WindowInputs(reference, moved, rows=9000, baseline=baseline))
    assert shifted.values["prediction.drift"] == 1.0
    assert shifted.values["prediction.score"] > 1.0  # two standard deviations, normalised


def test_outputs_of_another_kind_than_the_baseline_are_left_out() -> None:
    spec = FeatureSpec(kind="categorical", categories=["a", "b"])
    baseline = {"prediction": histogram(["a", "b"] * 600, spec, name="prediction")}
    segment = _segment(np.zeros(10), np.arange(10.0))
    result = evaluate_window(WindowInputs({}, [segment], rows=10, baseline=baseline))
    assert "prediction.drift" not in result.values
    assert result.status == "ok"
