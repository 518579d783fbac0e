"""/api/v1: a project's training pipeline and its runs (continuous training).

Who may do what, and why:

- **Syncing the pipeline** (``PUT /projects/{key}/pipeline``) needs a **global
  admin**. The synced entrypoint and code snapshot are what the server's worker
  executes, unattended, whenever a trigger fires — and it executes them with
  the server's own store credentials (``job_env``: the database URL and the
  artifact store), which reach every project and the users table. Whoever may
  sync may therefore act as the server itself; ``admin`` of one project would
  be a step to global admin, ``member`` a step from logging runs to it. Once
  triggered jobs reach werft with a token scoped to their project instead,
  ``admin`` in the project is the right rule.
- **Creating, reporting on and cancelling runs** needs ``member``: ``werft train``
  executes the run in the caller's own process and only records it here, as it
  records any tracked run. (A run created with ``start: false`` is queued for
  the worker, so the service must hold it to the synced code and spec.)
- Reading needs ``viewer``. ``GET /pipeline-runs`` needs it in the project of
  ``?project=`` and of ``?training_run_id=`` (a run's logs and params are its
  project's business); without either filter, in at least one project, as
  other unfiltered listings do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from werft.governance import access
from werft.governance.roles import Role
from werft.pipelines.entities import (
    CodeVersion,
    NewPipelineRun,
    Pipeline,
    PipelineRun,
    PipelineRunUpdate,
)
from werft.server.deps import ServicesDep, VisibleProjectsDep, require, require_admin

router = APIRouter(tags=["pipelines"])

LimitQuery = Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")]
TrainingRunQuery = Annotated[
    str | None, Query(description="Only the pipeline runs of this training run.")
]


class PipelineSync(BaseModel):
    """The ``training`` section of werft.yaml and the code snapshot it runs."""

    model_config = ConfigDict(extra="forbid")

    # Checked by the service, as in local mode: a mistake is a 400 naming the field.
    spec: dict[str, Any] = Field(
        description="The training section of werft.yaml as JSON; see docs/pipelines.md."
    )
    code: CodeVersion


@router.put(
    "/projects/{key}/pipeline",
    # The worker executes the synced code with the server's credentials (module docstring).
    dependencies=[require_admin()],
)
def sync_pipeline(services: ServicesDep, key: str, body: PipelineSync) -> Pipeline:
    """Store the project's training section and code snapshot; triggers keep their state."""
    return services.pipelines.sync(key, body.spec, body.code)


@router.get("/projects/{key}/pipeline", dependencies=[require(Role.VIEWER, access.project())])
def get_pipeline(services: ServicesDep, key: str) -> Pipeline:
    """The project's pipeline as last synced, with what each trigger has seen."""
    return services.pipelines.get(key)


@router.post(
    "/projects/{key}/pipeline-runs",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require(Role.MEMBER, access.project())],
)
def create_pipeline_run(services: ServicesDep, key: str, body: NewPipelineRun) -> PipelineRun:
    """Record a new run (``werft train``); 409 while a run for the same ``cause_key`` is active."""
    return services.pipelines.create_run(key, body)


@router.get("/projects/{key}/pipeline-runs", dependencies=[require(Role.VIEWER, access.project())])
def list_project_pipeline_runs(
    services: ServicesDep,
    key: str,
    training_run_id: TrainingRunQuery = None,
    limit: LimitQuery = 50,
) -> list[PipelineRun]:
    """The project's pipeline runs, newest first."""
    return services.pipelines.list_runs(key, training_run_id=training_run_id, limit=limit)


@router.get(
    "/pipeline-runs",
    dependencies=[
        require(
            Role.VIEWER,
            access.project("project", "query", optional=True),
            access.run("training_run_id", "query"),
        )
    ],
)
def list_pipeline_runs(
    services: ServicesDep,
    visible: VisibleProjectsDep,
    project: str | None = None,
    training_run_id: TrainingRunQuery = None,
    limit: LimitQuery = 50,
) -> list[PipelineRun]:
    """Pipeline runs of every project the caller holds a role in (``?project=`` filters),
    newest first."""
    return services.pipelines.list_runs(
        project, training_run_id=training_run_id, projects=visible, limit=limit
    )


@router.get("/pipeline-runs/{run_id}", dependencies=[require(Role.VIEWER, access.pipeline_run())])
def get_pipeline_run(services: ServicesDep, run_id: int) -> PipelineRun:
    """One run with every link it made: training run, candidate, gate, approval, alias."""
    return services.pipelines.get_run(run_id)


@router.patch("/pipeline-runs/{run_id}", dependencies=[require(Role.MEMBER, access.pipeline_run())])
def update_pipeline_run(services: ServicesDep, run_id: int, body: PipelineRunUpdate) -> PipelineRun:
    """Report a step of a run (also its heartbeat); 409 once the run has finished."""
    return services.pipelines.update(run_id, body)


@router.post(
    "/pipeline-runs/{run_id}/cancel", dependencies=[require(Role.MEMBER, access.pipeline_run())]
)
def cancel_pipeline_run(services: ServicesDep, run_id: int) -> PipelineRun:
    """Ask the executing process to stop the run; a queued run is cancelled at once."""
    return services.pipelines.request_cancel(run_id)
