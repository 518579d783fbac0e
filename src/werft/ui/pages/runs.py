"""Runs of a use case: the searchable table, the comparison of runs, one run's page."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from werft.errors import InvalidInputError, NotFoundError
from werft.governance import access
from werft.governance.roles import Role
from werft.server.deps import require
from werft.services import Services
from werft.tracking.entities import DatasetVersion, Run
from werft.tracking.filter_lexer import render_key
from werft.ui.lttb import MAX_CHART_POINTS, lttb
from werft.ui.page import PageDep

router = APIRouter()

PAGE_SIZE = 50
MAX_COMPARE = 8
MAX_VERSIONS = 1000
"""Versions of each model searched for the ones a run produced (newest first)."""
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
"""Artifact types shown in the browser; text is shown as plain text, all else downloaded."""


@router.get("/projects/{key}/runs", dependencies=[require(Role.VIEWER, access.project())])
def runs(
    page: PageDep,
    key: str,
    filter: str = "",
    order: str = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The runs table: params and metrics as columns, filtered, sorted, a page at a time."""
    services = page.services
    project = services.projects.get(key)
    order_by = [order] if order else None
    error = ""
    items: list[Run] = []
    more = False
    try:
        cursor = services.runs.search_cursor(
            key, filter=filter or None, order_by=order_by, offset=(page_number - 1) * PAGE_SIZE
        )
        found = services.runs.search(
            key, filter=filter or None, order_by=order_by, max_results=PAGE_SIZE, cursor=cursor
        )
        items, more = found.items, found.next_cursor is not None
    except InvalidInputError as exc:
        error = exc.message
    params = sorted({k for run in items for k in run.params})
    metrics = sorted({k for run in items for k in run.metrics})

    def link(**changes: Any) -> str:
        query = {"filter": filter, "order": order, "page": page_number, **changes}
        return f"/projects/{key}/runs?" + urlencode({k: v for k, v in query.items() if v})

    return page.render(
        "runs/list.html.j2",
        project=project,
        runs=items,
        params=params,
        metrics=metrics,
        filter=filter,
        order=order,
        error=error,
        page_number=page_number,
        first=(page_number - 1) * PAGE_SIZE + 1,
        more=more,
        link=link,
        sort=lambda entity, name: sort_order(order, entity, name),
    )


def sort_order(current: str, entity: str, name: str) -> tuple[str, str]:
    """The ``order`` a column header links to, and the column's sort state now.

    The first click sorts descending (best metric first), the next ascending.
    """
    ident = f"{entity}.{render_key(name)}" if entity else name
    if current == f"{ident} DESC":
        return f"{ident} ASC", "descending"
    if current in (ident, f"{ident} ASC"):
        return f"{ident} DESC", "ascending"
    return f"{ident} DESC", "none"


@router.get("/projects/{key}/compare", dependencies=[require(Role.VIEWER, access.project())])
def compare(
    page: PageDep, key: str, run: Annotated[list[str] | None, Query()] = None
) -> HTMLResponse:
    """Runs side by side: params and metrics (differences marked), curves overlaid.

    The curves load one by one after the page (``compare_chart``), so that many
    long histories never hold the tables back.
    """
    project = page.services.projects.get(key)
    chosen = _runs_of(page, key, run)
    return page.render(
        "runs/compare.html.j2",
        project=project,
        runs=chosen,
        params=sorted({k for r in chosen for k in r.params}),
        metrics=sorted({k for r in chosen for k in r.metrics}),
        chart_query=urlencode([("run", r.id) for r in chosen]),
        column=lambda kind, name: [getattr(r, kind).get(name) for r in chosen],
        differs=lambda values: len({str(v) for v in values}) > 1,
    )


@router.get("/projects/{key}/compare/chart", dependencies=[require(Role.VIEWER, access.project())])
def compare_chart(
    page: PageDep, key: str, metric: str, run: Annotated[list[str] | None, Query()] = None
) -> HTMLResponse:
    """One metric of the compared runs, overlaid; nothing when no run has a history of it."""
    series = [
        _series(page.services, r.id, metric, label=r.name or r.id[:8])
        for r in _runs_of(page, key, run)
        if metric in r.metrics
    ]
    if not any(s["total"] > 1 for s in series):  # single values are in the table already
        return HTMLResponse("")
    return page.render(
        "runs/_chart.html.j2",
        key=metric,
        data={"x_label": "step", "series": series},
        total=max(s["total"] for s in series),
    )


def _runs_of(page: PageDep, key: str, ids: list[str] | None) -> list[Run]:
    """The runs named, at most :data:`MAX_COMPARE`; each must belong to use case ``key``."""
    chosen = [page.services.runs.get(run_id) for run_id in dict.fromkeys(ids or [])]
    for r in chosen:
        if r.project != key:  # the route's permission covers this use case only
            raise NotFoundError(f"run {r.id!r} is not in use case {key!r}")
    return chosen[:MAX_COMPARE]


@router.get("/runs/{run_id}", dependencies=[require(Role.VIEWER, access.run())])
def run_page(page: PageDep, run_id: str) -> HTMLResponse:
    """One run: facts, params, metrics with charts, artifacts, input datasets, lineage."""
    services = page.services
    run = services.runs.get(run_id)
    inputs = [
        (link, _dataset(services, run.project, link.name, link.version)) for link in run.inputs
    ]
    models = [
        version
        for model in services.registry.list_models(project=run.project, limit=1000).items
        for version in services.registry.list_versions(model.name, limit=MAX_VERSIONS).items
        if version.run_id == run.id
    ]
    return page.render(
        "runs/run.html.j2",
        run=run,
        artifacts=services.artifacts.list(run.id),
        inputs=inputs,
        models=models,
        column_stats=column_stats,
    )


@router.get("/runs/{run_id}/chart", dependencies=[require(Role.VIEWER, access.run())])
def chart(page: PageDep, run_id: str, key: str) -> HTMLResponse:
    """A metric's chart as a fragment: the history cut to at most 2,000 points (LTTB)."""
    series = _series(page.services, run_id, key, label=key)
    if series["total"] < 2:  # a single value is in the metrics table; no chart for it
        return HTMLResponse("")
    return page.render(
        "runs/_chart.html.j2",
        key=key,
        data={"x_label": "step", "series": [series]},
        total=series["total"],
    )


@router.get(
    "/runs/{run_id}/artifacts/{path:path}", dependencies=[require(Role.VIEWER, access.run())]
)
def artifact(page: PageDep, run_id: str, path: str, download: bool = False) -> StreamingResponse:
    """An artifact's content: images and text shown, anything else (and on request) downloaded.

    Never served as HTML or SVG: a logged file must not run script on this site.
    """
    services = page.services
    info = services.artifacts.get(run_id, path)
    guessed = mimetypes.guess_type(path)[0] or ""
    if download:
        media, disposition = "application/octet-stream", "attachment"
    elif guessed in INLINE_TYPES:
        media, disposition = guessed, "inline"
    elif guessed.startswith("text/") or guessed in ("application/json", "application/x-yaml"):
        media, disposition = "text/plain; charset=utf-8", "inline"
    else:
        media, disposition = "application/octet-stream", "attachment"
    name = path.rsplit("/", 1)[-1].replace('"', "")
    return StreamingResponse(
        services.artifacts.iter_content(run_id, path),
        media_type=media,
        headers={
            "content-disposition": f'{disposition}; filename="{name}"',
            "content-length": str(info.size),
            "x-content-type-options": "nosniff",
            "content-security-policy": "sandbox; default-src 'none'; img-src 'self'",
        },
    )


def _series(services: Services, run_id: str, key: str, *, label: str) -> dict[str, Any]:
    steps, values = services.runs.get_metric_series(run_id, key)
    x = np.asarray(steps, dtype=np.float64)
    xs, ys = lttb(x, np.asarray(values, dtype=np.float64), MAX_CHART_POINTS)
    return {"label": label, "x": xs.tolist(), "y": ys.tolist(), "total": len(steps)}


def _dataset(services: Services, project: str, name: str, version: int) -> DatasetVersion | None:
    try:
        return services.datasets.get(project, name, version)
    except NotFoundError:
        return None


def column_stats(column: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    """The statistics of one profiled column that the run page lists."""
    numeric = column.get("numeric") or {}
    for name in ("min", "max", "mean", "std"):
        if numeric.get(name) is not None:
            yield name, numeric[name]
    categorical = column.get("categorical") or {}
    if categorical:
        yield "distinct", categorical.get("distinct")
        top = categorical.get("top") or []
        if top:
            yield "top", ", ".join(f"{value} ({count})" for value, count in top[:3])
