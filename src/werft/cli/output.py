"""Printing: Rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

# Piped output is read by people too (CI logs, `| less`); 80 columns would
# fold ids and numbers, so use a wide line there. Scripts use --json.
console = Console(width=None if sys.stdout.isatty() else 200)

JSON_HELP = "Print JSON instead of a table (for scripts)."


def print_json(data: Any) -> None:
    """Print pydantic models or plain data as JSON."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True)
    elif isinstance(data, list):
        data = [
            d.model_dump(mode="json", by_alias=True) if isinstance(d, BaseModel) else d
            for d in data
        ]
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else f"{value:.6g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    out = Table(title=title, show_lines=False, header_style="bold")
    for index, column in enumerate(columns):
        # The first column is the handle people copy (an id, a key): never wrap it.
        out.add_column(column, overflow="fold", no_wrap=index == 0)
    for row in rows:
        out.add_row(*(fmt(cell) for cell in row))
    console.print(out)
