"""`werft models ...`: registered models, versions, aliases, lineage."""

from __future__ import annotations

from typing import Annotated

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, print_json, table
from werft.registry.entities import PipelineLink
from werft.sdk.environment import current_user

app = typer.Typer(
    help="The model registry: models, versions, aliases, lineage.", no_args_is_help=True
)
alias_app = typer.Typer(
    help="Aliases (staging, production ...): set, delete, history.", no_args_is_help=True
)
app.add_typer(alias_app, name="alias")

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.command("list")
@handle_errors
def list_models(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option(help="Only this project's models.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered models with their latest version and aliases."""
    backend = context.get(ctx).backend()
    models, cursor = [], None
    while True:
        page = backend.list_models(project=project, limit=1000, cursor=cursor)
        models.extend(page.items)
        if (cursor := page.next_cursor) is None:
            break
    if as_json:
        print_json(models)
        return
    rows = [
        (
            m.name,
            m.project,
            m.latest_version,
            ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())),
            m.updated_at,
        )
        for m in models
    ]
    table("registered models", ["name", "project", "latest", "aliases", "updated"], rows)


@app.command("show")
@handle_errors
def show(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """Show a registered model."""
    model = context.get(ctx).backend().get_model(name)
    if as_json:
        print_json(model)
        return
    table(
        None,
        ["model", ""],
        [
            ("name", model.name),
            ("project", model.project),
            ("description", model.description),
            ("latest version", model.latest_version),
            ("aliases", ", ".join(f"{a} → {v}" for a, v in sorted(model.aliases.items()))),
            ("created", model.created_at),
            ("updated", model.updated_at),
        ],
    )


@app.command("versions")
@handle_errors
def versions(
    ctx: typer.Context,
    name: str,
    limit: Annotated[int, typer.Option(help="At most this many versions.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List a model's versions, newest first."""
    page = context.get(ctx).backend().list_model_versions(name, limit=limit)
    if as_json:
        print_json(page.items)
        return
    rows = [
        (
            v.version,
            v.status.value,
            ", ".join(v.aliases),
            v.flavor,
            v.run_id,
            " ".join(
                f"{k}={val:.4g}" if isinstance(val, float) else f"{k}={val}"
                for k, val in sorted(v.metrics.items())[:4]
            ),
            v.created_by,
            v.created_at,
        )
        for v in page.items
    ]
    table(
        f"versions of {name}",
        ["version", "status", "aliases", "flavor", "run", "metrics", "by", "created"],
        rows,
    )


@app.command("lineage")
@handle_errors
def lineage(ctx: typer.Context, name: str, version: int, as_json: JsonOpt = False) -> None:
    """Where a version came from: run, params, metrics, datasets with hashes, code."""
    info = context.get(ctx).backend().model_lineage(name, version)
    if as_json:
        print_json(info)
        return
    code = info.code
    table(
        f"{name} version {version}",
        ["", ""],
        [
            ("package", info.version.content_hash),
            ("flavor", info.version.flavor),
            ("run", f"{info.run_name} ({info.run_id})" if info.run_id else "(run purged)"),
            ("source", code.source_file if code else None),
            (
                "git",
                f"{code.git_commit or ''}{' (dirty)' if code and code.git_dirty else ''}"
                if code
                else None,
            ),
            ("python", info.environment.get("python")),
            ("pipeline run", _pipeline(info.pipeline_run)),
        ],
    )
    if info.params:
        table("params", ["key", "value"], sorted(info.params.items()))
    if info.metrics:
        table("metrics", ["key", "value"], sorted(info.metrics.items()))
    if info.datasets:
        table(
            "trained on",
            ["dataset", "version", "context", "digest"],
            [(d.name, d.version, d.context, d.digest) for d in info.datasets],
        )


def _pipeline(link: PipelineLink | None) -> str | None:
    if link is None:
        return None
    trigger = f"{link.trigger} {link.trigger_detail}".strip()
    return f"#{link.id} ({trigger}; {link.status}; code {link.code_digest[:19]})"


@alias_app.command("set")
@handle_errors
def alias_set(ctx: typer.Context, name: str, alias: str, version: int) -> None:
    """Point ALIAS of model NAME at VERSION."""
    context.get(ctx).backend().set_alias(name, alias, version, actor=current_user())
    print(f"{name}@{alias} -> version {version}")


@alias_app.command("delete")
@handle_errors
def alias_delete(
    ctx: typer.Context,
    name: str,
    alias: str,
    reason: Annotated[
        str,
        typer.Option(
            help="Why: needed (and audited) for an alias the use case releases with "
            "approval, which only a project admin may delete."
        ),
    ] = "",
) -> None:
    """Remove ALIAS from model NAME (to go back one version, use werft rollback)."""
    context.get(ctx).backend().delete_alias(name, alias, actor=current_user(), reason=reason)
    print(f"deleted {name}@{alias}")


@alias_app.command("history")
@handle_errors
def alias_history(
    ctx: typer.Context,
    name: str,
    alias: Annotated[str | None, typer.Argument(help="Only this alias.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every move of a model's aliases: who, when, from which version to which."""
    events = context.get(ctx).backend().alias_history(name, alias)
    if as_json:
        print_json(events)
        return
    table(
        f"alias history of {name}",
        ["when", "alias", "from", "to", "by"],
        [(e.at, e.alias, e.from_version, e.to_version, e.actor) for e in events],
    )
