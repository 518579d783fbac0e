"""Pipelines and pipeline runs through both backends, and the API's answers and permissions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from werft.errors import ConflictError, InvalidInputError, NotFoundError
from werft.governance.roles import Role
from werft.pipelines.entities import (
    CodeVersion,
    NewPipelineRun,
    PipelineRunUpdate,
    PipelineStatus,
    Trigger,
)
from werft.sdk.backend import Backend
from werft.services import Services

PROJECT = "churn"
CODE = CodeVersion(digest="sha256:" + "5a" * 32, commit="0123456789ab")
SPEC: dict[str, Any] = {
    "entrypoint": "train.py:main",
    "params": {"C": 1.0},
    "data": {"train": "customers@latest"},
    "triggers": [{"dataset": "customers"}, {"alert": "churn-drift"}],
}


def _dataset(version_tag: str) -> dict[str, Any]:
    return {"digest": "sha256:" + version_tag * 32, "row_count": 10, "schema": [], "profile": {}}


def _project(backend: Backend) -> None:
    backend.create_project(PROJECT)
    backend.register_dataset(PROJECT, "customers", _dataset("c1"), None)


def _run(*, cause_key: str | None = None, start: bool = True) -> NewPipelineRun:
    # A cause key dedups API-created runs too (a CI job that may be retried, say).
    return NewPipelineRun(cause_key=cause_key, spec=SPEC, code=CODE, start=start)


def test_a_run_is_recorded_from_sync_to_its_end(backend: Backend) -> None:
    _project(backend)
    synced = backend.sync_pipeline(PROJECT, SPEC, CODE)
    assert (synced.project, synced.code, synced.spec["entrypoint"]) == (
        PROJECT,
        CODE,
        "train.py:main",
    )
    assert synced.trigger_state["dataset:customers"] == {"after_version": 1}
    assert backend.get_pipeline(PROJECT) == synced

    run = backend.create_pipeline_run(PROJECT, _run())
    assert (run.status, run.trigger, run.project) == (
        PipelineStatus.TRAINING,
        Trigger.MANUAL,
        PROJECT,
    )
    assert run.data == {"train": "customers@1"}  # @latest pinned, so it can be reproduced
    assert (run.code.digest, run.params, run.entrypoint) == (
        CODE.digest,
        {"C": 1.0},
        "train.py:main",
    )

    training = backend.create_run(PROJECT, name="train")
    reported = backend.update_pipeline_run(
        run.id, PipelineRunUpdate(training_run_id=training.id, job_id="local-1")
    )
    assert (reported.training_run_id, reported.job_id) == (training.id, "local-1")
    assert reported.status is PipelineStatus.TRAINING  # fields left None stay as they are
    gating = backend.update_pipeline_run(run.id, PipelineRunUpdate(status=PipelineStatus.GATING))
    assert (gating.status, gating.training_run_id) == (PipelineStatus.GATING, training.id)
    done = backend.update_pipeline_run(
        run.id,
        PipelineRunUpdate(status=PipelineStatus.SUCCEEDED, exit_code=0, logs="fitted\n"),
    )
    assert (done.status, done.exit_code, done.logs) == (PipelineStatus.SUCCEEDED, 0, "fitted\n")
    assert done.finished_at is not None

    assert backend.get_pipeline_run(run.id) == done
    assert [r.id for r in backend.list_pipeline_runs(PROJECT)] == [run.id]
    assert [r.id for r in backend.list_pipeline_runs(training_run_id=training.id)] == [run.id]
    assert backend.list_pipeline_runs(PROJECT, training_run_id="elsewhere") == []
    with pytest.raises(ConflictError, match=rf"pipeline run #{run.id} has finished \(succeeded\)"):
        backend.update_pipeline_run(run.id, PipelineRunUpdate(logs="more"))


def test_one_active_run_per_cause_and_a_queued_run_cancels_at_once(backend: Backend) -> None:
    _project(backend)
    backend.sync_pipeline(PROJECT, SPEC, CODE)
    first = backend.create_pipeline_run(PROJECT, _run(cause_key="alert:churn-drift", start=False))
    assert first.status is PipelineStatus.QUEUED and first.started_at is None
    with pytest.raises(ConflictError, match=rf"still running \(pipeline run #{first.id}\)"):
        backend.create_pipeline_run(PROJECT, _run(cause_key="alert:churn-drift", start=False))
    other = backend.create_pipeline_run(PROJECT, _run())  # manual runs have no cause to share

    cancelled = backend.cancel_pipeline_run(first.id)
    assert (cancelled.status, cancelled.cancel_requested) == (PipelineStatus.CANCELLED, True)
    assert cancelled.finished_at is not None
    with pytest.raises(ConflictError, match="has finished"):
        backend.cancel_pipeline_run(first.id)
    again = backend.create_pipeline_run(PROJECT, _run(cause_key="alert:churn-drift", start=False))
    assert again.id not in (first.id, other.id)  # the cause is free once its run has ended

    # A running run is only asked to stop: the process executing it ends it.
    asked = backend.cancel_pipeline_run(other.id)
    assert (asked.status, asked.cancel_requested) == (PipelineStatus.TRAINING, True)


def test_unknown_objects_and_invalid_input_are_the_same_errors_in_both_modes(
    backend: Backend,
) -> None:
    with pytest.raises(NotFoundError, match="'ghost'"):
        backend.get_pipeline("ghost")
    _project(backend)
    with pytest.raises(NotFoundError, match="has no training pipeline"):
        backend.get_pipeline(PROJECT)
    with pytest.raises(NotFoundError, match="pipeline run #999 not found"):
        backend.get_pipeline_run(999)
    with pytest.raises(NotFoundError, match="pipeline run #999 not found"):
        backend.update_pipeline_run(999, PipelineRunUpdate(status=PipelineStatus.FAILED))
    with pytest.raises(NotFoundError, match="pipeline run #999 not found"):
        backend.cancel_pipeline_run(999)
    with pytest.raises(InvalidInputError, match="entrypoint"):
        backend.sync_pipeline(PROJECT, {**SPEC, "entrypoint": "train.py"}, CODE)
    with pytest.raises(InvalidInputError, match="limit"):
        backend.list_pipeline_runs(PROJECT, limit=0)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def test_the_api_answers_problem_documents(api: httpx.Client, services: Services) -> None:
    assert "#999" in _problem(api.get("/pipeline-runs/999"), 404, "not_found")["detail"]
    services.projects.get_or_create(PROJECT)
    url = f"/projects/{PROJECT}/pipeline"
    missing = api.put(url, json={"spec": {"entrypoint": "train.py:main"}, "code": {}})
    assert [e["field"] for e in _problem(missing, 422, "invalid_input")["errors"]] == [
        "code.digest"
    ]
    bad = api.put(url, json={"spec": {"entrypoint": "train.py"}, "code": CODE.model_dump()})
    assert "training.entrypoint" in _problem(bad, 400, "invalid_input")["detail"]
    synced = api.put(url, json={"spec": {"entrypoint": "train.py:main"}, "code": CODE.model_dump()})
    assert synced.status_code == 200, synced.text
    created = api.post(
        f"/projects/{PROJECT}/pipeline-runs",
        json={"spec": {"entrypoint": "train.py:main"}, "code": CODE.model_dump()},
    )
    assert created.status_code == 201 and created.json()["status"] == "training"
    unknown = api.patch(f"/pipeline-runs/{created.json()['id']}", json={"colour": "red"})
    _problem(unknown, 422, "invalid_input")
    schema = api.get("/openapi.json").json()
    assert {"/api/v1/pipeline-runs/{run_id}/cancel", "/api/v1/projects/{key}/pipeline"} <= set(
        schema["paths"]
    )


# --- with auth on: roles decide -----------------------------------------------------------


@dataclass
class Team:
    http: httpx.Client
    tokens: dict[str, str]

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.tokens[who]}"}
        return self.http.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def team(services: Services, live_server: Any) -> Iterator[Team]:
    """root (global admin); in churn: padmin (admin), dev (member), val (viewer); ext (fraud)."""
    services.projects.get_or_create(PROJECT)
    services.projects.get_or_create("fraud")
    services.datasets.register(PROJECT, "customers", _dataset("c1"))
    services.users.create_user("root", admin=True)
    roles = {"padmin": Role.ADMIN, "dev": Role.MEMBER, "val": Role.VIEWER}
    for name, role in roles.items():
        services.users.create_user(name)
        services.users.grant(name, PROJECT, role)
    services.users.create_user("ext")
    services.users.grant("ext", "fraud", Role.ADMIN)
    tokens = {
        name: services.users.create_token(name, name="t", expires_in=None).secret
        for name in ("root", *roles, "ext")
    }
    live_server.app.state.services = services
    live_server.app.state.auth = True
    try:
        with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as http:
            yield Team(http, tokens)
    finally:
        live_server.app.state.auth = False


def test_syncing_needs_a_global_admin_and_runs_a_member(team: Team, services: Services) -> None:
    sync = {"spec": SPEC, "code": CODE.model_dump()}
    url = f"/projects/{PROJECT}/pipeline"
    for who in ("dev", "padmin"):  # the worker runs synced code with the server's credentials
        assert team.call(who, "PUT", url, json=sync).status_code == 403
    assert team.call("root", "PUT", url, json=sync).status_code == 200
    assert team.call("val", "GET", url).json()["code"] == CODE.model_dump()

    new = {"spec": SPEC, "code": CODE.model_dump(), "start": False}
    runs = f"/projects/{PROJECT}/pipeline-runs"
    assert "role 'member'" in team.call("val", "POST", runs, json=new).json()["detail"]
    created = team.call("dev", "POST", runs, json=new)
    assert created.status_code == 201, created.text
    run = f"/pipeline-runs/{created.json()['id']}"

    refused = team.call("val", "PATCH", run, json={"job_id": "x"})
    assert refused.status_code == 403 and "role 'member'" in refused.json()["detail"]
    assert team.call("val", "POST", f"{run}/cancel").status_code == 403
    assert team.call("ext", "GET", run).status_code == 403  # admin elsewhere sees nothing here
    assert team.call("val", "GET", run).json()["status"] == "queued"
    assert team.call("dev", "PATCH", run, json={"job_id": "x"}).json()["job_id"] == "x"
    assert team.call("dev", "POST", f"{run}/cancel").json()["status"] == "cancelled"
    _problem(team.call("val", "GET", "/pipeline-runs/999"), 404, "not_found")


def test_listings_need_a_role_where_their_filter_points(team: Team, services: Services) -> None:
    training = services.runs.create(PROJECT, name="train")
    assert team.call("val", "GET", f"/projects/{PROJECT}/pipeline-runs").status_code == 200
    assert team.call("ext", "GET", f"/projects/{PROJECT}/pipeline-runs").status_code == 403
    assert team.call("ext", "GET", "/pipeline-runs").status_code == 200  # any project
    by_run = {"training_run_id": training.id}
    assert team.call("ext", "GET", "/pipeline-runs", params=by_run).status_code == 403
    assert team.call("val", "GET", "/pipeline-runs", params=by_run).json() == []


def test_runs_link_only_what_exists_in_their_project(backend: Backend) -> None:
    _project(backend)
    backend.create_project("other")
    foreign = backend.create_run("other", name="elsewhere")
    run = backend.create_pipeline_run(PROJECT, _run())
    with pytest.raises(NotFoundError, match="run 'nope' not found in the run's project"):
        backend.update_pipeline_run(run.id, PipelineRunUpdate(training_run_id="nope"))
    with pytest.raises(NotFoundError, match="not found in the run's project"):
        backend.update_pipeline_run(run.id, PipelineRunUpdate(training_run_id=foreign.id))
    with pytest.raises(NotFoundError, match="gate report #77 not found"):
        backend.update_pipeline_run(run.id, PipelineRunUpdate(gate_report_id=77))
    with pytest.raises(InvalidInputError, match="cannot go back to queued"):
        backend.update_pipeline_run(run.id, PipelineRunUpdate(status=PipelineStatus.QUEUED))
    assert backend.get_pipeline_run(run.id).training_run_id is None


def test_a_queued_run_runs_only_the_synced_code(backend: Backend) -> None:
    _project(backend)
    with pytest.raises(ConflictError, match="werft pipelines sync"):
        backend.create_pipeline_run(PROJECT, _run(start=False))  # nothing synced yet
    backend.sync_pipeline(PROJECT, SPEC, CODE)
    other = CodeVersion(digest="sha256:" + "be" * 32)
    new = NewPipelineRun(spec=SPEC, code=other, start=False)
    with pytest.raises(ConflictError, match="must be that pipeline's"):
        backend.create_pipeline_run(PROJECT, new)
    assert backend.create_pipeline_run(PROJECT, _run(start=False)).status is PipelineStatus.QUEUED
    with pytest.raises(InvalidInputError, match="started by its trigger"):
        backend.create_pipeline_run(
            PROJECT, NewPipelineRun(trigger=Trigger.ALERT, spec=SPEC, code=CODE)
        )
