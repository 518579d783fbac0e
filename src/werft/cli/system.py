"""`werft server`, `werft db`, `werft config`, `werft gc`."""

from __future__ import annotations

import contextlib
import ipaddress
import sys
from datetime import timedelta
from typing import Annotated

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, print_json, table
from werft.errors import InvalidInputError
from werft.store.db import Database

db_app = typer.Typer(help="The metadata store's schema.", no_args_is_help=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


MaxPipelinesOpt = typer.Option(
    "--max-pipelines",
    help="Pipeline runs (retrainings) the worker executes at once.",
    min=1,
)


@handle_errors
def server(
    ctx: typer.Context,
    *,
    host: Annotated[str | None, typer.Option(help="Address to bind [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8080].")] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback address although auth is off."),
    ] = False,
    auth: Annotated[
        bool | None,
        typer.Option(
            "--auth/--no-auth",
            help="Require an API token on every route [default: the `auth` setting].",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Do not run monitors and alert notifications in this process "
            "(run `werft worker` elsewhere).",
        ),
    ] = False,
    worker_interval: Annotated[
        float, typer.Option(help="Seconds between the worker's passes.", min=0.1)
    ] = 10.0,
    max_pipelines: Annotated[int, MaxPipelinesOpt] = 1,
) -> None:
    """Run the werft server: web UI at /, REST API under /api/v1, OpenAPI at /api/v1/docs.

    The worker runs inside it by default: scheduled monitors, alert rules,
    notification delivery, and the training pipelines' triggers and runs.
    """
    import uvicorn

    from werft.server.app import create_app

    cli = context.get(ctx)
    cli.overrides.update({"server_host": host, "server_port": port, "auth": auth})
    settings = cli.loaded.settings
    if settings.url:
        raise InvalidInputError("unset WERFT_URL to run a server: it would talk to another one")
    if not settings.auth and not is_loopback(settings.server_host):
        if not insecure:
            raise InvalidInputError(
                f"refusing to bind {settings.server_host} without authentication: anyone on "
                "the network could read and change everything. Turn auth on (`werft server "
                "--auth` or WERFT_AUTH=true, after `werft users create NAME --admin` and "
                "`werft tokens create NAME`; see docs/security.md), bind 127.0.0.1 behind an "
                "authenticating proxy, or pass --insecure if you accept that"
            )
        print(
            f"WARNING: serving WITHOUT AUTHENTICATION on {settings.server_host}: anyone who "
            "can reach this port can read and change all data.",
            file=sys.stderr,
        )
    print(
        f"werft server on http://{settings.server_host}:{settings.server_port} "
        f"(database {Database(settings.effective_database_url).display_url}, "
        f"artifacts {settings.effective_artifacts_url}, "
        f"auth {'on: every route needs a token' if settings.auth else 'off'})",
        file=sys.stderr,
    )
    uvicorn.run(
        create_app(
            settings,
            worker_interval=None if no_worker else worker_interval,
            max_pipelines=max_pipelines,
        ),
        host=settings.server_host,
        port=settings.server_port,
        log_level=log_level,
        timeout_keep_alive=30,
    )


@handle_errors
def worker(
    ctx: typer.Context,
    interval: Annotated[float, typer.Option(help="Seconds between passes.", min=0.1)] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Do one pass and exit.")] = False,
    max_pipelines: Annotated[int, MaxPipelinesOpt] = 1,
) -> None:
    """Run the worker on its own: monitors, alerts, notifications, training triggers.

    `werft server` runs one inside unless started with --no-worker; run this
    on another machine or beside a server started that way. Several workers
    can share one database: each monitor run and notification is claimed once.
    """
    from werft.pipelines.dispatch import PipelineDispatcher
    from werft.services import build_services
    from werft.worker import Worker

    settings = context.get(ctx).loaded.settings
    if settings.url:
        raise InvalidInputError(
            "the worker needs the database itself; unset WERFT_URL and point "
            "WERFT_DATABASE_URL and WERFT_ARTIFACTS_URL at the server's stores"
        )
    services = build_services(settings)
    try:
        dispatcher = PipelineDispatcher(services, settings, max_parallel=max_pipelines)
        runner = Worker(services, interval=interval, pipelines=dispatcher)
        if once:
            counts = runner.tick()
            dispatcher.wait()  # --once: the pipeline runs it started end before the exit
            print(
                f"ran {counts['monitors']} monitors, sent {counts['notifications']} "
                f"notifications, started {counts['pipelines']} pipeline runs"
            )
            return
        print(f"werft worker: a pass every {interval:g} s (Ctrl-C stops)", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            runner.run_forever()
    finally:
        services.close()


@db_app.command("upgrade")
@handle_errors
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the metadata store's migrations (also done on start)."""
    settings = context.get(ctx).loaded.settings
    db = Database(settings.effective_database_url)
    before = db.current_revision()
    db.upgrade(revision)
    after = db.current_revision()
    db.dispose()
    print(f"{db.display_url}: {before or 'empty'} -> {after}")


@db_app.command("current")
@handle_errors
def db_current(ctx: typer.Context) -> None:
    """Print the schema revision the metadata store is at."""
    settings = context.get(ctx).loaded.settings
    db = Database(settings.effective_database_url)
    print(f"{db.display_url}: {db.current_revision() or 'empty'}")
    db.dispose()


@handle_errors
def config(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show the effective settings and where each value came from."""
    loaded = context.get(ctx).loaded
    settings = loaded.settings
    values = settings.model_dump()
    values["token"] = "********" if settings.token else None
    values["database_url"] = settings.effective_database_url
    values["artifacts_url"] = settings.effective_artifacts_url
    rows = [(name, values[name], loaded.sources[name]) for name in type(settings).model_fields]
    if as_json:
        print_json(
            {
                "config_file": str(loaded.config_file),
                "settings": {
                    n: {"value": str(v) if v is not None else None, "source": s} for n, v, s in rows
                },
            }
        )
        return
    table(f"werft config (file: {loaded.config_file})", ["setting", "value", "source"], rows)


@handle_errors
def gc(
    ctx: typer.Context,
    older_than_days: Annotated[
        float | None,
        typer.Option(
            "--older-than-days",
            help="Purge what was deleted at least this many days ago "
            "[default: delete_retention_days]; 0 purges every deleted object now.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Purge deleted runs and projects, then every artifact nothing references."""
    older = None if older_than_days is None else timedelta(days=older_than_days)
    report = context.get(ctx).backend().gc(older)
    if as_json:
        print_json(report)
        return
    print(
        f"purged {len(report.projects_purged)} project(s) {', '.join(report.projects_purged)}"
        f" and {report.runs_purged} run(s); deleted {report.blobs_deleted} blob(s), "
        f"{report.bytes_freed:,} bytes freed"
    )
