"""`werft maturity`, GET /projects/{key}/maturity and both backends: one report, the same errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import werft
from werft.cli.main import app
from werft.config import load_settings
from werft.errors import NotFoundError
from werft.governance.actor import acting_as
from werft.governance.maturity_entities import MaturityReport
from werft.governance.roles import Role
from werft.sdk.backend import Backend
from werft.services import Services, build_services

from .conftest import MODEL, Release

PROBLEM = "application/problem+json"
runner = CliRunner()


def _stars(report: MaturityReport | dict[str, Any]) -> dict[str, int]:
    data = report.model_dump() if isinstance(report, MaturityReport) else report
    return {p["phase"]: p["stars"] for p in data["phases"]}


def test_both_backends_give_the_same_report(
    backend: Backend, services: Services, release: Release
) -> None:
    release.use_case()
    release.version()
    local = services.maturity.report("churn")
    got = backend.maturity("churn")
    assert got.model_dump(exclude={"generated_at"}) == local.model_dump(exclude={"generated_at"})
    assert got.phase("requirements").stars == 5  # the gate applied the synced werft.yaml
    assert got.phase("continuous_integration").stars == 3
    with pytest.raises(NotFoundError, match="project 'nope' not found"):
        backend.maturity("nope")


def test_the_sdk_reports_maturity(
    services: Services, release: Release, monkeypatch: pytest.MonkeyPatch
) -> None:
    release.version()
    monkeypatch.setattr("werft.sdk.fluent._backend", lambda: _Local(services))
    report = werft.maturity("churn")
    assert report.phase("exploration").stars == 3


class _Local:
    def __init__(self, services: Services) -> None:
        self.services = services

    def maturity(self, project: str) -> MaturityReport:
        return self.services.maturity.report(project)


# --- HTTP ------------------------------------------------------------------------------


def test_the_route_answers_the_report_and_404_as_problem_json(
    api: httpx.Client, release: Release
) -> None:
    release.use_case()
    response = api.get("/projects/churn/maturity")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["project"] == "churn" and _stars(body)["requirements"] == 4
    step = body["phases"][0]["next_step"]
    assert step["command"].startswith("werft check ")
    missing = api.get("/projects/nope/maturity")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    problem = missing.json()
    assert problem["code"] == "not_found" and "werft projects list" in problem["detail"]


def test_with_auth_a_viewer_of_the_project_may_read_it_and_others_may_not(
    services: Services, live_server: Any, release: Release
) -> None:
    release.use_case()
    services.projects.create("fraud")
    tokens = {}
    for name, project in (("viewer", "churn"), ("outsider", "fraud")):
        services.users.create_user(name)
        services.users.grant(name, project, Role.VIEWER)
        tokens[name] = services.users.create_token(name, name="t", expires_in=None).secret
    live_server.app.state.services = services
    live_server.app.state.auth = True
    try:
        with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as http:

            def get(who: str | None) -> httpx.Response:
                headers = {"authorization": f"Bearer {tokens[who]}"} if who else {}
                return http.get("/projects/churn/maturity", headers=headers)

            assert get("viewer").status_code == 200
            denied = get("outsider")
            assert denied.status_code == 403 and "in project 'churn'" in denied.json()["detail"]
            assert get(None).status_code == 401
    finally:
        live_server.app.state.auth = False


# --- CLI -------------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Release]:
    home = tmp_path / "cli-home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    built = build_services(load_settings(home=home).settings)
    yield Release(built)
    built.close()


def _invoke(*args: str) -> tuple[int, str, str]:
    with acting_as("dev"):
        result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_prints_stars_evidence_and_next_steps(local: Release) -> None:
    local.use_case()
    version = local.version(gate=None)
    code, out, _ = _invoke("maturity", "churn")
    assert code == 0, out
    assert "MLOps maturity of churn" in out
    assert "★★★★☆" in out  # requirements: four of five
    assert "runs log their input datasets (1)" in out
    assert "Next steps" in out
    assert f"werft check {MODEL} {version} --data holdout.parquet --use-case werft.yaml" in out


def test_the_cli_prints_json_for_scripts(local: Release) -> None:
    local.version()
    code, out, _ = _invoke("maturity", "churn", "--json")
    assert code == 0
    data = json.loads(out)
    assert _stars(data)["development"] == 3
    assert data["phases"][2]["evidence"][0] == {
        "level": 1,
        "criterion": "models are registered",
        "count": 1,
        "of": None,
        "met": True,
    }


def test_the_cli_names_an_unknown_use_case(local: Release) -> None:
    code, _, err = _invoke("maturity", "nope")
    assert code == 3
    assert err.startswith("error: project 'nope' not found")
