"""`werft projects ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, print_json, table

app = typer.Typer(help="Projects (use cases): list, create, delete, restore.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_projects(
    ctx: typer.Context,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted projects.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List projects."""
    backend = context.get(ctx).backend()
    projects, cursor = [], None
    while True:
        page = backend.list_projects(limit=1000, cursor=cursor, include_deleted=deleted)
        projects.extend(page.items)
        if (cursor := page.next_cursor) is None:
            break
    if as_json:
        print_json(projects)
        return
    rows = [(p.key, p.name, p.description, p.created_at, p.deleted_at) for p in projects]
    table("projects", ["key", "name", "description", "created", "deleted"], rows)


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Unique key, e.g. churn.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    description: Annotated[str, typer.Option(help="What the use case is for.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Create a project."""
    project = context.get(ctx).backend().create_project(key, name=name, description=description)
    if as_json:
        print_json(project)
    else:
        print(f"created project {project.key}")


@app.command("delete")
@handle_errors
def delete(ctx: typer.Context, key: str) -> None:
    """Delete a project (restorable until `werft gc` purges it)."""
    context.get(ctx).backend().delete_project(key)
    print(f"deleted project {key}; `werft projects restore {key}` undoes it until `werft gc`")


@app.command("restore")
@handle_errors
def restore(ctx: typer.Context, key: str) -> None:
    """Restore a deleted project."""
    context.get(ctx).backend().restore_project(key)
    print(f"restored project {key}")
