"""The prediction-log rows of a time window, read from the segments that cover it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from werft.deploy.entities import Segment

TIME = "time"


def read_window(
    segments: Sequence[Segment],
    fetch: Callable[[str], Path],
    start_ms: int,
    end_ms: int,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """The rows logged in ``[start_ms, end_ms)``, in segment order.

    Only the segments overlapping the window are fetched, and of each only
    the asked-for Parquet columns are read.  Segments written at different
    times may differ in columns (a new feature, another version's classes):
    a column a segment lacks is null in its rows, and a column whose type
    differs between segments becomes text.

    Args:
        segments: The deployment's segments (e.g. ``list_segments`` of the window).
        fetch: A local path of a blob by digest; the caller caches.
        start_ms: Start of the window, inclusive (ms since the epoch).
        end_ms: End of the window, exclusive.
        columns: Columns to return; a name ending in ``:`` takes every column
            with that prefix (``"proba:"``, ``"in:"``).  ``None``: all.  Names
            no segment has are left out.
    """
    start = pa.scalar(datetime.fromtimestamp(start_ms / 1000, UTC), pa.timestamp("ms", tz="UTC"))
    end = pa.scalar(datetime.fromtimestamp(end_ms / 1000, UTC), pa.timestamp("ms", tz="UTC"))
    parts = []
    for segment in segments:
        if segment.end_ms < start_ms or segment.start_ms >= end_ms:
            continue
        path = fetch(segment.digest)
        names = _wanted(pq.read_schema(path).names, columns)
        if not names:
            continue
        read = names if TIME in names else [*names, TIME]
        table = pq.read_table(
            path, columns=read, filters=(pc.field(TIME) >= start) & (pc.field(TIME) < end)
        )
        parts.append(table.select(names))
    if not parts:
        return pa.table({})
    return _concat(parts)


def _wanted(available: list[str], columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(available)
    chosen: dict[str, None] = {}
    for name in columns:
        if name.endswith(":"):
            chosen |= dict.fromkeys(c for c in available if c.startswith(name))
        elif name in available:
            chosen[name] = None
    return list(chosen)


def _concat(parts: list[pa.Table]) -> pa.Table:
    try:
        return pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass  # a column changed its type between segments: store it as text
    types: dict[str, set[pa.DataType]] = {}
    for part in parts:
        for field in part.schema:
            types.setdefault(field.name, set()).add(field.type)
    mixed = {name for name, kinds in types.items() if len(kinds) > 1}
    return pa.concat_tables([_as_text(part, mixed) for part in parts], promote_options="permissive")


def _as_text(table: pa.Table, names: set[str]) -> pa.Table:
    for name in names & set(table.column_names):
        column = table[name]
        try:
            text = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            text = pa.array(
                [None if v is None else orjson.dumps(v).decode() for v in column.to_pylist()],
                pa.string(),
            )
        table = table.set_column(table.column_names.index(name), name, text)
    return table
