"""`werft init`, `werft validate` and `werft usecase ...`: the use case as code (werft.yaml).

Exit codes: 0 valid (and synced), 5 the file is invalid (every problem is
printed with its line), 4 `init` would overwrite a file, 3 no such file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, cast, get_args

import typer

from werft.cli import context
from werft.cli.errors import EXIT_CODES, handle_errors
from werft.cli.output import JSON_HELP, console, print_json, table
from werft.errors import AlreadyExistsError, InvalidInputError
from werft.governance.actor import current_actor
from werft.governance.usecases import (
    DEFAULT_FILE,
    LoadedUseCase,
    UseCase,
    UseCaseInvalid,
    UseCaseSync,
    load_use_case,
)
from werft.governance.usecases.spec import RiskClass
from werft.governance.usecases.template import render

app = typer.Typer(help="The project's use case (werft.yaml): sync, show.", no_args_is_help=True)

RISK_CLASSES: tuple[str, ...] = get_args(RiskClass)
EXIT_INVALID = EXIT_CODES[InvalidInputError]

PathArg = Annotated[Path, typer.Argument(help="The use case file.")]


def _interactive() -> bool:
    """Whether to ask for missing values (a person at a terminal)."""
    return sys.stdin.isatty()


@handle_errors
def init(
    *,
    key: Annotated[str | None, typer.Option(help="Project key, e.g. churn.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name of the use case.")] = None,
    goal: Annotated[str | None, typer.Option(help="The business goal.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns the goal (person or team).")] = None,
    risk_class: Annotated[
        str | None, typer.Option("--risk-class", help="minimal, limited or high (EU AI Act).")
    ] = None,
    approver: Annotated[
        list[str] | None,
        typer.Option("--approver", help="Who may approve a promotion; repeatable."),
    ] = None,
    path: Annotated[Path, typer.Option("--path", help="Where to write it.")] = Path(DEFAULT_FILE),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a werft.yaml for a project: goal, owner, risk class, acceptance rules, approvers.

    Values not given as options are asked for at a terminal; without one they are required.
    """
    if path.exists() and not force:
        raise AlreadyExistsError(f"{path} exists; pass --force to overwrite it")
    asking = _interactive()
    missing = [
        option
        for option, value in (
            ("--key", key),
            ("--goal", goal),
            ("--owner", owner),
            ("--risk-class", risk_class),
        )
        if value is None
    ]
    if missing and not asking:
        raise InvalidInputError(
            f"werft init needs {', '.join(missing)} when it cannot ask (no terminal)"
        )
    key = key or typer.prompt("Project key (lower-case, e.g. churn)", default=Path.cwd().name)
    name = name or (typer.prompt("Name of the use case", default=key) if asking else key)
    goal = goal or typer.prompt("Business goal")
    owner = owner or typer.prompt("Owner (person or team)", default=current_actor())
    risk_class = risk_class or typer.prompt(
        "Risk class (minimal, limited, high)", default="limited"
    )
    if risk_class not in RISK_CLASSES:
        raise InvalidInputError(
            f"risk class {risk_class!r} is not one of {', '.join(RISK_CLASSES)}"
        )
    if approver:
        approvers = approver
    elif asking:
        answer = typer.prompt("Approvers (comma-separated)", default=current_actor())
        approvers = [name.strip() for name in answer.split(",") if name.strip()]
    else:
        approvers = [current_actor()]
    text = render(
        key=key,
        name=name,
        goal=goal,
        owner=owner,
        risk_class=cast("RiskClass", risk_class),
        approvers=approvers,
    )
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}; edit the acceptance rules, then `werft validate {path}`")


@handle_errors
def validate(
    ctx: typer.Context,
    path: PathArg = Path(DEFAULT_FILE),
    sync: Annotated[
        bool, typer.Option("--sync", help="Also store it as the project's use case.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Check a werft.yaml; every problem is printed with its line and column (exit 5)."""
    loaded = _load(path)
    result = (
        context.get(ctx).backend().sync_use_case(loaded.use_case, digest=loaded.digest)
        if sync
        else None
    )
    if as_json:
        print_json(result if result is not None else loaded.use_case)
        return
    print(f"{path}: {_summary(loaded.use_case)}")
    if result is not None:
        _print_sync(result)


@app.command("sync")
@handle_errors
def sync(ctx: typer.Context, path: PathArg = Path(DEFAULT_FILE)) -> None:
    """Validate a werft.yaml and store it as its project's use case."""
    loaded = _load(path)
    _print_sync(context.get(ctx).backend().sync_use_case(loaded.use_case, digest=loaded.digest))


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="Project key.")],
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Show a project's stored use case."""
    stored = context.get(ctx).backend().get_use_case(project)
    if as_json:
        print_json(stored)
        return
    spec = stored.spec
    table(
        f"use case of {project}",
        ["", ""],
        [
            ("name", spec.name),
            ("business goal", spec.business_goal),
            ("owner", spec.owner),
            ("risk class", spec.risk_class),
            ("acceptance", "; ".join(str(rule) for rule in spec.acceptance)),
            (
                "regression tolerance",
                ", ".join(f"{k} {v:g}" for k, v in spec.regression_tolerance.items()),
            ),
            ("approvers", ", ".join(spec.approvers)),
            ("policy", ", ".join(f"{alias}: {kind}" for alias, kind in spec.policy.items())),
            ("digest", stored.digest),
            ("synced", f"{stored.updated_at:%Y-%m-%d %H:%M:%S} by {stored.updated_by}"),
        ],
    )


def _load(path: Path) -> LoadedUseCase:
    try:
        return load_use_case(path)
    except UseCaseInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(
            f"error: {path} is not a valid use case ({count} problem{'s' * (count != 1)})",
            file=sys.stderr,
        )
        raise typer.Exit(EXIT_INVALID) from None


def _summary(spec: UseCase) -> str:
    rules = len(spec.acceptance)
    return (
        f"valid use case {spec.key!r}, risk class {spec.risk_class}, "
        f"{rules} acceptance rule{'s' * (rules != 1)}"
    )


def _print_sync(result: UseCaseSync) -> None:
    key = result.use_case.project
    if not result.stored:
        console.print(f"use case of {key} is up to date", highlight=False)
    elif result.created:
        made = " (project created)" if result.project_created else ""
        console.print(f"stored the use case of {key}{made}", highlight=False)
    else:
        changed = ", ".join(result.changed) or "comments only"
        console.print(f"updated the use case of {key}: {changed}", highlight=False)
