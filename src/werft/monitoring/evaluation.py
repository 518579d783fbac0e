"""One monitor window, evaluated: the pure part of a monitor run.

:func:`evaluate_window` takes what the monitor service gathered — the
reference histograms, the window's prediction-log segment histograms, the
output baseline, serving statistics, KPIs and the performance report — and
returns the report (for people and the HTML report) and the flat ``values``
alert rules read. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from werft.monitoring.drift import DriftReport, drift_from_histograms
from werft.monitoring.entities import Kpi
from werft.monitoring.histograms import FeatureHistogram
from werft.monitoring.performance import PerformanceReport
from werft.monitoring.rebin import merge_onto, rebin

INPUT_PREFIX = "in:"
OUTPUT_KEYS = ("prediction",)
PROBA_PREFIX = "proba:"

Status = Literal["ok", "drift", "no_data"]


@dataclass(frozen=True)
class WindowInputs:
    """Everything one window's evaluation reads."""

    reference: Mapping[str, FeatureHistogram]
    segments: Sequence[Mapping[str, Any]]  # each segment's histograms, keyed by log column
    rows: int
    complete_categories: frozenset[str] = frozenset()
    baseline: Mapping[str, FeatureHistogram] | None = None
    methods: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    share_threshold: float = 0.5
    serving: Mapping[str, Any] | None = None
    kpis: Sequence[Kpi] = ()
    performance: PerformanceReport | None = None


@dataclass(frozen=True)
class WindowEvaluation:
    """The report, the values for alert rules, the status, and the window's output histograms."""

    status: Status
    values: dict[str, float]
    report: dict[str, Any]
    outputs: dict[str, FeatureHistogram]
    drift: DriftReport | None


def evaluate_window(inputs: WindowInputs) -> WindowEvaluation:
    """Compare one window with its reference; see the module docstring."""
    current = _merged(inputs.segments, inputs.reference)
    features = {name: hist for name, hist in current.items() if name.startswith(INPUT_PREFIX)}
    outputs = {
        name: hist
        for name, hist in current.items()
        if name in OUTPUT_KEYS or name.startswith(PROBA_PREFIX)
    }
    values: dict[str, float] = {"rows": float(inputs.rows)}
    report: dict[str, Any] = {"rows": inputs.rows}

    drift = None
    compared = {
        name: features[INPUT_PREFIX + name]
        for name in inputs.reference
        if INPUT_PREFIX + name in features
    }
    if inputs.rows and compared:
        drift = drift_from_histograms(
            {name: inputs.reference[name] for name in compared},
            compared,
            methods=inputs.methods,
            thresholds=inputs.thresholds,
            share_threshold=inputs.share_threshold,
        )
        report["drift"] = drift.model_dump(mode="json")
        values.update(_drift_values(drift))

    if inputs.rows and outputs:
        report["prediction"] = _prediction(outputs, inputs.baseline, values)
    report["quality"] = _quality(compared, inputs, values)
    if inputs.serving is not None:
        report["serving"] = dict(inputs.serving)
        _serving_values(inputs.serving, values)
    if inputs.kpis:
        report["kpis"] = _kpis(inputs.kpis, values)
    if inputs.performance is not None:
        report["performance"] = inputs.performance.model_dump(mode="json")
        _performance_values(inputs.performance, values)

    status: Status = "no_data" if not inputs.rows else "ok"
    if drift is not None and drift.dataset_drift:
        status = "drift"
    report["status"] = status
    return WindowEvaluation(
        status=status, values=values, report=report, outputs=outputs, drift=drift
    )


def _merged(
    segments: Sequence[Mapping[str, Any]], reference: Mapping[str, FeatureHistogram]
) -> dict[str, FeatureHistogram]:
    """The window's histogram per log column; inputs on the reference bins."""
    parts: dict[str, list[FeatureHistogram]] = {}
    for segment in segments:
        for key, data in segment.items():
            hist = (
                data
                if isinstance(data, FeatureHistogram)
                else FeatureHistogram.model_validate(data)
            )
            parts.setdefault(key, []).append(hist)
    merged: dict[str, FeatureHistogram] = {}
    for key, hists in parts.items():
        ref = (
            reference.get(key.removeprefix(INPUT_PREFIX)) if key.startswith(INPUT_PREFIX) else None
        )
        spec = ref.spec if ref is not None and ref.kind == hists[0].kind else None
        merged[key] = merge_onto(hists, spec)
    return merged


def _drift_values(drift: DriftReport) -> dict[str, float]:
    values = {
        "drift.share": drift.share,
        "drift.count": float(len(drift.drifted)),
        "drift.detected": float(drift.dataset_drift),
    }
    for name, feature in drift.features.items():
        values[f"drift.score.{name}"] = feature.statistic
        values[f"drift.drifted.{name}"] = float(feature.drifted)
    return values


def _prediction(
    outputs: Mapping[str, FeatureHistogram],
    baseline: Mapping[str, FeatureHistogram] | None,
    values: dict[str, float],
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "histograms": {name: hist.model_dump(mode="json") for name, hist in outputs.items()}
    }
    prediction = outputs.get("prediction")
    if prediction is not None and prediction.kind == "categorical":
        present = prediction.total - prediction.nulls
        shares = (
            {
                category: count / present
                for category, count in zip(
                    prediction.categories or [], prediction.counts, strict=False
                )
            }
            if present
            else {}
        )
        result["class_shares"] = shares
        for category, share in shares.items():
            values[f"prediction.share.{category}"] = share
    if baseline:
        # Regressor outputs are binned per segment: put the window on the baseline's bins.
        common = {
            name: rebin(outputs[name], baseline[name].spec)
            for name in baseline
            if name in outputs and outputs[name].kind == baseline[name].kind
        }
        if common:
            check = drift_from_histograms(
                {name: baseline[name] for name in common}, common, share_threshold=1e-9
            )
            result["drift"] = check.model_dump(mode="json")
            if check.features:
                values["prediction.drift"] = float(bool(check.drifted))
                main = check.features.get("prediction") or next(iter(check.features.values()))
                values["prediction.score"] = main.statistic
    return result


def _quality(
    features: Mapping[str, FeatureHistogram], inputs: WindowInputs, values: dict[str, float]
) -> dict[str, Any]:
    per_feature: dict[str, dict[str, float | None]] = {}
    for name, hist in features.items():
        present = hist.total - hist.nulls
        null_rate = hist.nulls / hist.total if hist.total else 0.0
        out_of_range: float | None = None
        unseen: float | None = None
        if hist.kind == "numeric" and hist.edges:
            out_of_range = (hist.counts[0] + hist.counts[-1]) / present if present else 0.0
        elif hist.kind == "categorical" and name in inputs.complete_categories:
            unseen = hist.counts[-1] / present if present else 0.0
        per_feature[name] = {"null_rate": null_rate, "out_of_range": out_of_range, "unseen": unseen}
        values[f"quality.null_rate.{name}"] = null_rate
        if out_of_range is not None:
            values[f"quality.out_of_range.{name}"] = out_of_range
        if unseen is not None:
            values[f"quality.unseen.{name}"] = unseen
    for measure in ("null_rate", "out_of_range", "unseen"):
        seen = [value for v in per_feature.values() if (value := v[measure]) is not None]
        if seen:
            values[f"quality.{measure}.max"] = max(seen)
    rejected_fields: dict[str, int] = {}
    if inputs.serving is not None:
        rejected_fields = dict(inputs.serving.get("rejected_fields") or {})
        values["quality.rejected"] = float(inputs.serving.get("rejected") or 0)
        for name, count in rejected_fields.items():
            values[f"quality.rejected.{name}"] = float(count)
    return {"features": per_feature, "rejected_fields": rejected_fields}


def _serving_values(serving: Mapping[str, Any], values: dict[str, float]) -> None:
    for key in ("requests", "rps", "error_rate", "latency_p50", "latency_p95", "latency_p99"):
        value = serving.get(key)
        if value is not None:
            values[f"serving.{key}"] = float(value)


def _kpis(kpis: Sequence[Kpi], values: dict[str, float]) -> dict[str, Any]:
    by_name: dict[str, list[Kpi]] = {}
    for kpi in sorted(kpis, key=lambda k: k.time):
        by_name.setdefault(kpi.name, []).append(kpi)
    summary: dict[str, Any] = {}
    for name, points in by_name.items():
        mean = sum(p.value for p in points) / len(points)
        values[f"kpi.{name}"] = points[-1].value
        values[f"kpi.{name}.mean"] = mean
        summary[name] = {
            "latest": points[-1].value,
            "mean": mean,
            "count": len(points),
            "points": [[p.time.isoformat(), p.value] for p in points[-500:]],
        }
    return summary


def _performance_values(performance: PerformanceReport, values: dict[str, float]) -> None:
    values["performance.labelled"] = float(performance.labelled)
    for metric, value in performance.metrics.items():
        values[f"performance.{metric}"] = value
    for metric, comparison in performance.comparison.items():
        values[f"performance.drop.{metric}"] = comparison.drop
    values["performance.degraded"] = float(performance.degraded)
    values["performance.change_point"] = float(performance.change_point is not None)
