"""The ``werft`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from werft import __version__
from werft.cli import (
    alerts,
    approvals,
    audit,
    card,
    context,
    drift,
    gates,
    login,
    maturity,
    models,
    monitor,
    pipelines,
    projects,
    quickstart,
    runs,
    serve,
    system,
    usecase,
    users,
)

app = typer.Typer(
    name="werft",
    help="werft: on-premise MLOps — track experiments, version data and models, "
    "register and serve them, on your own servers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"werft {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option("--url", help="werft server to talk to (else WERFT_URL / local).")
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="werft home folder (else WERFT_HOME / ~/.werft).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Global options, applied before any command."""
    cli = context.CliContext(overrides={"url": url, "home": home})
    ctx.obj = cli
    ctx.call_on_close(cli.close)


app.command("quickstart")(quickstart.quickstart)
app.command("server")(system.server)
app.command("serve")(serve.serve)
app.add_typer(serve.deployments_app, name="deployments")
app.add_typer(projects.app, name="projects")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(system.db_app, name="db")
app.command("config")(system.config)
app.command("gc")(system.gc)
app.command("drift")(drift.drift)
app.command("init")(usecase.init)
app.command("validate")(usecase.validate)
app.add_typer(usecase.app, name="usecase")
app.command("check")(gates.check)
app.add_typer(gates.ci_app, name="ci")
app.add_typer(monitor.app, name="monitor")
app.add_typer(monitor.kpi_app, name="kpi")
app.add_typer(alerts.app, name="alerts")
app.add_typer(audit.app, name="audit")
app.command("worker")(system.worker)
app.command("promote")(approvals.promote)
app.command("approve")(approvals.approve)
app.command("reject")(approvals.reject)
app.add_typer(approvals.app, name="approvals")
app.command("rollback")(approvals.rollback)
app.command("card")(card.card)
app.command("train")(pipelines.train)
app.command("reproduce")(pipelines.reproduce)
app.add_typer(pipelines.app, name="pipelines")
app.command("maturity")(maturity.maturity)
app.add_typer(users.app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.command("login")(login.login)
app.command("whoami")(login.whoami)


def main() -> None:
    """Entry point of the ``werft`` script."""
    app()
