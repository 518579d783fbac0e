"""`werft runs ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, console, fmt, print_json, table
from werft.tracking.entities import Run

app = typer.Typer(help="Runs: list, show, compare, delete, restore.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_runs(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project key.")],
    filter_: Annotated[
        str | None,
        typer.Option("--filter", "-f", help="e.g. \"metrics.auc > 0.8 and params.depth = '3'\""),
    ] = None,
    order_by: Annotated[
        list[str] | None, typer.Option("--order-by", "-o", help="e.g. 'metrics.auc DESC'")
    ] = None,
    *,
    limit: Annotated[int, typer.Option(help="At most this many runs.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List a project's runs, newest first, with their metrics."""
    page = (
        context.get(ctx)
        .backend()
        .search_runs(project, filter=filter_, order_by=order_by, max_results=limit)
    )
    if as_json:
        print_json(page.items)
        return
    metric_keys = sorted({k for run in page.items for k in run.metrics})[:8]
    param_keys = sorted({k for run in page.items for k in run.params})[:6]
    rows: list[list[object]] = [
        [r.id, r.name, r.status.value, r.start_time.strftime("%m-%d %H:%M")]
        + [r.params.get(k) for k in param_keys]
        + [r.metrics.get(k) for k in metric_keys]
        for r in page.items
    ]
    columns = ["id", "name", "status", "started"]
    columns += [f"params.{k}" for k in param_keys] + [f"metrics.{k}" for k in metric_keys]
    table(f"runs of {project}", columns, rows)
    if page.next_cursor:
        console.print(f"[dim]more runs match; raise --limit (now {limit})[/dim]")


def _show(run: Run) -> None:
    rows = [
        ("id", run.id),
        ("project", run.project),
        ("name", run.name),
        ("status", run.status.value),
        ("started", run.start_time),
        ("ended", run.end_time),
        ("user", run.user),
        ("source", run.source_file),
        ("git", f"{run.git_commit or ''}{' (dirty)' if run.git_dirty else ''}"),
        ("python", run.environment.get("python")),
    ]
    table(None, ["run", ""], rows)
    if run.params:
        table("params", ["key", "value"], sorted(run.params.items()))
    if run.metrics:
        table("metrics (latest)", ["key", "value"], sorted(run.metrics.items()))
    if run.tags:
        table("tags", ["key", "value"], sorted(run.tags.items()))
    if run.inputs:
        table(
            "input datasets",
            ["name", "version", "context", "digest"],
            [(i.name, i.version, i.context, i.digest) for i in run.inputs],
        )


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show a run: params, latest metrics, tags, inputs, artifacts."""
    backend = context.get(ctx).backend()
    run = backend.get_run(run_id)
    artifacts = backend.list_artifacts(run_id)
    if as_json:
        data = run.model_dump(mode="json")
        data["artifacts"] = [a.model_dump(mode="json") for a in artifacts]
        print_json(data)
        return
    _show(run)
    if artifacts:
        table(
            "artifacts", ["path", "size", "digest"], [(a.path, a.size, a.digest) for a in artifacts]
        )


@app.command("compare")
@handle_errors
def compare(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    all_keys: Annotated[bool, typer.Option("--all", help="Also rows that are equal.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Compare runs side by side: params and latest metrics; differences marked."""
    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two run ids")
    backend = context.get(ctx).backend()
    runs = [backend.get_run(run_id) for run_id in run_ids]
    rows: list[list[object]] = []
    for kind in ("params", "metrics"):
        keys = sorted({k for r in runs for k in getattr(r, kind)})
        for key in keys:
            values = [getattr(r, kind).get(key) for r in runs]
            differs = len({fmt(v) for v in values}) > 1
            if differs or all_keys:
                rows.append([f"{kind}.{key}", "≠" if differs else "", *values])
    if as_json:
        print_json(
            {
                "runs": run_ids,
                "rows": [{"key": r[0], "differs": bool(r[1]), "values": r[2:]} for r in rows],
            }
        )
        return
    table("comparison", ["key", "", *(f"{r.name} ({r.id[:8]})" for r in runs)], rows)


@app.command("delete")
@handle_errors
def delete(ctx: typer.Context, run_id: str) -> None:
    """Delete a run (restorable until `werft gc` purges it)."""
    context.get(ctx).backend().delete_run(run_id)
    print(f"deleted run {run_id}; `werft runs restore {run_id}` undoes it until `werft gc`")


@app.command("restore")
@handle_errors
def restore(ctx: typer.Context, run_id: str) -> None:
    """Restore a deleted run."""
    context.get(ctx).backend().restore_run(run_id)
    print(f"restored run {run_id}")
