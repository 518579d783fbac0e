"""`werft card NAME VERSION`: the model card, as Markdown or self-contained HTML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.errors import InvalidInputError
from werft.governance.card_render import render_html, render_markdown


@handle_errors
def card(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Registered model.")],
    version: Annotated[int, typer.Argument(help="Model version.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="md or html [default: from --out, else md]."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (else standard output).")
    ] = None,
) -> None:
    """Write the model card from what werft recorded (Annex IV layout for high risk)."""
    kind = fmt or ("html" if out is not None and out.suffix.lower() in (".html", ".htm") else "md")
    if kind not in ("md", "html"):
        raise InvalidInputError(f"--format {kind!r} is unknown; use md or html")
    model_card = context.get(ctx).backend().model_card(name, version)
    text = render_html(model_card) if kind == "html" else render_markdown(model_card)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    note = (
        f"; {len(model_card.open_sections)} Annex IV sections still need human input"
        if model_card.high_risk
        else ""
    )
    print(f"wrote {out}{note}")
