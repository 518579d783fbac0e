"""Turning a prediction-log file into a Parquet segment: rows, table, histograms.

Kept apart from the log itself (``predlog.py``), which only appends, rolls
and ships: this is the conversion that runs when a file is rolled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from werft.monitoring.histograms import (
    FeatureHistogram,
    FeatureSpec,
    default_spec_for,
    histograms,
)

log = logging.getLogger("werft.serving")

VARIANTS = ("primary", "canary", "shadow")
"""Which route answered: the primary model, a canary, or a shadow whose answer nobody sees."""

PROBA_SPEC = FeatureSpec(kind="numeric", edges=[i / 10 for i in range(11)])
"""Bins of every ``proba:<class>`` histogram."""


def read_rows(path: Path) -> list[Any]:
    """The WAL's JSON lines; the part after the last newline was never acknowledged."""
    lines = path.read_bytes().split(b"\n")
    tail = lines.pop()
    if tail:
        log.warning("%s: skipped %d bytes of an unfinished last line", path, len(tail))
    try:
        rows: list[Any] = [orjson.loads(line) for line in lines]
    except orjson.JSONDecodeError:
        rows = []
        for line in lines:
            with contextlib.suppress(orjson.JSONDecodeError):
                rows.append(orjson.loads(line))
        log.warning("%s: skipped %d unreadable lines", path, len(lines) - len(rows))
    return _expand_batches(rows, path)


def _expand_batches(rows: list[Any], path: Path) -> list[Any]:
    """One row per prediction: batch lines are unrolled.

    See :class:`~werft.serving.predlog.PredictionBatch` for the batch line format.
    """
    if not any(isinstance(row, dict) and "batch" in row for row in rows):
        return rows
    expanded: list[Any] = []
    for row in rows:
        if not (isinstance(row, dict) and "batch" in row):
            expanded.append(row)
            continue
        try:
            expanded.extend(_unroll(row["batch"]))
        except (KeyError, TypeError, IndexError, AttributeError):
            log.warning("%s: skipped a malformed prediction batch", path)
    return expanded


def _unroll(batch: dict[str, Any]) -> list[dict[str, Any]]:
    inputs, probabilities = batch["inputs"], batch["probabilities"]
    names, classes = list(inputs), list(probabilities or ())
    head = {k: batch[k] for k in ("time_ms", "model", "version", "variant")}
    return [
        {
            **head,
            "request_id": request_id,
            "inputs": {name: inputs[name][i] for name in names},
            "prediction": batch["predictions"][i],
            "probabilities": (
                {c: probabilities[c][i] for c in classes} if probabilities is not None else None
            ),
        }
        for i, request_id in enumerate(batch["request_ids"])
    ]


def valid_table(rows: list[Any], path: Path) -> tuple[list[dict[str, Any]], pa.Table]:
    """The rows that are records, and their table; Arrow checks the types of the fast path."""
    try:
        return rows, _table(rows)
    except (KeyError, TypeError, AttributeError, OverflowError, pa.ArrowException):
        valid = [row for row in rows if _is_row(row)]
        log.warning("%s: skipped %d malformed records", path, len(rows) - len(valid))
        return valid, _table(valid)


def _is_row(row: Any) -> bool:
    return (
        isinstance(row, dict)
        and isinstance(row.get("request_id"), str)
        and _is_int64(row.get("time_ms"))
        and isinstance(row.get("model"), str)
        and _is_int64(row.get("version"))
        and row.get("variant") in VARIANTS
        and isinstance(row.get("inputs"), dict)
        and isinstance(row.get("probabilities"), dict | None)
    )


def _is_int64(value: Any) -> bool:
    return isinstance(value, int) and -(2**63) <= value < 2**63


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    times = pa.array([row["time_ms"] for row in rows], pa.int64())
    columns: dict[str, pa.Array] = {
        "request_id": pa.array([row["request_id"] for row in rows], pa.string()),
        "time": times.cast(pa.timestamp("ms", tz="UTC")),
        "model": pa.array([row["model"] for row in rows], pa.string()),
        "version": pa.array([row["version"] for row in rows], pa.int64()),
        "variant": pa.array([row["variant"] for row in rows], pa.string()),
        "prediction": _column([row.get("prediction") for row in rows]),
    }
    probabilities = _struct_columns([row.get("probabilities") for row in rows])
    for name in sorted(probabilities):
        column = probabilities[name]
        if pa.types.is_integer(column.type) or pa.types.is_null(column.type):
            column = column.cast(pa.float64())
        columns[f"proba:{name}"] = column
    for name, column in _struct_columns([row["inputs"] for row in rows]).items():
        columns[f"in:{name}"] = column
    return pa.table(columns)


def _struct_columns(dicts: list[dict[str, Any] | None]) -> dict[str, pa.Array]:
    """One column per key, in order of first appearance; missing keys are null."""
    try:
        struct = pa.array(dicts)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass  # some key holds values of mixed types: build column by column
    else:
        if pa.types.is_null(struct.type):
            return {}
        fields = [struct.type.field(i) for i in range(struct.type.num_fields)]
        if all(_storable(f.type) for f in fields):
            return {f.name: column for f, column in zip(fields, struct.flatten(), strict=True)}
    names = list(dict.fromkeys(key for d in dicts if d for key in d))
    return {name: _column([d.get(name) if d else None for d in dicts]) for name in names}


def _column(values: list[Any]) -> pa.Array:
    """Values in their Arrow type if Parquet stores it well, else as JSON text."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        array = None  # types mix
    if array is not None and _storable(array.type):
        return array
    texts = [
        None if v is None else v if isinstance(v, str) else orjson.dumps(v).decode() for v in values
    ]
    return pa.array(texts, pa.string())


def _storable(kind: pa.DataType) -> bool:
    """Scalars and lists of scalars (embeddings); objects would need a schema per segment."""
    if pa.types.is_list(kind):
        kind = kind.value_type
    return not pa.types.is_nested(kind)


def segment_histograms(
    table: pa.Table, reference: Mapping[str, FeatureSpec]
) -> dict[str, FeatureHistogram]:
    """Histograms of the served (not shadow) rows, keyed by column; see ``SegmentInfo``."""
    served = table.filter(pc.not_equal(table["variant"], "shadow"))
    # Lists and objects are stored, not binned.
    names = [name for name in served.column_names if _is_scalar(served, name)]
    specs = {f"in:{name}": spec for name, spec in reference.items()}  # absent: all null
    for name in names:
        if name.startswith("in:") and name not in specs:
            specs[name] = default_spec_for(served[name])
        elif name.startswith("proba:"):
            specs[name] = PROBA_SPEC
    probas = [name for name in served.column_names if name.startswith("proba:")]
    classes = [name.removeprefix("proba:") for name in probas]
    if classes:
        specs["prediction"] = FeatureSpec(kind="categorical", categories=classes)
    elif "prediction" in names:
        specs["prediction"] = default_spec_for(served["prediction"])
    binned = {name: spec for name, spec in specs.items() if _is_scalar(served, name)}
    return histograms(served, binned)


def _is_scalar(table: pa.Table, name: str) -> bool:
    if name not in table.column_names:
        return True
    kind = table.schema.field(name).type
    return not (pa.types.is_nested(kind) or pa.types.is_binary(kind))
