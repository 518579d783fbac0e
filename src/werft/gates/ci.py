"""CI: a configuration that trains, checks and requests promotion (``werft ci gitlab``),
and recognising the CI job a gate runs in."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

import yaml

from werft.gates.entities import CiRun

_VERSION_OF_LATEST = (
    'werft models versions "$WERFT_MODEL" --limit 1 --json'
    " | python -c 'import json, sys; print(json.load(sys.stdin)[0][\"version\"])'"
)


def gitlab_ci(
    model: str,
    *,
    data: str = "holdout.parquet",
    train: str = "python train.py",
    use_case: str = "werft.yaml",
    alias: str = "production",
    image: str = "python:3.12-slim",
    install: str = "pip install werft",
) -> str:
    """A ``.gitlab-ci.yml`` with two jobs.

    ``werft-check`` (every pipeline) validates the use case file, trains, and
    runs ``werft check`` on the newest version against that file, with a JUnit
    report GitLab shows in the merge request; ``werft-promote`` (default
    branch only) syncs the use case and requests the promotion of that
    version, which the use case's policy then moves automatically or sends
    for approval.
    """
    check = " ".join(
        [
            'werft check "$WERFT_MODEL" "$WERFT_VERSION"',
            f"--data {shlex.quote(data)}",
            f"--use-case {shlex.quote(use_case)}",
            "--junit werft-check.xml --json werft-check.json",
        ]
    )
    config: dict[str, Any] = {
        "stages": ["train", "promote"],
        "variables": {"WERFT_MODEL": model},
        "werft-check": {
            "stage": "train",
            "image": image,
            "script": [
                install,
                f"werft validate {shlex.quote(use_case)}",
                train,
                f"WERFT_VERSION=$({_VERSION_OF_LATEST})",
                'echo "WERFT_VERSION=$WERFT_VERSION" > werft.env',
                check,
            ],
            "artifacts": {
                "when": "always",
                "paths": ["werft-check.json"],
                "reports": {"junit": "werft-check.xml", "dotenv": "werft.env"},
            },
        },
        "werft-promote": {
            "stage": "promote",
            "image": image,
            "needs": ["werft-check"],
            "rules": [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}],
            "script": [
                install,
                # The reviewed werft.yaml becomes the project's use case, whose policy
                # decides how the promotion proceeds (needs a project admin's token).
                f"werft validate {shlex.quote(use_case)} --sync",
                f'werft promote "$WERFT_MODEL" "$WERFT_VERSION" --to {shlex.quote(alias)}',
            ],
        },
    }
    header = (
        "# Written by `werft ci gitlab`: train, check against the use case, request promotion.\n"
        "# Set WERFT_URL (and WERFT_TOKEN, masked) as CI/CD variables of this project.\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False, width=1000)


def detect_ci(environ: Mapping[str, str]) -> CiRun | None:
    """The CI job this process runs in, from the variables CI runners set; None outside CI.

    GitLab (``GITLAB_CI``), GitHub Actions (``GITHUB_ACTIONS``), Jenkins
    (``JENKINS_URL``), else any runner that sets ``CI=true`` (Woodpecker,
    Buildkite, CircleCI, Azure Pipelines …) as ``ci``.
    """
    if environ.get("GITLAB_CI") == "true":
        return CiRun(
            provider="gitlab",
            url=environ.get("CI_JOB_URL", ""),
            job=environ.get("CI_JOB_ID", ""),
            commit=environ.get("CI_COMMIT_SHA", ""),
        )
    if environ.get("GITHUB_ACTIONS") == "true":
        server, repository = environ.get("GITHUB_SERVER_URL", ""), environ.get("GITHUB_REPOSITORY")
        run = environ.get("GITHUB_RUN_ID", "")
        return CiRun(
            provider="github",
            url=f"{server}/{repository}/actions/runs/{run}"
            if server and repository and run
            else "",
            job=run,
            commit=environ.get("GITHUB_SHA", ""),
        )
    if environ.get("JENKINS_URL"):
        return CiRun(
            provider="jenkins",
            url=environ.get("BUILD_URL", ""),
            job=environ.get("BUILD_TAG", ""),
            commit=environ.get("GIT_COMMIT", ""),
        )
    if environ.get("CI", "").lower() in ("true", "1", "yes"):
        return CiRun(provider="ci")
    return None
