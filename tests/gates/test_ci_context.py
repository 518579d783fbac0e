"""A gate records the CI job it ran in, so that "the gate runs in CI" is evidence, not a guess."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from werft.gates.ci import detect_ci
from werft.gates.entities import CiRun
from werft.governance.usecases import LoadedUseCase
from werft.sdk.gates import CheckOptions, check_version
from werft.services import Services

from .conftest import MODEL, Registry, use_case


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"CI": "false"}, None),
        (
            {
                "GITLAB_CI": "true",
                "CI": "true",
                "CI_JOB_URL": "https://gitlab.internal/churn/-/jobs/812",
                "CI_JOB_ID": "812",
                "CI_COMMIT_SHA": "3f2a9c1e",
            },
            CiRun(
                provider="gitlab",
                url="https://gitlab.internal/churn/-/jobs/812",
                job="812",
                commit="3f2a9c1e",
            ),
        ),
        (
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_SERVER_URL": "https://github.example",
                "GITHUB_REPOSITORY": "team/churn",
                "GITHUB_RUN_ID": "99",
                "GITHUB_SHA": "abc123",
            },
            CiRun(
                provider="github",
                url="https://github.example/team/churn/actions/runs/99",
                job="99",
                commit="abc123",
            ),
        ),
        (
            {"JENKINS_URL": "https://ci/", "BUILD_URL": "https://ci/job/7/", "BUILD_TAG": "t-7"},
            CiRun(provider="jenkins", url="https://ci/job/7/", job="t-7"),
        ),
        ({"CI": "true"}, CiRun(provider="ci")),
    ],
)
def test_the_ci_job_is_recognised(environ: dict[str, str], expected: CiRun | None) -> None:
    assert detect_ci(environ) == expected


def test_a_check_in_ci_records_the_job_and_a_check_by_hand_does_not(
    registry: Registry,
    holdout: pd.DataFrame,
    cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    services: Services,
) -> None:
    version = registry.register()
    options = CheckOptions(
        cache=cache,
        use_case=LoadedUseCase(
            use_case=use_case(), digest="sha256:" + "0" * 64, path=Path("werft.yaml")
        ),
        sample=20,
    )
    by_hand = check_version(registry.backend, MODEL, version, holdout, options)
    assert by_hand.ci is None
    assert services.maturity.facts("churn").gate_reports_from_ci == 0
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_JOB_URL", "https://gitlab.internal/churn/-/jobs/812")
    in_ci = check_version(registry.backend, MODEL, version, holdout, options)
    assert in_ci.ci == CiRun(provider="gitlab", url="https://gitlab.internal/churn/-/jobs/812")
    stored = registry.backend.list_gate_reports(MODEL, version)
    assert [r.ci.provider if r.ci else None for r in stored] == ["gitlab", None]
    # The maturity report's "the gate runs in CI" now has evidence.
    assert services.maturity.facts("churn").gate_reports_from_ci == 1
