"""``werft check`` in the caller's process: fetch what the gates need, evaluate, store the report.

The checks run where the data is (the CI runner); only the report travels to
the registry, through whichever backend is configured, so a check works the
same against a local store and against a werft server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from werft.errors import InvalidInputError, NotFoundError
from werft.gates.ci import detect_ci
from werft.gates.data_checks import NO_PROFILE
from werft.gates.entities import CiRun, GateEvaluation, GateReport
from werft.gates.evaluation import NO_PRODUCTION, Baseline, GateInputs, evaluate
from werft.governance.usecases import LoadedUseCase, UseCase
from werft.registry.entities import ModelVersion
from werft.sdk.backend import Backend
from werft.sdk.models import load_from
from werft.tracking.datasets import DatasetProfile, dataset_digest, load_table

PRODUCTION = "production"


@dataclass(frozen=True)
class CheckOptions:
    """How to run a check.

    Attributes:
        label: The label column (else the use case's ``target``).
        use_case: A use case file to apply (else the one stored for the model's project).
        latency_budget_ms: The p95 budget of a single-row prediction (else the use case's).
        sample: At most this many rows are timed for the latency budget.
        trust: Allow loading generic Python (pickled) models.
        cache: Where downloaded model packages are kept.
        ci: The CI job the check runs in; default what the environment says
            (:func:`werft.gates.ci.detect_ci`).
    """

    cache: Path
    label: str | None = None
    use_case: LoadedUseCase | None = None
    latency_budget_ms: float | None = None
    sample: int = 200
    trust: bool = False
    ci: CiRun | None = None


def check_version(
    backend: Backend,
    name: str,
    version: int,
    data: pd.DataFrame | str | os.PathLike[str],
    options: CheckOptions,
) -> GateReport:
    """Run the gates on a model version and store the report on it.

    Args:
        backend: Where the model, its lineage and the use case are, and where the
            report goes.
        name: The registered model.
        version: Its version number.
        data: The evaluation (holdout) data with labels: a DataFrame or a .parquet/.csv path.
        options: Label, use case, latency budget, trust.

    Returns:
        The stored report; ``report.passed`` is the verdict.

    Raises:
        NotFoundError: No such model or version, or no use case for its project.
        InvalidInputError: The data or options do not fit (no label column, a use case
            of another project).
    """
    if options.sample < 1:
        raise InvalidInputError(f"sample must be at least 1, got {options.sample}")
    target = backend.get_model_version(name, version)
    use_case, use_case_digest = _use_case(backend, target, options.use_case)
    frame, _ = load_table(data)
    label = options.label or use_case.target
    if label is None:
        raise InvalidInputError(
            "which column holds the labels? pass --label COLUMN or set use_case.target"
        )
    model, _ = load_from(backend, target.uri, options.cache, trust=options.trust)
    profile, no_profile = _training_profile(backend, target)
    production, no_production = _production(backend, target, options)
    budget = options.latency_budget_ms or use_case.latency_budget_ms
    checks = evaluate(
        GateInputs(
            frame=frame,
            label=label,
            use_case=use_case,
            model=model,
            profile=profile,
            no_profile=no_profile,
            production=production,
            no_production=no_production,
            latency_budget_ms=budget,
            latency_sample=options.sample,
        )
    )
    evaluation = GateEvaluation(
        data_digest=dataset_digest(frame),
        rows=len(frame),
        checks=checks,
        use_case=use_case.key,
        use_case_digest=use_case_digest,
        compared_with=production.version if production is not None else None,
        ci=options.ci or detect_ci(os.environ),
    )
    return backend.record_gate_report(name, target.version, evaluation)


def _use_case(
    backend: Backend, target: ModelVersion, given: LoadedUseCase | None
) -> tuple[UseCase, str]:
    if given is not None:
        if given.use_case.key != target.project:
            raise InvalidInputError(
                f"{given.path} is the use case of project {given.use_case.key!r}, but model "
                f"{target.name!r} belongs to project {target.project!r}"
            )
        return given.use_case, given.digest
    try:
        stored = backend.get_use_case(target.project)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc.message}, or pass --use-case werft.yaml") from None
    return stored.spec, stored.digest


def _training_profile(backend: Backend, target: ModelVersion) -> tuple[DatasetProfile | None, str]:
    """The profile of the training dataset that covers most of the model's input columns."""
    lineage = backend.model_lineage(target.name, target.version)
    inputs = {column["name"] for column in target.signature.get("inputs", [])}
    best: tuple[int, DatasetProfile] | None = None
    for used in lineage.datasets:
        if used.context != "training":
            continue
        found = backend.get_dataset_version(target.project, used.name, used.version)
        profile = DatasetProfile.model_validate(found.profile)
        covered = len(inputs & {column.name for column in profile.columns})
        if best is None or covered > best[0]:
            best = (covered, profile)
    if best is None:
        return None, NO_PROFILE + (
            "; log it with werft.log_dataset(data, name, context='training') in the run"
        )
    return best[1], ""


def _production(
    backend: Backend, target: ModelVersion, options: CheckOptions
) -> tuple[Baseline | None, str]:
    try:
        current = backend.get_alias(target.name, PRODUCTION)
    except NotFoundError:
        return None, NO_PRODUCTION
    if current.version == target.version:
        return None, "this version is the one in production"
    model, _ = load_from(backend, current.uri, options.cache, trust=options.trust)
    return Baseline(version=current.version, model=model), ""
