"""`werft audit ...`: the hash-chained audit log - list, verify, export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import orjson
import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, console, print_json, table
from werft.governance.audit_entities import AuditEvent
from werft.sdk.backend import Backend

app = typer.Typer(
    help="The audit log: every state change with actor, time and payload, hash-chained.",
    no_args_is_help=True,
)


@app.command("list")
@handle_errors
def list_events(
    ctx: typer.Context,
    *,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. alias.moved.")] = None,
    project: Annotated[str | None, typer.Option(help="Only this project's entries.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this user's entries.")] = None,
    object_id: Annotated[
        str | None, typer.Option(help="Only this object, e.g. churn@production.")
    ] = None,
    last: Annotated[int, typer.Option(help="The newest this many entries.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List audit entries, oldest first (the newest --last of them)."""
    backend = context.get(ctx).backend()
    found = list(_all(backend, action=action, project=project, actor=actor, object_id=object_id))[
        -last:
    ]
    if as_json:
        print_json(found)
        return
    rows = [
        (e.id, e.at, e.actor, e.action, e.object_id, e.project, _brief(e.payload)) for e in found
    ]
    table("audit log", ["id", "at", "actor", "action", "object", "project", "details"], rows)


@app.command("verify")
@handle_errors
def verify(ctx: typer.Context) -> None:
    """Check the whole chain; exit 1 and name the first changed, removed or reordered entry."""
    backend = context.get(ctx).backend()
    result = backend.verify_audit()
    if result.ok:
        head = backend.list_audit_events(after_id=max(result.checked - 1, 0), limit=1)
        anchor = f"; head hash {head[0].hash}" if head else ""
        console.print(f"audit log intact: {result.checked} entries{anchor}")
        return
    console.print(
        f"[bold red]audit log BROKEN[/] at entry {result.first_bad_id} "
        f"(after {result.checked} good entries): {result.problem}"
    )
    raise typer.Exit(1)


@app.command("export")
@handle_errors
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="File to write, one JSON entry per line.")] = Path(
        "audit.jsonl"
    ),
) -> None:
    """Write every entry as JSON lines (with its hashes, so the copy verifies on its own)."""
    count = 0
    with out.open("wb") as handle:
        for event in _all(context.get(ctx).backend()):
            handle.write(orjson.dumps(event.model_dump(mode="json")) + b"\n")
            count += 1
    console.print(f"wrote {count} entries to {out}")


def _all(backend: Backend, **filters: str | None) -> Iterator[AuditEvent]:
    after = 0
    while True:
        page = backend.list_audit_events(after_id=after, limit=5000, **filters)
        yield from page
        if len(page) < 5000:
            return
        after = page[-1].id


def _brief(payload: dict[str, object]) -> str:
    text = orjson.dumps(payload).decode()
    return text if len(text) <= 80 else text[:77] + "..."
