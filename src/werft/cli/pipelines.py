"""`werft train`, `werft reproduce` and `werft pipelines ...`: continuous training.

Exit codes of `werft train` and `werft reproduce`: 0 the run ended well (the
candidate passed its gate; promoted, awaiting approval or nothing to promote —
for reproduce: every metric matched), 1 it did not (training failed, timed out
or was cancelled, the gate failed; metrics differ), and the usual error codes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, fmt, print_json, table
from werft.pipelines.entities import PipelineRun, PipelineStatus

app = typer.Typer(
    help="Training pipelines: sync, list runs with every link, show, cancel.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
FileOpt = Annotated[
    Path, typer.Option("--file", "-f", help="The use case file with a 'training:' section.")
]
EXIT_FAILED = 1
_GOOD = {
    PipelineStatus.SUCCEEDED,
    PipelineStatus.PROMOTED,
    PipelineStatus.AWAITING_APPROVAL,
}


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@handle_errors
def train(
    ctx: typer.Context,
    *,
    file: FileOpt = Path("werft.yaml"),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not stream the training's output.")
    ] = False,
    sync: Annotated[
        bool,
        typer.Option(
            "--sync", help="Also store it as the pipeline the triggers run (werft pipelines sync)."
        ),
    ] = False,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-P",
            metavar="KEY=VALUE",
            help="Override a param for this run (a JSON value, else text); repeatable.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the training pipeline of werft.yaml now, in this process.

    Snapshots the repository (the file's folder), trains the entrypoint as a
    tracked run with the pinned dataset versions, finds the version it
    registered, runs the gate on the 'holdout' data and applies the promotion
    policy to on_success.promote_to. The triggers run what `werft pipelines
    sync` (or --sync) stored.
    """
    from werft.pipelines.train import train as run_pipeline

    cli = context.get(ctx)
    echo = None if (quiet or as_json) else _echo
    overrides = parse_params(param or [])
    run = run_pipeline(
        cli.backend(), cli.loaded.settings, file, sync=sync, params=overrides, echo=echo
    )
    if as_json:
        print_json(run)
    else:
        _summary(run)
    if run.status not in _GOOD:
        raise typer.Exit(EXIT_FAILED)


@handle_errors
def reproduce(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="A pipeline's training run.")],
    tolerance: Annotated[
        float,
        typer.Option(help="Largest relative difference of two metric values that still match."),
    ] = 1e-9,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not stream the training's output.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-run RUN_ID with the same code snapshot, params and dataset versions; compare metrics.

    The reproduction is a pipeline run of its own (trigger 'reproduce'): it runs
    the gate but never promotes. Exits 0 when every metric matches, else 1.
    """
    from werft.pipelines.train import reproduce as run_reproduce

    cli = context.get(ctx)
    echo = None if (quiet or as_json) else _echo
    found = run_reproduce(
        cli.backend(), cli.loaded.settings, run_id, tolerance=tolerance, echo=echo
    )
    if as_json:
        print_json({**found.model_dump(mode="json"), "matches": found.matches})
    else:
        table(
            f"run {run_id} reproduced by run {found.pipeline_run.training_run_id}",
            ["metric", "original", "reproduced", "match"],
            [
                [m.key, fmt(m.original), fmt(m.reproduced), "yes" if m.matches else "NO"]
                for m in found.metrics
            ],
        )
        verdict = "metrics match" if found.matches else "metrics DIFFER"
        print(
            f"pipeline run #{found.pipeline_run.id} {found.pipeline_run.status.value}: {verdict} "
            f"(relative tolerance {tolerance:g})"
        )
        if found.pipeline_run.error:
            print(f"error: {found.pipeline_run.error}", file=sys.stderr)
    if not found.matches:
        raise typer.Exit(EXIT_FAILED)


@app.command("sync")
@handle_errors
def sync(ctx: typer.Context, file: FileOpt = Path("werft.yaml"), as_json: JsonOpt = False) -> None:
    """Store the training section and a snapshot of the repository, for the triggers.

    Triggered runs (schedule, alert, dataset) run the code synced last; `werft
    train` runs your work tree and syncs only with --sync.
    """
    from werft.pipelines.train import sync as sync_pipeline

    cli = context.get(ctx)
    pipeline = sync_pipeline(cli.backend(), cli.loaded.settings, file)
    if as_json:
        print_json(pipeline)
        return
    triggers = (
        ", ".join(f"{k}" for k in pipeline.trigger_state) or "none (only `werft train` starts it)"
    )
    print(
        f"synced the pipeline of {pipeline.project}: code {pipeline.code.digest[:19]}; "
        f"triggers {triggers}"
    )


@app.command("runs")
@handle_errors
def runs(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="The use case (project key).")],
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Pipeline runs of PROJECT: trigger -> run -> candidate -> gate -> approval -> alias."""
    found = context.get(ctx).backend().list_pipeline_runs(project, limit=min(limit, 1000))
    if as_json:
        print_json(found)
        return
    table(
        f"pipeline runs of {project}",
        ["#", "trigger", "status", "training run", "candidate", "gate", "approval", "alias", "at"],
        [
            [
                r.id,
                _trigger(r),
                r.status.value,
                r.training_run_id or "-",
                f"{r.model} {r.version}" if r.model else "-",
                _gate(r),
                f"#{r.approval_id} {r.approval_status}" if r.approval_id else "-",
                _alias(r),
                fmt(r.created_at),
            ]
            for r in found
        ],
    )


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(metavar="ID", help="Pipeline run number.")],
    logs: Annotated[bool, typer.Option("--logs", help="Print the training's output too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """One pipeline run with every link it made (and its output with --logs)."""
    run = context.get(ctx).backend().get_pipeline_run(run_id)
    if as_json:
        print_json(run)
        return
    _summary(run)
    if logs:
        print(run.logs or "(no output)")


@app.command("cancel")
@handle_errors
def cancel(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(metavar="ID", help="Pipeline run number.")],
) -> None:
    """Stop pipeline run ID: a queued run at once, a training one at its next report."""
    run = context.get(ctx).backend().cancel_pipeline_run(run_id)
    if run.status is PipelineStatus.CANCELLED:
        print(f"cancelled pipeline run #{run.id}")
    else:
        print(f"asked pipeline run #{run.id} to stop; it is {run.status.value}")


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["C=0.5", "solver=lbfgs", "layers=[64, 32]"]`` → ``{"C": 0.5, "solver": "lbfgs", ...}``.

    Raises:
        typer.BadParameter: An item without ``=`` or with an empty key.
    """
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE, e.g. -P C=0.5", param_hint="-P")
        try:
            parsed[key.strip()] = json.loads(text)
        except ValueError:
            parsed[key.strip()] = text
    return parsed


def _trigger(run: PipelineRun) -> str:
    return f"{run.trigger.value} {run.trigger_detail}".strip()


def _gate(run: PipelineRun) -> str:
    if run.gate_report_id is None:
        return "-"
    return f"#{run.gate_report_id} {'passed' if run.gate_passed else 'failed'}"


def _alias(run: PipelineRun) -> str:
    if not run.alias:
        return "-"
    return f"{run.alias} moved" if run.alias_moved_at else f"{run.alias} (not moved)"


def _summary(run: PipelineRun) -> None:
    lines = [
        ("pipeline run", f"#{run.id} of {run.project}: {run.status.value}"),
        ("trigger", _trigger(run) + (f" {run.cause}" if run.cause else "")),
        ("code", run.code.digest + (f" (git {run.code.commit[:12]})" if run.code.commit else "")),
        ("data", ", ".join(f"{k}={v}" for k, v in run.data.items()) or "-"),
        ("training run", f"{run.training_run_id or '-'} (exit code {fmt(run.exit_code)})"),
        ("candidate", f"{run.model} version {run.version}" if run.model else "-"),
        ("gate", _gate(run)),
        ("approval", f"#{run.approval_id} {run.approval_status}" if run.approval_id else "-"),
        ("alias", _alias(run)),
    ]
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        print(f"{name:<{width}}  {value}")
    if run.error:
        print(f"{'error':<{width}}  {run.error}", file=sys.stderr)
