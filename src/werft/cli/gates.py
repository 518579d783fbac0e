"""`werft check` (the CI quality gate) and `werft ci gitlab` (a pipeline that runs it).

Exit codes of `werft check`: 0 every check passed, 1 a check failed, and the
usual error codes (3 no such model, version or file; 5 invalid input).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import orjson
import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import console, table
from werft.errors import AlreadyExistsError, InvalidInputError
from werft.gates.ci import gitlab_ci
from werft.gates.entities import Check, GateReport
from werft.gates.junit import junit_xml
from werft.governance.usecases import load_use_case

EXIT_FAILED = 1

ci_app = typer.Typer(
    help="CI configuration: a pipeline that trains, checks and requests promotion.",
    no_args_is_help=True,
)

_DURATION = re.compile(r"^\s*(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ms|s)?\s*$")


@handle_errors
def check(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    *,
    data: Annotated[
        Path, typer.Option("--data", help="Holdout data with labels: .parquet or .csv.")
    ],
    label: Annotated[
        str | None, typer.Option(help="Label column (else the use case's target).")
    ] = None,
    use_case: Annotated[
        Path | None,
        typer.Option(
            "--use-case", help="werft.yaml to apply (else the use case stored for the project)."
        ),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write the report as JUnit XML here.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON here.")
    ] = None,
    latency_budget: Annotated[
        str | None,
        typer.Option("--latency-budget", help="p95 budget of a single-row prediction: 50ms, 0.1s."),
    ] = None,
    sample: Annotated[
        int, typer.Option(help="Time at most this many single-row predictions.")
    ] = 200,
    trust: Annotated[
        bool, typer.Option("--trust", help="Allow loading generic Python (pickled) models.")
    ] = False,
) -> None:
    """Run the quality gates on MODEL VERSION and store the report on the version.

    Data checks: the holdout data against the signature and the training
    profile (schema, nulls, ranges, categories, drift). Model checks: the
    use case's acceptance rules on the holdout data, no regression against
    the production version, the same output schema, the latency budget.
    A pass makes a candidate version validated. Exits 0 when every check
    passed, 1 when one failed.
    """
    # Deferred: pandas, scikit-learn and the statistics take a while to import, which
    # every other command would pay for at start-up.
    from werft.sdk.gates import CheckOptions, check_version

    cli = context.get(ctx)
    options = CheckOptions(
        cache=cli.loaded.settings.home / "cache" / "models",
        label=label,
        use_case=load_use_case(use_case) if use_case is not None else None,
        latency_budget_ms=parse_milliseconds(latency_budget) if latency_budget else None,
        sample=sample,
        trust=trust,
    )
    report = check_version(cli.backend(), model, version, data, options)
    if junit is not None:
        junit.write_text(junit_xml(report), encoding="utf-8")
    if json_out is not None:
        json_out.write_bytes(
            orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_INDENT_2)
        )
    _print(report)
    if not report.passed:
        raise typer.Exit(EXIT_FAILED)


@ci_app.command("gitlab")
@handle_errors
def gitlab(
    *,
    model: Annotated[str, typer.Option("--model", help="The model name train.py registers.")],
    data: Annotated[
        str, typer.Option("--data", help="Holdout data the pipeline checks on.")
    ] = "holdout.parquet",
    train: Annotated[
        str, typer.Option("--train", help="The training command.")
    ] = "python train.py",
    use_case: Annotated[str, typer.Option("--use-case", help="The use case file.")] = "werft.yaml",
    alias: Annotated[str, typer.Option("--alias", help="The alias to promote to.")] = "production",
    image: Annotated[str, typer.Option("--image", help="The jobs' image.")] = "python:3.12-slim",
    out: Annotated[
        Path, typer.Option("--out", help="Where to write it; '-' for standard output.")
    ] = Path(".gitlab-ci.yml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a .gitlab-ci.yml: train, `werft check` with a JUnit report, request promotion."""
    text = gitlab_ci(model, data=data, train=train, use_case=use_case, alias=alias, image=image)
    if str(out) == "-":
        print(text, end="")
        return
    if out.exists() and not force:
        raise AlreadyExistsError(f"{out} exists; pass --force to overwrite it")
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}: set WERFT_URL and WERFT_TOKEN as CI/CD variables of the project")


def parse_milliseconds(text: str) -> float:
    """``"50ms"``, ``"0.05s"`` or ``"50"`` (milliseconds) as milliseconds."""
    match = _DURATION.match(text)
    if match is None or float(match["number"]) <= 0:
        raise InvalidInputError(
            f"latency budget {text!r} is not a positive duration; write e.g. 50ms or 0.2s"
        )
    number = float(match["number"])
    return number * 1000.0 if match["unit"] == "s" else number


def _print(report: GateReport) -> None:
    rows = [
        (check.name, check.kind, _verdict(check), check.value, _threshold(check), check.message)
        for check in report.checks
    ]
    title = f"werft check {report.model} {report.version} on {report.rows} rows"
    table(title, ["check", "kind", "result", "value", "threshold", "message"], rows)
    where = f"{report.model} version {report.version} is {report.version_status.value}"
    if report.passed:
        line = f"[bold green]gate passed[/bold green]: {len(report.checks)} checks; {where}"
    else:
        failed = ", ".join(check.name for check in report.failed)
        line = (
            f"[bold red]gate failed[/bold red]: {len(report.failed)} of {len(report.checks)} "
            f"checks failed ({failed}); {where}"
        )
    console.print(f"{line} (report {report.id})", highlight=False)
    if report.ci is not None:
        job = report.ci.url or report.ci.job
        console.print(
            f"recorded as run in CI: {report.ci.provider} {job}".rstrip(), highlight=False
        )


def _verdict(check: Check) -> str:
    if check.skipped:
        return "[dim]skipped[/dim]"
    return "[green]pass[/green]" if check.passed else "[bold red]FAIL[/bold red]"


def _threshold(check: Check) -> str:
    if check.threshold is None:
        return ""
    value = f"{check.threshold:.4g}" if isinstance(check.threshold, float) else check.threshold
    return f"{check.op} {value}" if check.op else str(value)
