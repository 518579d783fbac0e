"""`werft check` end to end on registered scikit-learn models, in local and remote mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from werft.errors import InvalidInputError, NotFoundError
from werft.gates.entities import Check, GateReport
from werft.governance.audit import AuditLog
from werft.governance.usecases import AcceptanceRule, LoadedUseCase, UseCase
from werft.registry.entities import VersionStatus
from werft.sdk.gates import CheckOptions, check_version
from werft.services import Services
from werft.tracking.datasets import dataset_digest

from .conftest import MODEL, Registry, classifier, regressor, use_case

DIGEST = "sha256:" + "0" * 64


def _check(
    registry: Registry,
    version: int,
    data: pd.DataFrame,
    cache: Path,
    *,
    spec: UseCase | None = None,
    latency_budget_ms: float | None = None,
) -> GateReport:
    loaded = LoadedUseCase(use_case=spec or use_case(), digest=DIGEST, path=Path("werft.yaml"))
    options = CheckOptions(
        cache=cache, use_case=loaded, latency_budget_ms=latency_budget_ms, sample=20
    )
    return check_version(registry.backend, MODEL, version, data, options)


def _checks(report: GateReport) -> dict[str, Check]:
    return {check.name: check for check in report.checks}


def _failed(report: GateReport) -> set[str]:
    return {check.name for check in report.failed}


def test_a_good_holdout_passes_and_validates_the_version(
    registry: Registry, holdout: pd.DataFrame, cache: Path, services: Services
) -> None:
    version = registry.register()
    report = _check(registry, version, holdout, cache)
    assert report.passed, report.failed
    assert report.version_status is VersionStatus.VALIDATED
    assert registry.backend.get_model_version(MODEL, version).status is VersionStatus.VALIDATED
    checks = _checks(report)
    assert set(checks) == {
        "data.schema.columns",
        "data.schema.types",
        "data.schema.categories",
        "data.null_rate",
        "data.range",
        "data.unseen_categories",
        "data.drift",
        "model.predict",
        "model.acceptance.roc_auc",
        "model.acceptance.accuracy",
        "model.regression",
        "model.output_schema",
    }
    auc = checks["model.acceptance.roc_auc"]
    assert isinstance(auc.value, float) and auc.value >= 0.7
    assert (auc.threshold, auc.op, auc.kind) == (0.7, ">=", "model")
    assert checks["model.regression"].skipped
    assert "no version is at the production alias" in checks["model.regression"].message
    assert report.rows == 400 and report.data_digest == dataset_digest(holdout)
    assert (report.use_case, report.use_case_digest) == ("churn", DIGEST)
    assert registry.backend.list_gate_reports(MODEL, version) == [report]
    events = AuditLog(services.db).list_events(action="gate.evaluated")
    assert [e.object_id for e in events] == [f"{MODEL}/{version}"]
    assert events[0].project == "churn"
    assert events[0].payload["passed"] is True
    assert events[0].payload["status"] == {"from": "candidate", "to": "validated"}


def test_nulls_drift_out_of_range_and_unseen_categories_fail_the_data_checks(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    version = registry.register()
    bad = holdout.copy()
    bad.loc[bad.index[:60], "monthly_fee"] = np.nan  # 15% missing
    bad["tenure"] = bad["tenure"] * 3  # out of the training range, and drifted
    bad.loc[bad.index[:10], "plan"] = "enterprise"  # a plan the model never saw
    report = _check(registry, version, bad, cache)
    assert not report.passed
    assert report.version_status is VersionStatus.CANDIDATE
    assert {
        "data.null_rate",
        "data.range",
        "data.drift",
        "data.schema.categories",
    } <= _failed(report)
    checks = _checks(report)
    assert checks["data.null_rate"].value == pytest.approx(0.15)
    assert "monthly_fee 15.0%" in checks["data.null_rate"].message
    assert "tenure" in checks["data.range"].message and "tenure" in checks["data.drift"].message
    assert "enterprise" in checks["data.schema.categories"].message
    assert checks["data.schema.columns"].passed and checks["data.schema.types"].passed


def test_missing_and_mistyped_columns_fail_the_schema_checks(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    version = registry.register()
    bad = holdout.drop(columns="tickets").assign(tenure=lambda d: d["tenure"].map(str))
    report = _check(registry, version, bad, cache)
    checks = _checks(report)
    assert not checks["data.schema.columns"].passed
    assert "missing input columns: tickets" in checks["data.schema.columns"].message
    assert "tenure is string, expected integer" in checks["data.schema.types"].message
    assert not checks["model.predict"].passed
    assert not checks["model.acceptance.roc_auc"].passed  # cannot be shown without predictions


def test_a_threshold_the_model_misses_fails(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    version = registry.register()
    strict = use_case().model_copy(
        update={"acceptance": [*use_case().acceptance[:1], _rule("recall", ">=", 0.99)]}
    )
    report = _check(registry, version, holdout, cache, spec=strict)
    assert _failed(report) == {"model.acceptance.recall"}
    recall = _checks(report)["model.acceptance.recall"]
    assert isinstance(recall.value, float) and recall.value < 0.99
    assert "misses recall >= 0.99" in recall.message
    assert report.version_status is VersionStatus.CANDIDATE


def test_a_regression_against_production_beyond_the_tolerance_fails(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    production = registry.register()
    registry.backend.set_alias(MODEL, "production", production)
    guessing = registry.register(classifier(registry.training, shuffled=True))
    lenient = use_case().model_copy(update={"acceptance": []})
    report = _check(registry, guessing, holdout, cache, spec=lenient)
    assert _failed(report) == {"model.regression.roc_auc"}
    check = _checks(report)["model.regression.roc_auc"]
    assert f"production (version {production})" in check.message
    assert check.op == ">=" and isinstance(check.threshold, float)
    assert report.compared_with == production
    assert _checks(report)["model.output_schema"].passed
    # The production version itself is not compared with itself.
    again = _check(registry, production, holdout, cache, spec=lenient)
    assert again.passed and again.compared_with is None
    assert "is the one in production" in _checks(again)["model.regression"].message


def test_a_production_version_that_cannot_predict_on_the_data_is_not_compared(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    production = registry.register()
    registry.backend.set_alias(MODEL, "production", production)
    fewer = ["tenure", "monthly_fee", "plan"]
    version = registry.register(classifier(registry.training, features=fewer), features=fewer)
    report = _check(registry, version, holdout.drop(columns="tickets"), cache)
    assert report.passed, report.failed
    regression = _checks(report)["model.regression"]
    assert regression.skipped
    assert f"production (version {production}) could not predict" in regression.message
    assert "tickets" in regression.message


def test_an_output_schema_unlike_productions_fails(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    production = registry.register(regressor(registry.training))
    registry.backend.set_alias(MODEL, "production", production)
    version = registry.register()
    report = _check(registry, version, holdout, cache)
    assert _failed(report) == {"model.output_schema"}
    schema = _checks(report)["model.output_schema"]
    assert "this version is a classifier" in schema.message and "a regressor" in schema.message
    assert _checks(report)["model.regression"].skipped


def test_latency_budget(registry: Registry, holdout: pd.DataFrame, cache: Path) -> None:
    version = registry.register()
    generous = _check(registry, version, holdout, cache, latency_budget_ms=10_000)
    latency = _checks(generous)["model.latency"]
    assert latency.passed and latency.threshold == 10_000
    assert "over 20 single-row predictions" in latency.message
    tight = _check(registry, version, holdout, cache, latency_budget_ms=1e-6)
    assert _failed(tight) == {"model.latency"}


def test_a_failed_gate_sends_a_validated_version_back_but_never_touches_a_decision(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    version = registry.register()
    assert _check(registry, version, holdout, cache).version_status is VersionStatus.VALIDATED
    bad = holdout.assign(monthly_fee=np.nan)
    assert _check(registry, version, bad, cache).version_status is VersionStatus.CANDIDATE
    registry.backend.set_version_status(MODEL, version, VersionStatus.REJECTED)
    assert _check(registry, version, bad, cache).version_status is VersionStatus.REJECTED
    reports = registry.backend.list_gate_reports(MODEL, version)
    assert [r.passed for r in reports] == [False, False, True]  # newest first
    assert reports[0].id > reports[1].id > reports[2].id


def test_without_a_training_dataset_the_profile_checks_are_skipped(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    version = registry.register(log_training=False)
    report = _check(registry, version, holdout, cache)
    assert report.passed
    for name in ("data.range", "data.unseen_categories", "data.drift"):
        check = _checks(report)[name]
        assert check.skipped and "no training dataset" in check.message


def test_the_stored_use_case_applies_when_no_file_is_given(
    registry: Registry, holdout: pd.DataFrame, cache: Path
) -> None:
    version = registry.register()
    options = CheckOptions(cache=cache)
    with pytest.raises(NotFoundError, match=r"has no use case.*--use-case"):
        check_version(registry.backend, MODEL, version, holdout, options)
    synced = registry.backend.sync_use_case(use_case())
    report = check_version(registry.backend, MODEL, version, holdout, options)
    assert report.passed and report.use_case_digest == synced.use_case.digest


def test_bad_input_is_refused(registry: Registry, holdout: pd.DataFrame, cache: Path) -> None:
    version = registry.register()
    with pytest.raises(InvalidInputError, match="no label column 'churned'"):
        _check(registry, version, holdout, cache, spec=use_case(target="churned"))
    with pytest.raises(InvalidInputError, match="pass --label"):
        _check(registry, version, holdout, cache, spec=use_case(target=None))
    other = use_case(key="fraud")
    with pytest.raises(InvalidInputError, match=r"project 'fraud'.*belongs to project 'churn'"):
        _check(registry, version, holdout, cache, spec=other)
    with pytest.raises(NotFoundError, match="no version 99"):
        _check(registry, 99, holdout, cache)
    assert registry.backend.list_gate_reports(MODEL, version) == []


def _rule(metric: str, op: str, value: float) -> AcceptanceRule:
    return AcceptanceRule.model_validate({"metric": metric, "op": op, "value": value})
