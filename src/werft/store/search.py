"""Turn a parsed run filter and ordering into SQL.

Every comparison on a metric, param or tag becomes a correlated ``EXISTS`` on
an indexed table, so AND, OR and parentheses compose without join explosion;
ordering by a metric or param uses one outer join per sort key.  Metrics are
compared on their latest value (``latest_metrics``), as MLflow does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, not_, or_, select, true
from sqlalchemy.orm import aliased

from werft.store.models import LatestMetricRow, ParamRow, RunRow, TagRow
from werft.tracking.filter import And, Comparison, Expr, Or, OrderKey

_ATTRIBUTE_COLUMNS: dict[str, Any] = {
    "id": RunRow.id,
    "name": RunRow.name,
    "status": RunRow.status,
    "user": RunRow.user,
    "start_time": RunRow.start_time,
    "end_time": RunRow.end_time,
    "git_commit": RunRow.git_commit,
}


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    match op:
        case "=":
            return column == value  # type: ignore[no-any-return]
        case "!=":
            return column != value  # type: ignore[no-any-return]
        case "<":
            return column < value  # type: ignore[no-any-return]
        case "<=":
            return column <= value  # type: ignore[no-any-return]
        case ">":
            return column > value  # type: ignore[no-any-return]
        case ">=":
            return column >= value  # type: ignore[no-any-return]
        case "LIKE":
            return column.like(value)  # type: ignore[no-any-return]
        case "ILIKE":
            return column.ilike(value)  # type: ignore[no-any-return]
        case "IN":
            return column.in_(value) if value else false()
        case "NOT IN":
            return column.not_in(value) if value else true()
    raise ValueError(f"unsupported operator {op}")  # the parser admits no other


def _entity_condition(cmp: Comparison) -> ColumnElement[bool]:
    table: Any
    if cmp.entity == "metric":
        table = LatestMetricRow
        present = and_(table.run_id == RunRow.id, table.key == cmp.key)
        if cmp.op in ("IS NULL", "IS NOT NULL"):
            found = exists().where(present)
            return not_(found) if cmp.op == "IS NULL" else found
        # NaN compares as nothing, as in IEEE arithmetic, and a run that never
        # logged the metric matches no comparison (use IS NULL for absence).
        return exists().where(
            and_(present, table.is_nan.is_(False), _compare(table.value, cmp.op, cmp.value))
        )
    table = ParamRow if cmp.entity == "param" else TagRow
    present = and_(table.run_id == RunRow.id, table.key == cmp.key)
    if cmp.op in ("IS NULL", "IS NOT NULL"):
        found = exists().where(present)
        return not_(found) if cmp.op == "IS NULL" else found
    return exists().where(and_(present, _compare(table.value, cmp.op, cmp.value)))


def _attribute_condition(cmp: Comparison) -> ColumnElement[bool]:
    column = _ATTRIBUTE_COLUMNS[cmp.key]
    if cmp.op == "IS NULL":
        return column.is_(None)  # type: ignore[no-any-return]
    if cmp.op == "IS NOT NULL":
        return column.is_not(None)  # type: ignore[no-any-return]
    return _compare(column, cmp.op, cmp.value)


def condition(expr: Expr) -> ColumnElement[bool]:
    """SQL condition on ``runs`` for a parsed filter expression."""
    if isinstance(expr, And):
        return and_(*(condition(item) for item in expr.items))
    if isinstance(expr, Or):
        return or_(*(condition(item) for item in expr.items))
    if expr.entity == "attribute":
        return _attribute_condition(expr)
    return _entity_condition(expr)


def apply_order(stmt: Select[Any], keys: list[OrderKey]) -> Select[Any]:
    """Order by the given keys; runs lacking a sort key's value come last."""
    clauses: list[Any] = []
    for index, key in enumerate(keys):
        column: Any
        if key.entity == "attribute":
            column = _ATTRIBUTE_COLUMNS[key.key]
        else:
            model: Any = {"metric": LatestMetricRow, "param": ParamRow, "tag": TagRow}[key.entity]
            table = aliased(model, name=f"sort_{index}")
            on = and_(table.run_id == RunRow.id, table.key == key.key)
            if key.entity == "metric":
                on = and_(on, table.is_nan.is_(False))
            stmt = stmt.outerjoin(table, on)
            column = table.value
        clauses.append(column.is_(None))  # False sorts first: present values, then missing
        clauses.append(column.desc() if key.descending else column.asc())
    # A stable tie-breaker makes pages deterministic.
    clauses.extend([RunRow.start_time.desc(), RunRow.id.asc()])
    return stmt.order_by(*clauses)


def runs_query(project_id: str, expr: Expr | None, keys: list[OrderKey]) -> Select[Any]:
    """Ids of matching, non-deleted runs of a project in the requested order."""
    stmt = select(RunRow.id).where(RunRow.project_id == project_id, RunRow.deleted_at.is_(None))
    if expr is not None:
        stmt = stmt.where(condition(expr))
    return apply_order(stmt, keys)
