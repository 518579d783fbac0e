"""One gate evaluation: the data checks, then the model checks, on loaded inputs.

Nothing here fetches anything: the caller loads the evaluation data, the
model, the production model and the training profile (see
:func:`werft.sdk.gates.check_version`) and gets the list of checks back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from werft.errors import InvalidInputError
from werft.gates import model_checks
from werft.gates.data_checks import NO_PROFILE, data_checks
from werft.gates.entities import Check
from werft.gates.metrics import Predictor, model_metrics
from werft.governance.usecases.spec import UseCase
from werft.tracking.datasets import DatasetProfile

NO_PRODUCTION = "no version is at the production alias"


@dataclass(frozen=True)
class Baseline:
    """The version at the production alias, to compare with."""

    version: int
    model: Predictor


@dataclass(frozen=True)
class GateInputs:
    """Everything one evaluation needs, loaded.

    Attributes:
        frame: The evaluation data, features and label.
        label: The label column.
        use_case: The use case whose rules apply.
        model: The version under check.
        profile: The training dataset's profile, if the version has one.
        no_profile: Why there is no profile.
        production: The production version, unless there is none or it is this one.
        no_production: Why there is no production version to compare with.
        latency_budget_ms: The p95 budget of a single-row prediction, if any.
        latency_sample: At most this many rows are timed.
    """

    frame: pd.DataFrame
    label: str
    use_case: UseCase
    model: Predictor
    profile: DatasetProfile | None = None
    no_profile: str = NO_PROFILE
    production: Baseline | None = None
    no_production: str = NO_PRODUCTION
    latency_budget_ms: float | None = None
    latency_sample: int = 200


def evaluate(inputs: GateInputs) -> list[Check]:
    """Every data check, then every model check.

    Raises:
        InvalidInputError: The label column is missing or empty, or the use case's
            positive class is not one of the model's classes.
    """
    frame, use_case, signature = inputs.frame, inputs.use_case, inputs.model.signature
    if inputs.label not in frame.columns:
        raise InvalidInputError(
            f"the evaluation data has no label column {inputs.label!r}; its columns are "
            f"{list(map(str, frame.columns))}"
        )
    labels = frame[inputs.label]
    checks = data_checks(
        frame, signature, inputs.profile, use_case.data_checks, no_profile=inputs.no_profile
    )
    missing = [name for name in signature.column_names if name not in frame.columns]
    positive = use_case.positive_class
    ours, failure = _metrics(inputs.model, frame, labels, positive, missing)
    checks.append(failure or _predicted(len(frame)))
    checks += model_checks.acceptance(
        ours,
        use_case.acceptance,
        signature.output.kind,
        unavailable="this version could not predict" if failure is not None else None,
    )
    checks += _against_production(inputs, labels, ours, failure is not None)
    if inputs.latency_budget_ms is not None:
        if failure is not None:
            checks.append(model_checks.skipped("model.latency", "the model could not predict"))
        else:
            checks.append(
                model_checks.latency(
                    inputs.model,
                    frame,
                    budget_ms=inputs.latency_budget_ms,
                    sample=inputs.latency_sample,
                )
            )
    return checks


def _against_production(
    inputs: GateInputs, labels: pd.Series[Any], ours: dict[str, float], failed: bool
) -> list[Check]:
    production, tolerance = inputs.production, inputs.use_case.regression_tolerance
    if production is None:
        return [
            model_checks.skipped("model.regression", inputs.no_production),
            model_checks.skipped("model.output_schema", inputs.no_production),
        ]
    schema = model_checks.output_schema(
        inputs.model.signature.output,
        production.model.signature.output,
        production_version=production.version,
    )
    if not schema.passed:
        why = "the outputs differ from production's (see model.output_schema)"
        return [model_checks.skipped("model.regression", why), schema]
    if failed:
        return [model_checks.skipped("model.regression", "this version could not predict"), schema]
    if not tolerance:
        return [model_checks.skipped("model.regression", model_checks.NO_TOLERANCE), schema]
    frame, baseline = inputs.frame, production.model
    lacking = [name for name in baseline.signature.column_names if name not in frame.columns]
    theirs, failure = _metrics(baseline, frame, labels, inputs.use_case.positive_class, lacking)
    if failure is not None:
        why = f"production (version {production.version}) could not predict: {failure.message}"
        return [model_checks.skipped("model.regression", why), schema]
    regression = model_checks.regression(
        ours, theirs, tolerance, production_version=production.version
    )
    return [*regression, schema]


def _metrics(
    model: Predictor,
    frame: pd.DataFrame,
    labels: pd.Series[Any],
    positive: object,
    missing: list[str],
) -> tuple[dict[str, float], Check | None]:
    """The model's metrics, or the failed ``model.predict`` check saying why there are none."""
    if missing:
        why = f"cannot predict without the input columns {', '.join(missing)}"
        return {}, _predict_failed(why)
    try:
        return model_metrics(model, frame, labels, positive=positive), None
    except InvalidInputError:
        raise
    except Exception as exc:  # the model is user code: whatever it raises is its verdict
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return {}, _predict_failed(f"the model raised {type(exc).__name__}: {first}")


def _predicted(rows: int) -> Check:
    return Check(
        name="model.predict",
        kind="model",
        passed=True,
        value=rows,
        message=f"predicted {rows} rows",
    )


def _predict_failed(why: str) -> Check:
    return Check(name="model.predict", kind="model", passed=False, message=why)
