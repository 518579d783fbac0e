"""`werft monitor ...` and `werft kpi ...`: scheduled checks of deployments, business KPIs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.options import feature_numbers, feature_pairs
from werft.cli.output import JSON_HELP, console, print_json, table
from werft.errors import InvalidInputError
from werft.monitoring.entities import MonitorResult
from werft.monitoring.report import render_html
from werft.monitoring.schedule import format_duration, parse_duration

app = typer.Typer(
    help="Monitors: drift, prediction drift, performance, data quality and serving "
    "health of a deployment, per window, on a schedule.",
    no_args_is_help=True,
)
kpi_app = typer.Typer(help="Business KPIs of a deployment's use case.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    name: str,
    *,
    deployment: Annotated[str, typer.Option(help="The deployment to watch.")],
    window: Annotated[str, typer.Option(help="Window length: 15m, 1h, 1d.")] = "1h",
    schedule: Annotated[
        str, typer.Option(help='Cron expression (UTC), e.g. "*/15 * * * *".')
    ] = "*/15 * * * *",
    model: Annotated[
        str | None, typer.Option(help="The model, when the deployment serves several.")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Dataset version to compare with, project/name@version "
            "[default: the served version's training data]."
        ),
    ] = None,
    feature: Annotated[
        list[str] | None, typer.Option(help="Only check this feature (repeatable).")
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(help="Drift method per feature, e.g. age=psi (repeatable)."),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(help="Drift threshold per feature, e.g. age=0.2 (repeatable)."),
    ] = None,
    share: Annotated[
        float, typer.Option(help="Share of drifted features that means dataset drift.")
    ] = 0.5,
    tolerance: Annotated[
        float, typer.Option(help="Allowed drop of a metric below its validation value.")
    ] = 0.05,
    positive: Annotated[
        str | None, typer.Option(help="Positive class of a binary classifier.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a monitor; the worker in `werft server` (or `werft worker`) runs it."""
    config: dict[str, Any] = {
        "model": model,
        "reference": reference,
        "features": feature or None,
        "methods": feature_pairs("--method", method),
        "thresholds": feature_numbers("--threshold", threshold),
        "share_threshold": share,
        "tolerance": tolerance,
        "positive": positive,
    }
    created = (
        context.get(ctx)
        .backend()
        .create_monitor(
            name,
            deployment=deployment,
            window_seconds=parse_duration(window),
            schedule=schedule,
            config=config,
        )
    )
    if as_json:
        print_json(created)
        return
    console.print(
        f"monitor [bold]{created.name}[/] on {created.deployment}: window "
        f"{format_duration(created.window_seconds)}, schedule {created.schedule}, "
        f"next run {created.next_run_at:%Y-%m-%d %H:%M} UTC"
    )


@app.command("list")
@handle_errors
def list_monitors(
    ctx: typer.Context,
    deployment: Annotated[str | None, typer.Option(help="Only this deployment's.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List monitors."""
    found = context.get(ctx).backend().list_monitors(deployment=deployment)
    if as_json:
        print_json(found)
        return
    rows = [
        (
            m.name,
            m.deployment,
            format_duration(m.window_seconds),
            m.schedule,
            "yes" if m.enabled else "paused",
            m.last_run_at,
            m.next_run_at,
        )
        for m in found
    ]
    table("monitors", ["name", "deployment", "window", "schedule", "enabled", "last", "next"], rows)


@app.command("show")
@handle_errors
def show(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """Show a monitor and its latest result, feature by feature."""
    backend = context.get(ctx).backend()
    monitor = backend.get_monitor(name)
    results = backend.monitor_history(name, limit=1)
    latest = results[-1] if results else None
    if as_json:
        print_json({"monitor": monitor.model_dump(mode="json"), "latest": _dump(latest)})
        return
    console.print(
        f"[bold]{monitor.name}[/] on deployment {monitor.deployment}: window "
        f"{format_duration(monitor.window_seconds)}, schedule {monitor.schedule}"
        f"{'' if monitor.enabled else ' (paused)'}"
    )
    if latest is None:
        console.print(f"no results yet; `werft monitor run {name}` runs it now")
        return
    _print_result(latest)


@app.command("history")
@handle_errors
def history(
    ctx: typer.Context,
    name: str,
    last: Annotated[str, typer.Option(help="Period: 24h, 7d ...")] = "7d",
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 500,
    as_json: JsonOpt = False,
) -> None:
    """Results over time: status, drift share, rows and the main values per window."""
    backend = context.get(ctx).backend()
    report = backend.monitor_report(name, last_seconds=parse_duration(last))
    timeline = report["timeline"][-limit:]
    if as_json:
        print_json(timeline)
        return
    rows = [
        (
            t["window_end"][:16].replace("T", " "),
            t["status"],
            t["rows"],
            t["values"].get("drift.share"),
            t["values"].get("prediction.drift"),
            t["values"].get("performance.accuracy", t["values"].get("performance.rmse")),
            t["values"].get("serving.latency_p99"),
            t["values"].get("serving.error_rate"),
        )
        for t in timeline
    ]
    columns = ["window end", "status", "rows", "drift share", "pred. drift", "acc/rmse"]
    table(f"monitor {name}", [*columns, "p99 s", "errors"], rows)


@app.command("run")
@handle_errors
def run(
    ctx: typer.Context,
    name: str,
    end: Annotated[datetime | None, typer.Option(help="Window end (UTC) [default: now].")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate one window now, store the result and apply the alert rules."""
    result = context.get(ctx).backend().run_monitor(name, end=end)
    if as_json:
        print_json(result)
        return
    _print_result(result)


@app.command("report")
@handle_errors
def report(
    ctx: typer.Context,
    name: str,
    last: Annotated[str, typer.Option(help="Period: 24h, 7d ...")] = "7d",
    out: Annotated[Path, typer.Option(help="File to write; .html or .json (by --format).")] = Path(
        "report.html"
    ),
    fmt: Annotated[
        str | None, typer.Option("--format", help="html or json [default: from --out].")
    ] = None,
) -> None:
    """Write a self-contained report (HTML with inline charts, or JSON)."""
    kind = fmt or ("json" if out.suffix.lower() == ".json" else "html")
    if kind not in ("html", "json"):
        raise InvalidInputError(f"--format {kind!r} is unknown; use html or json")
    data = context.get(ctx).backend().monitor_report(name, last_seconds=parse_duration(last))
    if kind == "json":
        import orjson

        out.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    else:
        out.write_text(render_html(data), encoding="utf-8")
    console.print(f"wrote {out} ({len(data['timeline'])} windows, {len(data['alerts'])} alerts)")


@app.command("pause")
@handle_errors
def pause(ctx: typer.Context, name: str) -> None:
    """Stop running a monitor on its schedule (its results stay)."""
    context.get(ctx).backend().update_monitor(name, enabled=False)
    console.print(f"monitor {name} paused")


@app.command("resume")
@handle_errors
def resume(ctx: typer.Context, name: str) -> None:
    """Run a paused monitor on its schedule again."""
    context.get(ctx).backend().update_monitor(name, enabled=True)
    console.print(f"monitor {name} resumed")


@app.command("delete")
@handle_errors
def delete(ctx: typer.Context, name: str) -> None:
    """Delete a monitor and its results."""
    context.get(ctx).backend().delete_monitor(name)
    console.print(f"monitor {name} deleted")


def _dump(result: MonitorResult | None) -> dict[str, Any] | None:
    return result.model_dump(mode="json") if result else None


def _print_result(result: MonitorResult) -> None:
    body = result.report
    console.print(
        f"window {result.window_start:%Y-%m-%d %H:%M} - {result.window_end:%H:%M} UTC: "
        f"[bold]{result.status}[/], {result.rows} predictions"
        + (f", model {body.get('model')} v{body.get('version')}" if body.get("model") else "")
        + (f", reference {body['reference']}" if body.get("reference") else "")
    )
    drift = body.get("drift")
    if drift:
        rows = [
            (
                name,
                f["kind"],
                f["method"],
                f["statistic"],
                f["threshold"],
                f["p_value"],
                "DRIFT" if f["drifted"] else "ok",
            )
            for name, f in drift["features"].items()
        ]
        columns = ["feature", "type", "method", "statistic", "threshold", "p-value", "verdict"]
        table("data drift", columns, rows)
        console.print(
            f"{len(drift['drifted'])} of {len(drift['features'])} features drifted "
            f"(share {drift['share']:.2f}; dataset drift from {drift['share_threshold']:.2f}): "
            + ("[bold red]DATASET DRIFT[/]" if drift["dataset_drift"] else "no dataset drift")
        )
    values = result.values
    other = {
        k: v
        for k, v in values.items()
        if k.split(".")[0] in ("prediction", "performance", "serving", "kpi")
        or k.endswith(".max")
        or k == "quality.rejected"
    }
    if other:
        table("values", ["name", "value"], sorted(other.items()))


@kpi_app.command("log")
@handle_errors
def log_kpi(
    ctx: typer.Context,
    deployment: str,
    name: str,
    value: float,
    time: Annotated[
        datetime | None, typer.Option(help="When it was measured (UTC) [default: now].")
    ] = None,
) -> None:
    """Record a business KPI value, e.g. `werft kpi log churn-prod retained_customers 412`."""
    kpi = context.get(ctx).backend().log_kpi(deployment, name, value, time)
    console.print(f"{kpi.deployment} {kpi.name} = {kpi.value:g} at {kpi.time:%Y-%m-%d %H:%M:%S}")


@kpi_app.command("list")
@handle_errors
def list_kpis(
    ctx: typer.Context,
    deployment: str,
    name: Annotated[str | None, typer.Option(help="Only this KPI.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a deployment's KPI values, oldest first."""
    found = context.get(ctx).backend().list_kpis(deployment, name=name)
    if as_json:
        print_json(found)
        return
    table(
        f"KPIs of {deployment}",
        ["time", "name", "value"],
        [(k.time, k.name, k.value) for k in found],
    )
