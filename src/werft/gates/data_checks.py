"""Data checks: is the evaluation data what the model was built for?

Each check is a pure function of the evaluation table, the version's
signature and (where it needs one) the training dataset's profile, returning
one :class:`~werft.gates.entities.Check`. Only the signature's input columns
are checked; the label and any other column are left alone.

=========================  ===================================================
check                      rule
=========================  ===================================================
``data.schema.columns``    every input column of the signature is present
``data.schema.types``      each column's type fits the signature's (integer
                           data may feed a float column; a float column of
                           whole numbers and nulls may feed an integer one)
``data.schema.categories`` share of values outside a column's complete
                           signature categories <= ``max_unseen_share``
``data.null_rate``         each column's share of missing values
                           <= ``max_null_rate``
``data.range``             each numeric column's share of values outside the
                           training minimum and maximum
                           <= ``max_out_of_range_share``
``data.unseen_categories`` each other categorical column whose training
                           values are all known: share of values training
                           never had <= ``max_unseen_share``
``data.drift``             share of drifting input features (werft.drift's
                           tests against the training profile)
                           <= ``drift_share_max``
=========================  ===================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from werft.gates.entities import Check
from werft.governance.usecases.spec import DataChecks
from werft.monitoring.drift import drift_from_histograms
from werft.monitoring.histograms import histograms, reference_spec
from werft.monitoring.reference import reference_histograms
from werft.registry.signature import ColumnSpec, Signature, column_type
from werft.tracking.datasets import ColumnProfile, DatasetProfile

NO_PROFILE = "the version's run logged no training dataset"

_NUMERIC = frozenset({"integer", "float"})
_TEXT = frozenset({"string", "categorical"})
_SHOWN = 5


def data_checks(
    frame: pd.DataFrame,
    signature: Signature,
    profile: DatasetProfile | None,
    limits: DataChecks,
    *,
    no_profile: str = NO_PROFILE,
) -> list[Check]:
    """Every data check, in the order of the module docstring.

    Args:
        frame: The evaluation data.
        signature: The model version's signature.
        profile: The training dataset's profile; without one, the checks that need
            it are skipped with ``no_profile`` as the reason.
        limits: The use case's ``data_checks``.
        no_profile: Why there is no profile, for the skipped checks' messages.
    """
    present = [spec for spec in signature.inputs if spec.name in frame.columns]
    checks = [
        schema_columns(frame, signature),
        schema_types(frame, present),
        schema_categories(frame, present, limits.max_unseen_share),
        null_rate(frame, present, limits.max_null_rate),
    ]
    if profile is None:
        for name in ("data.range", "data.unseen_categories", "data.drift"):
            checks.append(_skipped(name, no_profile))
        return checks
    columns = {column.name: column for column in profile.columns}
    checks += [
        value_range(frame, present, columns, limits.max_out_of_range_share),
        unseen_categories(frame, present, columns, limits.max_unseen_share),
        drift(frame, present, profile, limits.drift_share_max),
    ]
    return checks


def schema_columns(frame: pd.DataFrame, signature: Signature) -> Check:
    """Every input column of the signature is in the data."""
    missing = [name for name in signature.column_names if name not in frame.columns]
    if missing:
        return _check(
            "data.schema.columns",
            passed=False,
            value=len(missing),
            threshold=0,
            op="<=",
            message=f"missing input columns: {_listed(missing)}; the model needs "
            f"{_listed(signature.column_names)}",
        )
    return _check(
        "data.schema.columns",
        passed=True,
        value=0,
        threshold=0,
        op="<=",
        message=f"all {len(signature.inputs)} input columns present",
    )


def schema_types(frame: pd.DataFrame, present: list[ColumnSpec]) -> Check:
    """Each column's values are of a type the signature's column accepts."""
    wrong = []
    for spec in present:
        found = logical_type(frame[spec.name])
        if not _fits(spec.type, found, frame[spec.name]):
            wrong.append(f"{spec.name} is {found}, expected {spec.type}")
    return _check(
        "data.schema.types",
        passed=not wrong,
        value=len(wrong),
        threshold=0,
        op="<=",
        message="; ".join(wrong) if wrong else f"{len(present)} columns of the expected types",
    )


def schema_categories(frame: pd.DataFrame, present: list[ColumnSpec], limit: float) -> Check:
    """Values outside the complete category lists of the signature."""
    complete = [s for s in present if s.categories is not None and s.categories_complete]
    shares = {
        spec.name: _outside(frame[spec.name], set(spec.categories or ())) for spec in complete
    }
    return _share_check(
        "data.schema.categories",
        shares,
        limit,
        what="values outside the signature's categories",
        none="no column with a complete category list in the signature",
    )


def null_rate(frame: pd.DataFrame, present: list[ColumnSpec], limit: float) -> Check:
    """Each input column's share of missing values."""
    shares: dict[str, tuple[float, list[str]]] = {
        spec.name: (float(frame[spec.name].isna().mean()) if len(frame) else 0.0, [])
        for spec in present
    }
    return _share_check(
        "data.null_rate", shares, limit, what="missing values", none="no input column"
    )


def value_range(
    frame: pd.DataFrame,
    present: list[ColumnSpec],
    profile: dict[str, ColumnProfile],
    limit: float,
) -> Check:
    """Each numeric column's share of values outside the training minimum and maximum."""
    shares: dict[str, tuple[float, list[str]]] = {}
    for spec in present:
        column = profile.get(spec.name)
        stats = column.numeric if column is not None else None
        if stats is None or stats.min is None or stats.max is None:
            continue
        numbers = pd.to_numeric(frame[spec.name], errors="coerce").to_numpy(dtype=float)
        numbers = numbers[~np.isnan(numbers)]
        if numbers.size == 0:
            continue
        low, high = numbers < stats.min, numbers > stats.max
        share = float((low | high).mean())
        seen = []
        if low.any():
            seen.append(f"min {numbers.min():g} < {stats.min:g}")
        if high.any():
            seen.append(f"max {numbers.max():g} > {stats.max:g}")
        shares[spec.name] = (share, seen)
    return _share_check(
        "data.range",
        shares,
        limit,
        what="values outside the training range",
        none="no numeric input column in the training profile",
    )


def unseen_categories(
    frame: pd.DataFrame,
    present: list[ColumnSpec],
    profile: dict[str, ColumnProfile],
    limit: float,
) -> Check:
    """Categorical columns not covered by the signature: values the training data never had."""
    shares: dict[str, tuple[float, list[str]]] = {}
    for spec in present:
        if spec.categories is not None and spec.categories_complete:
            continue  # data.schema.categories holds it to the signature's list
        column = profile.get(spec.name)
        stats = column.categorical if column is not None else None
        if stats is None or stats.other_count:
            continue  # training had more values than the profile lists: unknown set
        shares[spec.name] = _outside(frame[spec.name], {value for value, _ in stats.top})
    return _share_check(
        "data.unseen_categories",
        shares,
        limit,
        what="values never seen in training",
        none="no other categorical column whose training values are all known",
    )


def drift(
    frame: pd.DataFrame, present: list[ColumnSpec], profile: DatasetProfile, limit: float
) -> Check:
    """The share of input features whose distribution drifted from the training data."""
    names = {spec.name for spec in present}
    specs = {name: spec for name, spec in reference_spec(profile).items() if name in names}
    if not specs or not len(frame):
        return _skipped("data.drift", "no input column to compare with the training profile")
    reference = {name: h for name, h in reference_histograms(profile).items() if name in specs}
    report = drift_from_histograms(reference, histograms(frame, specs), share_threshold=1.0)
    passed = report.share <= limit
    if report.drifted:
        reasons = [f"{name} ({report.features[name].reason})" for name in report.drifted]
        message = (
            f"{len(report.drifted)} of {len(report.features)} features drifted: {_listed(reasons)}"
        )
    else:
        message = f"none of {len(report.features)} features drifted"
    return _check(
        "data.drift", passed=passed, value=report.share, threshold=limit, op="<=", message=message
    )


def logical_type(series: pd.Series[Any]) -> str:
    """A column's type in the signature's terms; ``empty`` when it holds only nulls."""
    if len(series) and series.isna().all():
        return "empty"
    return column_type(series)


def _fits(expected: str, found: str, series: pd.Series[Any]) -> bool:
    if found in (expected, "empty"):
        return True
    if expected == "float":
        return found == "integer"
    if expected == "integer" and found == "float":
        numbers = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float)
        return bool(np.all(np.mod(numbers, 1) == 0))  # whole numbers with nulls
    return expected in _TEXT and found in _TEXT


def _outside(series: pd.Series[Any], known: set[str]) -> tuple[float, list[str]]:
    values = series.dropna()
    if values.empty:
        return 0.0, []
    text = values.astype(str)
    unknown = ~text.isin(known)
    return float(unknown.mean()), sorted(set(text[unknown]))


def _share_check(
    name: str,
    shares: dict[str, tuple[float, list[str]]],
    limit: float,
    *,
    what: str,
    none: str,
) -> Check:
    """One check over per-column shares: passes when every share is within ``limit``."""
    if not shares:
        return _skipped(name, none)
    worst_name = max(shares, key=lambda column: shares[column][0])
    worst = shares[worst_name][0]
    over = {column: found for column, found in shares.items() if found[0] > limit}
    if over:
        parts = [
            f"{column} {share:.1%}" + (f" ({_listed(seen)})" if seen else "")
            for column, (share, seen) in sorted(over.items(), key=lambda item: -item[1][0])
        ]
        message = f"{what} above {limit:.1%}: " + "; ".join(parts)
    elif worst == 0:
        count = len(shares)
        message = f"no {what} ({count} column{'s' * (count != 1)} checked)"
    else:
        message = f"{what}: highest {worst_name} {worst:.1%}, limit {limit:.1%}"
    return _check(name, passed=not over, value=worst, threshold=limit, op="<=", message=message)


def _check(name: str, **fields: Any) -> Check:
    return Check(name=name, kind="data", **fields)


def _skipped(name: str, why: str) -> Check:
    return Check(name=name, kind="data", passed=True, skipped=True, message=why)


def _listed(items: list[str], limit: int = _SHOWN) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
