"""`werft serve` and `werft deployments ...`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, print_json, table
from werft.cli.system import is_loopback
from werft.errors import InvalidInputError

if TYPE_CHECKING:
    from werft.serving.runtime import Variant
    from werft.serving.server import ServeConfig

deployments_app = typer.Typer(
    help="Deployments: what is served where, by which replicas.", no_args_is_help=True
)


@handle_errors
def serve(
    ctx: typer.Context,
    models: Annotated[list[str], typer.Argument(help="MODEL@ALIAS, one or more.")],
    *,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 9000,
    deployment: Annotated[
        str | None, typer.Option(help="Deployment name (default: the model's name).")
    ] = None,
    canary: Annotated[
        list[str] | None,
        typer.Option(
            help="MODEL@ALIAS=SHARE: route a share of requests, e.g. churn@challenger=10%."
        ),
    ] = None,
    shadow: Annotated[
        list[str] | None,
        typer.Option(
            help="MODEL@ALIAS: send a copy of each request, log it, return the primary's."
        ),
    ] = None,
    max_batch_size: Annotated[int, typer.Option(help="Most rows in one predict call.")] = 256,
    max_wait_ms: Annotated[
        float, typer.Option(help="Hold a lone request this long for others to join.")
    ] = 0.0,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between checks of the alias for a new version.")
    ] = 5.0,
    unseen_categories: Annotated[
        str, typer.Option(help="reject: 422 on a category the model never saw; pass: count it.")
    ] = "reject",
    prefer_onnx: Annotated[
        bool, typer.Option("--prefer-onnx", help="Use the package's ONNX form when it has one.")
    ] = False,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow generic Python (pickled) models to load.")
    ] = False,
    log_roll_seconds: Annotated[
        float, typer.Option(help="Ship the prediction log to the artifact store this often.")
    ] = 60.0,
    workers: Annotated[
        int, typer.Option(help="Serving processes behind the one port (metrics and log add up).")
    ] = 1,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Allow a non-loopback address without auth.")
    ] = False,
) -> None:
    """Serve models: validated input, micro-batching, prediction log, metrics, hot swap."""
    import uvicorn

    from werft.serving.runtime import RouteOptions
    from werft.serving.server import (
        ServeConfig,
        ServeTarget,
        ServingProcess,
        parse_canary,
        parse_target,
    )

    if unseen_categories not in ("reject", "pass"):
        raise InvalidInputError("--unseen-categories is reject or pass")
    if not is_loopback(host) and not insecure:
        raise InvalidInputError(
            f"refusing to bind {host}: the inference server has no authentication yet; "
            "put it behind an authenticating proxy or pass --insecure if you accept that"
        )
    canaries = dict(parse_canary(text) for text in canary or [])
    shadows = dict(map(parse_target, shadow or []))
    targets = []
    for text in models:
        name, alias = parse_target(text)
        targets.append(
            ServeTarget(
                name,
                alias,
                canary=canaries.pop(name, None),
                shadow=_shadow(shadows.pop(name, None)),
            )
        )
    if canaries or shadows:
        raise InvalidInputError(
            f"--canary/--shadow name models that are not served: {sorted({*canaries, *shadows})}"
        )
    policy: Literal["reject", "pass"] = "pass" if unseen_categories == "pass" else "reject"
    config = ServeConfig(
        targets=targets,
        deployment=deployment,
        address=f"http://{host}:{port}",
        poll_interval=poll_interval,
        roll_seconds=log_roll_seconds,
        options=RouteOptions(
            trust=trust,
            prefer_onnx=prefer_onnx,
            unseen_categories=policy,
            max_batch_rows=max_batch_size,
            max_wait_ms=max_wait_ms,
        ),
    )
    cli = context.get(ctx)
    print(f"werft serve on http://{host}:{port}: " + ", ".join(models), file=sys.stderr)
    if workers > 1:
        _run_workers(config, cli.overrides, host=host, port=port, workers=workers)
        return
    process = ServingProcess(cli.loaded.settings, cli.backend(), config)
    uvicorn.run(process.app(), host=host, port=port, log_level="warning", access_log=False)


def _run_workers(
    config: ServeConfig, overrides: dict[str, object], *, host: str, port: int, workers: int
) -> None:
    """Several processes on one port: each loads the models, logs and counts for itself."""
    import os
    import shutil
    import tempfile

    import uvicorn

    from werft.serving.server import CONFIG_ENV, config_to_env

    metrics_dir = tempfile.mkdtemp(prefix="werft-serve-metrics-")
    os.environ[CONFIG_ENV] = config_to_env(config, overrides)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "werft.serving.server:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _shadow(alias: str | None) -> Variant | None:
    from werft.serving.runtime import Variant

    return Variant(alias) if alias else None


@deployments_app.command("list")
@handle_errors
def list_deployments(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List deployments with their live replicas and versions."""
    deployments = context.get(ctx).backend().list_deployments()
    if as_json:
        print_json(deployments)
        return
    rows = [
        (
            d.name,
            d.strategy,
            ", ".join(f"{m}@{c.get('alias')}" for m, c in d.models.items()),
            sum(r.alive for r in d.replicas),
            ", ".join(
                sorted(
                    {
                        f"{m} v{v}"
                        for r in d.replicas
                        if r.alive
                        for m, vs in r.serving.items()
                        for v in vs.values()
                    }
                )
            ),
        )
        for d in deployments
    ]
    table("deployments", ["name", "strategy", "follows", "live replicas", "serving"], rows)


@deployments_app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show a deployment: its replicas, heartbeats and served versions."""
    deployment = context.get(ctx).backend().get_deployment(name)
    if as_json:
        print_json(deployment)
        return
    table(
        f"deployment {deployment.name} ({deployment.strategy})",
        ["replica", "address", "host", "pid", "status", "alive", "serving", "heartbeat"],
        [
            (r.id, r.address, r.host, r.pid, r.status, r.alive, r.serving, r.heartbeat_at)
            for r in deployment.replicas
        ],
    )
