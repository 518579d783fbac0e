"""Continuous training: the pipeline runs of a use case, each with every link it made."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from werft.errors import NotFoundError
from werft.governance import access
from werft.governance.roles import Role
from werft.pipelines.entities import PipelineRun, PipelineStatus
from werft.server.deps import require, require_signed_in
from werft.ui.page import NavItem, PageDep

router = APIRouter()
NAV = (NavItem("nav.pipelines", "/pipelines", ("/pipeline-runs/",)),)

LIMIT = 200

_TONE = {
    PipelineStatus.PROMOTED: "s-ok",
    PipelineStatus.SUCCEEDED: "s-ok",
    PipelineStatus.AWAITING_APPROVAL: "s-pending",
    PipelineStatus.GATE_FAILED: "s-bad",
    PipelineStatus.FAILED: "s-bad",
    PipelineStatus.TIMED_OUT: "s-bad",
    PipelineStatus.REJECTED: "s-bad",
    PipelineStatus.CANCELLED: "s-cancelled",
}


@router.get("/pipelines", dependencies=[require_signed_in()])
def pipelines(page: PageDep) -> HTMLResponse:
    """The newest pipeline runs of every use case the caller may see."""
    keys = [p.key for p in page.services.projects.list(limit=1000).items]
    visible = page.visible(keys)
    # Filtered in the query, so the page holds the caller's newest runs, not fewer.
    runs = page.services.pipelines.list_runs(projects=visible if page.auth else None, limit=LIMIT)
    return _list(page, None, runs, projects=sorted(visible))


@router.get("/projects/{key}/pipelines", dependencies=[require(Role.VIEWER, access.project())])
def project_pipelines(page: PageDep, key: str) -> HTMLResponse:
    """The pipeline runs of one use case, with its synced pipeline and triggers."""
    runs = page.services.pipelines.list_runs(key, limit=LIMIT)
    try:
        pipeline = page.services.pipelines.get(key)
    except NotFoundError:
        pipeline = None
    keys = [p.key for p in page.services.projects.list(limit=1000).items]
    return _list(page, key, runs, projects=page.visible(keys), pipeline=pipeline)


@router.get(
    "/pipeline-runs/{run_id}",
    dependencies=[require(Role.VIEWER, access.pipeline_run())],
)
def pipeline_run(page: PageDep, run_id: int) -> HTMLResponse:
    """One pipeline run: trigger, training run, candidate, gate, approval, alias, output."""
    run = page.services.pipelines.get_run(run_id)
    return page.render("pipelines/run.html.j2", run=run, tone=_TONE.get(run.status, ""))


def _list(
    page: PageDep,
    project: str | None,
    runs: list[PipelineRun],
    *,
    projects: list[str],
    pipeline: object = None,
) -> HTMLResponse:
    return page.render(
        "pipelines/list.html.j2",
        project=project,
        projects=projects,
        runs=runs,
        pipeline=pipeline,
        tones=_TONE,
    )
