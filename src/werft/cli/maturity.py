"""`werft maturity USE_CASE`: five stars per lifecycle phase, from what werft recorded."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, console, print_json
from werft.governance.maturity_entities import Evidence, MaturityReport, star_text


@handle_errors
def maturity(
    ctx: typer.Context,
    use_case: Annotated[str, typer.Argument(help="The use case's project key.")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Rate a use case's MLOps maturity per phase (0-5 stars), with the next step for each.

    The rating counts what werft's store holds - use case, runs, datasets,
    versions, gate reports, approvals, deployments, monitors, alerts - not
    what anyone says about it. Three stars mean the phase works end to end.
    """
    report = context.get(ctx).backend().maturity(use_case)
    if as_json:
        print_json(report)
        return
    _print(report)


def _print(report: MaturityReport) -> None:
    out = Table(
        title=f"MLOps maturity of {report.project}: {star_text(report.overall)} "
        f"({report.overall:g} of 5)",
        header_style="bold",
        show_lines=True,
    )
    out.add_column("phase", no_wrap=True)
    out.add_column("stars", no_wrap=True)
    out.add_column("evidence (count)", overflow="fold")
    for rating in report.phases:
        out.add_row(
            rating.title,
            star_text(rating.stars),
            "\n".join(_evidence(item) for item in rating.evidence),
        )
    console.print(out)
    steps = [r for r in report.phases if r.next_step is not None]
    if not steps:
        console.print("Every phase has five stars.")
        return
    console.print("[bold]Next steps[/]")
    for rating in steps:
        assert rating.next_step is not None
        console.print(f"{rating.title}: {rating.next_step.action}", highlight=False)
        console.print(f"  [cyan]{rating.next_step.command}[/]", highlight=False, markup=True)


def _evidence(item: Evidence) -> str:
    mark = "[green]✓[/]" if item.met else "[dim]✗[/]"
    count = f"{item.count} of {item.of}" if item.of is not None else str(item.count)
    return f"{mark} {item.criterion} ({count})"
