"""`werft drift REFERENCE CURRENT`: compare two tables, no server needed.

Exit codes: 0 whether or not drift is found (the report says), 1 with
``--fail-on-drift`` when the dataset drifts, and the usual error codes
(5 for invalid input, 3 for a missing file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import orjson
import typer

from werft.cli.errors import handle_errors
from werft.cli.options import feature_numbers, feature_pairs
from werft.cli.output import JSON_HELP, console, print_json, table

if TYPE_CHECKING:
    from werft.monitoring.drift import DriftReport, Method

EXIT_DRIFT = 1


@handle_errors
def drift(
    reference: Annotated[Path, typer.Argument(help="Reference table: .parquet or .csv.")],
    current: Annotated[Path, typer.Argument(help="Current table: .parquet or .csv.")],
    *,
    columns: Annotated[
        str | None,
        typer.Option(help="Features to compare, comma-separated (default: every column in both)."),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            help="FEATURE=METHOD (ks, wasserstein, chi2, jensenshannon, psi); repeatable.",
        ),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold", help="FEATURE=VALUE instead of the method's default; repeatable."
        ),
    ] = None,
    categorical: Annotated[
        list[str] | None,
        typer.Option(
            "--categorical", help="Compare this numeric column as categories; repeatable."
        ),
    ] = None,
    share: Annotated[
        float, typer.Option(help="Share of drifting features at which the dataset drifts.")
    ] = 0.5,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    out: Annotated[
        Path | None, typer.Option(help="Also write the report as JSON to this file.")
    ] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit with 1 when the dataset drifts.")
    ] = False,
) -> None:
    """Compare the distribution of every feature in CURRENT with REFERENCE.

    Numeric features: Kolmogorov-Smirnov test up to 1,000 reference values,
    normalised Wasserstein distance above; categorical: chi-square test, then
    Jensen-Shannon distance. Exits 0 whether or not drift is found; pass
    --fail-on-drift to exit 1 on dataset drift (e.g. in CI).
    """
    # Deferred: pandas, pyarrow and the statistics take ~0.3 s to import, which every
    # other command would pay for at start-up.
    from werft.monitoring.drift import drift as compare

    report = compare(
        reference,
        current,
        columns=_split(columns),
        methods=cast("dict[str, Method]", feature_pairs("--method", method)),
        thresholds=feature_numbers("--threshold", threshold),
        categorical=categorical or None,
        share_threshold=share,
    )
    if out is not None:
        out.write_bytes(orjson.dumps(report.model_dump(mode="json"), option=orjson.OPT_INDENT_2))
    if as_json:
        print_json(report)
    else:
        _print(report)
    if fail_on_drift and report.dataset_drift:
        raise typer.Exit(EXIT_DRIFT)


def _print(report: DriftReport) -> None:
    rows = [
        (
            f.name,
            f.kind,
            f.method,
            f.statistic,
            f.threshold,
            f.p_value,
            "[red]DRIFT[/red]" if f.drifted else "ok",
        )
        for f in report.features.values()
    ]
    columns = ("feature", "type", "method", "statistic", "threshold", "p-value", "verdict")
    table(None, columns, rows)
    for name, why in report.skipped.items():
        console.print(f"skipped {name}: {why}", highlight=False)
    style = "bold red" if report.dataset_drift else "bold green"
    console.print(f"[{style}]{report.verdict}[/{style}]", highlight=False)


def _split(columns: str | None) -> list[str] | None:
    if columns is None:
        return None
    return [name.strip() for name in columns.split(",") if name.strip()]
