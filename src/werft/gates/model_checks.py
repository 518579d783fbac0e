"""Model checks: does the version do its job on the holdout data, at least as well as production?

=============================  ===============================================
check                          rule
=============================  ===============================================
``model.predict``              the model predicts on the evaluation data
``model.acceptance.<metric>``  the metric on the holdout data meets the use
                               case's acceptance rule (``roc_auc >= 0.85``)
``model.regression.<metric>``  the metric is at most ``regression_tolerance``
                               worse than the production version's on the
                               same data (skipped without a production
                               version, or when this version is production)
``model.output_schema``        same output kind as production; a classifier
                               has the same classes
``model.latency``              p95 of single-row predictions over a sample
                               <= the latency budget (only with a budget)
=============================  ===============================================
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from werft.gates.entities import Check
from werft.gates.metrics import Predictor
from werft.governance.usecases.spec import (
    CLASSIFICATION_METRICS,
    LOWER_IS_BETTER,
    REGRESSION_METRICS,
    AcceptanceRule,
    MetricName,
)
from werft.monitoring.labelled import class_text
from werft.registry.signature import OutputSpec

NO_TOLERANCE = "the use case has no regression_tolerance"


def acceptance(
    metrics: Mapping[str, float],
    rules: Sequence[AcceptanceRule],
    kind: str,
    *,
    unavailable: str | None = None,
) -> list[Check]:
    """One check per acceptance rule; a metric that could not be computed fails.

    Args:
        metrics: The version's metrics on the holdout data.
        rules: The use case's acceptance rules.
        kind: The model's output kind (``classifier``, ``regressor``, ``other``).
        unavailable: Why there are no metrics at all (the model could not predict).
    """
    if not rules:
        return [skipped("model.acceptance", "the use case has no acceptance rules")]
    counts: dict[str, int] = {}
    checks = []
    for rule in rules:
        counts[rule.metric] = counts.get(rule.metric, 0) + 1
        name = f"model.acceptance.{rule.metric}"
        if counts[rule.metric] > 1:  # two rules on one metric (a range) need two names
            name += f".{counts[rule.metric]}"
        observed = metrics.get(rule.metric)
        if observed is None:
            checks.append(
                _check(
                    name,
                    passed=False,
                    threshold=rule.value,
                    op=rule.op,
                    message=unavailable or _unavailable(rule.metric, kind),
                )
            )
            continue
        passed = rule.holds(observed)
        verdict = "meets" if passed else "misses"
        checks.append(
            _check(
                name,
                passed=passed,
                value=observed,
                threshold=rule.value,
                op=rule.op,
                message=f"{rule.metric} {observed:.4g} {verdict} {rule}",
            )
        )
    return checks


def regression(
    candidate: Mapping[str, float],
    production: Mapping[str, float],
    tolerance: Mapping[MetricName, float],
    *,
    production_version: int,
) -> list[Check]:
    """Per metric in ``tolerance``: no worse than production by more than the tolerance."""
    if not tolerance:
        return [skipped("model.regression", NO_TOLERANCE)]
    checks = []
    for metric, allowed in tolerance.items():
        name = f"model.regression.{metric}"
        ours, theirs = candidate.get(metric), production.get(metric)
        if ours is None or theirs is None:
            side = "this version" if ours is None else f"production (version {production_version})"
            checks.append(_check(name, passed=False, message=f"{metric} not available for {side}"))
            continue
        lower = metric in LOWER_IS_BETTER
        bound = theirs + allowed if lower else theirs - allowed
        worse = ours - theirs if lower else theirs - ours
        passed = ours <= bound if lower else ours >= bound
        how = f"{worse:.4g} worse" if worse > 0 else "no worse"
        checks.append(
            _check(
                name,
                passed=passed,
                value=ours,
                threshold=bound,
                op="<=" if lower else ">=",
                message=f"{metric} {ours:.4g} vs production (version {production_version}) "
                f"{theirs:.4g}: {how}, tolerance {allowed:g}",
            )
        )
    return checks


def output_schema(
    candidate: OutputSpec, production: OutputSpec, *, production_version: int
) -> Check:
    """Same output kind as production and, for classifiers, the same classes."""
    ours, theirs = _classes(candidate), _classes(production)
    where = f"production (version {production_version})"
    if candidate.kind != production.kind:
        message = f"this version is a {candidate.kind}, {where} a {production.kind}"
        passed = False
    elif ours != theirs:
        message = (
            f"classes differ from {where}: this version {sorted(ours)}, production {sorted(theirs)}"
        )
        passed = False
    else:
        message = f"same output as {where}: {candidate.kind}" + (
            f" with classes {sorted(ours)}" if ours else ""
        )
        passed = True
    return _check(
        "model.output_schema",
        passed=passed,
        value=candidate.kind,
        threshold=production.kind,
        op="==",
        message=message,
    )


def latency(model: Predictor, frame: pd.DataFrame, *, budget_ms: float, sample: int) -> Check:
    """p95 of single-row ``predict`` calls over up to ``sample`` rows, against the budget."""
    rows = frame.sample(n=min(sample, len(frame)), random_state=0) if len(frame) else frame
    if rows.empty:
        return skipped("model.latency", "no rows to time")
    model.predict(rows.iloc[:1])  # warm-up: first calls pay for caches and lazy imports
    times = []
    for index in range(len(rows)):
        row = rows.iloc[index : index + 1]
        start = time.perf_counter()
        model.predict(row)
        times.append((time.perf_counter() - start) * 1000.0)
    p95 = float(np.percentile(times, 95))
    passed = p95 <= budget_ms
    return _check(
        "model.latency",
        passed=passed,
        value=p95,
        threshold=budget_ms,
        op="<=",
        message=f"p95 {p95:.2f} ms over {len(times)} single-row predictions "
        f"({'within' if passed else 'over'} the budget of {budget_ms:g} ms)",
    )


def _classes(output: OutputSpec) -> set[str]:
    return {class_text(c) or "" for c in output.classes or []}


def _unavailable(metric: str, kind: str) -> str:
    if kind == "classifier" and metric in REGRESSION_METRICS:
        return f"{metric} is a regression metric and this model is a classifier"
    if kind == "regressor" and metric in CLASSIFICATION_METRICS:
        return f"{metric} is a classification metric and this model is a regressor"
    if kind == "other":
        return "the model is neither a classifier nor a regressor; werft computes no metrics for it"
    if metric == "roc_auc":
        return "roc_auc needs predict_proba and both classes among the labels"
    return f"{metric} could not be computed on the evaluation data"


def _check(name: str, **fields: Any) -> Check:
    return Check(name=name, kind="model", **fields)


def skipped(name: str, why: str) -> Check:
    """A model check that does not apply, and why."""
    return Check(name=name, kind="model", passed=True, skipped=True, message=why)
