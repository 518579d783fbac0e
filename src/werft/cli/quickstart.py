"""`werft quickstart`: the tracked example on the embedded default."""

from __future__ import annotations

import typer

import werft
from werft.cli import context
from werft.cli.errors import handle_errors


@handle_errors
def quickstart(ctx: typer.Context) -> None:
    """Run a small tracked example and print what it recorded and how to look at it."""
    from werft.quickstart import run_quickstart

    cli = context.get(ctx)
    settings = cli.loaded.settings
    werft.configure(**{k: v for k, v in cli.overrides.items() if v is not None})
    where = (
        settings.url or f"{settings.effective_database_url} + {settings.effective_artifacts_url}"
    )
    print(f"werft quickstart: tracking three training runs into {where}")
    result = run_quickstart()
    best = result.best
    print(
        f"\nbest run: {best.name} ({best.id}) auc={best.metrics['auc']:.3f}\n"
        f"recorded per run: params, a {len(werft.get_metric_history(best.id, 'loss'))}-step loss "
        "curve, the AUC, two dataset versions (hash, schema, profile), one artifact,\n"
        "the git commit, Python and package versions.\n\nlook at it:\n"
        f"  werft runs list {result.project}\n"
        f"  werft runs show {best.id}\n"
        f"  werft runs compare {' '.join(r.id for r in result.runs[:2])}\n"
        f"  werft runs list {result.project} --filter \"metrics.auc > 0.7\" -o 'metrics.auc DESC'\n"
        "  werft server    # then open http://127.0.0.1:8080/api/v1/docs"
    )
    werft.configure()
