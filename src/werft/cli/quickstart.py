"""`werft quickstart`: the whole MLOps lifecycle on the embedded default, narrated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from werft.cli.errors import handle_errors


@handle_errors
def quickstart(
    home: Annotated[
        Path | None,
        typer.Option(help="An empty folder to work in (default: a fresh temporary one)."),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Leave `werft server` running on the result (Ctrl-C stops)."),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the server --keep starts.")] = 8080,
) -> None:
    """Walk a churn use case through every lifecycle phase, for real, in about a minute.

    Use case from werft.yaml, tracked experiments, the best registered with its
    data lineage, the CI gate, promotion approved by a second person, `werft
    serve` with real traffic and late labels, drift caught by a monitor whose
    alert reaches a local webhook, retraining triggered by that alert through
    the same gate and approval with a hot swap, and the MLOps maturity report.
    Nothing is downloaded; the data are generated in code.
    """
    from werft.quickstart import default_home, run_quickstart

    folder = (home or default_home()).expanduser().resolve()
    print(f"werft quickstart in {folder} (SQLite + a local folder)")
    result = run_quickstart(folder, say=print)
    run = result.retrained
    print(
        f"\ndone in {result.seconds:.0f} s. Everything above is in {folder}:\n"
        f"  export WERFT_HOME={folder}\n"
        f"  werft runs list {result.project}                  # the experiments\n"
        f"  werft models lineage {result.model} {run.version if run else 1}"
        "     # the retrained version and its pipeline run\n"
        f"  werft pipelines runs {result.project}             # trigger -> ... -> alias move\n"
        f"  werft audit list --project {result.project}       # every step, hash-chained\n"
        f"  werft maturity {result.project}\n"
        f"  werft server                          # then open http://127.0.0.1:{port}/"
    )
    if keep:
        _serve(folder, port)


def _serve(home: Path, port: int) -> None:
    import uvicorn

    from werft.quickstart.lifecycle import quickstart_settings
    from werft.server.app import create_app

    settings = quickstart_settings(home)
    print(f"\nwerft server on http://127.0.0.1:{port}/ (Ctrl-C stops)")
    uvicorn.run(
        create_app(settings, worker_interval=10.0), host="127.0.0.1", port=port, log_level="warning"
    )
