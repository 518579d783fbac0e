"""Parser for the run search filter language.

Modeled on MLflow's search syntax, plus ``OR`` and parentheses::

    metrics.auc > 0.8 AND (params.model = 'xgb' OR tags.`team name` LIKE 'vision%')

The module is pure: it turns text into a small immutable tree (type-checked
against the entity being compared) and back, so the storage layer only has to
translate trees that are known to be valid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias, cast

from werft.errors import InvalidInputError
from werft.tracking.filter_lexer import NONFINITE, Lexer, Token, render_key, render_scalar

Entity = Literal["metric", "param", "tag", "attribute"]
Op = Literal[
    "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
]

ATTRIBUTES: frozenset[str] = frozenset(
    {"id", "name", "status", "user", "start_time", "end_time", "git_commit"}
)
"""Run attributes usable in filters and ``order_by``."""

RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed", "killed")
"""The values the ``status`` attribute can take."""

MAX_FILTER_LENGTH = 10_000
"""Longest filter text (and ``order_by`` item) accepted, in characters."""

# Each parenthesis level costs a few Python frames; this keeps hostile input far
# from the recursion limit.
_MAX_NESTING = 100


@dataclass(frozen=True)
class Comparison:
    """One ``IDENT OP VALUE`` test.

    Attributes:
        entity: What the identifier names.
        key: The metric, param or tag key, or the attribute name.
        op: The operator, in canonical spelling (``==`` becomes ``=``).
        value: A float for metrics, a string for params, tags and string
            attributes, a UTC ``datetime`` for ``start_time``/``end_time``, a
            tuple of those for ``IN``/``NOT IN``, and ``None`` for ``IS [NOT] NULL``.
        position: 0-based offset of the comparison's first character in the text.
    """

    entity: Entity
    key: str
    op: Op
    value: str | float | datetime | tuple[str, ...] | tuple[float, ...] | None
    position: int


@dataclass(frozen=True)
class And:
    """All of ``items`` hold; never directly contains another ``And``."""

    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items`` holds; never directly contains another ``Or``."""

    items: tuple[Expr, ...]


Expr: TypeAlias = Comparison | And | Or


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` item.

    Attributes:
        entity: What the identifier names.
        key: The metric, param or tag key, or the attribute name.
        descending: Whether to sort largest first.
    """

    entity: Entity
    key: str
    descending: bool


_PREFIXES: dict[str, Entity] = {
    "metrics": "metric", "metric": "metric", "params": "param", "param": "param",
    "tags": "tag", "tag": "tag", "attributes": "attribute", "attribute": "attribute",
    "attr": "attribute", "run": "attribute",
}  # fmt: skip
_PLURAL: dict[Entity, str] = {"metric": "metrics", "param": "params", "tag": "tags"}
_SIMPLE_OPS: dict[str, Op] = {
    "=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
    "LIKE": "LIKE", "ILIKE": "ILIKE", "IN": "IN",
}  # fmt: skip

_EQ: tuple[Op, ...] = ("=", "!=")
_ORDER: tuple[Op, ...] = ("<", "<=", ">", ">=")
_PATTERN: tuple[Op, ...] = ("LIKE", "ILIKE")
_SET: tuple[Op, ...] = ("IN", "NOT IN")
_NULL: tuple[Op, ...] = ("IS NULL", "IS NOT NULL")
_ATTRIBUTE_OPS: dict[str, tuple[Op, ...]] = {
    "status": _EQ + _SET,
    "start_time": _EQ + _ORDER,
    "end_time": _EQ + _ORDER + _NULL,
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _join_ops(ops: Sequence[str]) -> str:
    return ", ".join(ops[:-1]) + " or " + ops[-1]


def _check_length(text: str, what: str) -> None:
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidInputError(
            f"{what} is too long: {len(text):,} characters (the limit is {MAX_FILTER_LENGTH:,})"
        )


def _allowed_ops(entity: Entity, key: str) -> tuple[Op, ...]:
    if entity == "metric":
        return _EQ + _ORDER + _SET + _NULL
    if entity != "attribute":
        return _EQ + _PATTERN + _SET + _NULL
    return _ATTRIBUTE_OPS.get(key, _EQ + _PATTERN + _SET)


def _join(cls: type[And] | type[Or], items: list[Expr]) -> Expr:
    if len(items) == 1:
        return items[0]
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


# Recursive descent with one token of lookahead, lexed lazily so that errors
# are reported in text order (a syntax error before a bad character further on).
class _Parser(Lexer):
    def __init__(self, text: str, what: str) -> None:
        super().__init__(text, what)
        self.depth = 0
        self.prev_end = 0
        self.tok = self._lex()

    def advance(self) -> Token:
        tok = self.tok
        self.prev_end = tok.end
        self.tok = self._lex()
        return tok

    def expect(self, kind: str, after: str) -> Token:
        if kind not in (self.tok.kind, self.tok.kw):
            want = kind if kind.isalpha() else f"'{kind}'"
            found = self.tok.describe()
            raise self.error(self.tok.pos, f"expected {want} after '{after}', found {found}")
        return self.advance()

    def parse(self) -> Expr:
        expr = self.or_expr(None)
        if self.tok.kind == ")":
            raise self.error(self.tok.pos, "unbalanced ')': no matching '('")
        if self.tok.kind != "end":
            found = self.tok.describe()
            raise self.error(self.tok.pos, f"expected AND, OR or end of input, found {found}")
        return expr

    def or_expr(self, after: Token | None) -> Expr:
        items = [self.and_expr(after)]
        while self.tok.kw == "OR":
            items.append(self.and_expr(self.advance()))
        return _join(Or, items)

    def and_expr(self, after: Token | None) -> Expr:
        items = [self.primary(after)]
        while self.tok.kw == "AND":
            items.append(self.primary(self.advance()))
        return _join(And, items)

    def primary(self, after: Token | None) -> Expr:
        tok = self.tok
        if tok.kind == "name" and tok.kw is None:
            return self.comparison()
        if tok.kind != "(":
            where = f" after '{after.text.upper()}'" if after else ""
            hint = " (NOT only appears in NOT IN and IS NOT NULL)" if tok.kw == "NOT" else ""
            message = f"expected a comparison or '('{where}, found {tok.describe()}{hint}"
            raise self.error(tok.pos, message)
        if self.depth >= _MAX_NESTING:
            raise self.error(tok.pos, f"parentheses nested more than {_MAX_NESTING} deep")
        self.depth += 1
        expr = self.or_expr(self.advance())
        self.depth -= 1
        if self.tok.kind != ")":
            message = f"expected AND, OR or ')' to close the '(' at character {tok.pos + 1}"
            raise self.error(self.tok.pos, f"{message}, found {self.tok.describe()}")
        self.advance()
        return expr

    def ident(self) -> tuple[Entity, str]:
        tok = self.tok
        if tok.kind != "name" or tok.kw is not None:
            found = tok.describe()
            raise self.error(tok.pos, f"expected a metric, param, tag or attribute, found {found}")
        self.advance()
        attrs = ", ".join(sorted(ATTRIBUTES))
        if tok.prefix is None:
            if tok.value.lower() in ATTRIBUTES:
                return "attribute", tok.value.lower()
            if tok.text.lower() in _PREFIXES:
                raise self.error(tok.end, f"expected '.' and a key after '{tok.text}'")
            raise self.error(
                tok.pos,
                f"unknown attribute '{tok.value}'; use metrics.KEY, params.KEY, tags.KEY "
                f"or a run attribute ({attrs})",
            )
        entity = _PREFIXES.get(tok.prefix.lower())
        if entity is None:
            raise self.error(
                tok.pos,
                f"unknown entity '{tok.prefix}'; expected metrics., params., tags. or "
                "attributes. (singular forms, attr. and run. work too)",
            )
        key_pos = tok.pos + len(tok.prefix) + 1
        if not tok.value:
            raise self.error(key_pos, "the key must not be empty")
        if entity != "attribute":
            return entity, tok.value
        if tok.value.lower() not in ATTRIBUTES:
            raise self.error(key_pos, f"unknown run attribute '{tok.value}'; expected {attrs}")
        return entity, tok.value.lower()

    def operator(self, subject: str) -> Op:
        tok = self.advance()
        if tok.kind == "op" or tok.kw in ("LIKE", "ILIKE", "IN"):
            return _SIMPLE_OPS[tok.kw or tok.text]
        if tok.kw == "NOT":
            self.expect("IN", "NOT")
            return "NOT IN"
        if tok.kw == "IS":
            if self.tok.kw != "NOT":
                self.expect("NULL", "IS")
                return "IS NULL"
            self.advance()
            self.expect("NULL", "IS NOT")
            return "IS NOT NULL"
        raise self.error(
            tok.pos,
            f"expected an operator after '{subject}' (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, "
            f"NOT IN, IS [NOT] NULL), found {tok.describe()}",
        )

    def comparison(self) -> Comparison:
        start = self.tok.pos
        entity, key = self.ident()
        op_pos = self.tok.pos
        op = self.operator(self.text[start : self.prev_end])
        allowed = _allowed_ops(entity, key)
        if op not in allowed:
            if entity == "attribute":
                raise self.error(
                    op_pos, f"run attribute '{key}' supports only {_join_ops(allowed)}"
                )
            kind = "numbers" if entity == "metric" else "strings"
            tip = ", or use a metric" if op in _ORDER else ""
            message = f"{_PLURAL[entity]} are {kind}; compare with {_join_ops(allowed)}{tip}"
            raise self.error(op_pos, message)
        after = self.text[op_pos : self.prev_end]
        value: str | float | datetime | tuple[str, ...] | tuple[float, ...] | None = None
        if op in _SET:
            self.expect("(", after)
            values = [self.value(entity, key, self.literal("("))]
            while self.tok.kind == ",":
                self.advance()
                values.append(self.value(entity, key, self.literal(",")))
            if self.tok.kind != ")":
                found = self.tok.describe()
                raise self.error(self.tok.pos, f"expected ',' or ')' in the list, found {found}")
            self.advance()
            # Only metrics (floats) and string-valued entities take IN lists.
            value = cast("tuple[str, ...] | tuple[float, ...]", tuple(values))
        elif op not in _NULL:
            value = self.value(entity, key, self.literal(after))
        return Comparison(entity, key, op, value, start)

    def literal(self, after: str) -> Token:
        tok = self.tok
        if tok.kind == "number" and not math.isfinite(float(tok.text)):
            if NONFINITE.fullmatch(tok.text):
                message = "NaN and infinity are not allowed: comparisons with NaN are meaningless"
                raise self.error(tok.pos, message)
            raise self.error(tok.pos, f"number out of range: {tok.text}")
        if tok.kind in ("string", "number"):
            return self.advance()
        hint = ""
        if tok.kw == "NULL":
            hint = "; test for a missing value with IS NULL or IS NOT NULL"
        elif tok.kind == "name" and tok.prefix is None and tok.text == tok.value:
            hint = f"; quote strings, e.g. '{tok.value}'"
        message = f"expected a value after '{after}', found {tok.describe()}{hint}"
        raise self.error(tok.pos, message)

    def value(self, entity: Entity, key: str, lit: Token) -> str | float | datetime:
        if entity == "metric":
            if lit.kind == "string":
                raise self.error(lit.pos, f"metrics are numbers, found {lit.describe()}")
            return float(lit.text)
        if entity == "attribute" and key in ("start_time", "end_time"):
            return self.timestamp(key, lit)
        # A bare number keeps its spelling, since params are logged as str(value).
        text = lit.value if lit.kind == "string" else lit.text
        if entity == "attribute" and key == "status":
            if text.lower() not in RUN_STATUSES:
                statuses = ", ".join(RUN_STATUSES)
                raise self.error(lit.pos, f"unknown run status {text!r}; expected {statuses}")
            return text.lower()
        return text

    def timestamp(self, key: str, lit: Token) -> datetime:
        try:
            if lit.kind == "number":
                return _EPOCH + timedelta(milliseconds=float(lit.text))
            parsed = datetime.fromisoformat(lit.value)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            message = f"{key} takes epoch milliseconds or an ISO-8601 timestamp, not {lit.text}"
            raise self.error(lit.pos, message) from None


def parse_filter(text: str | None) -> Expr | None:
    """Parse a run search filter.

    Args:
        text: The filter, e.g. ``"metrics.auc > 0.8 and params.depth = '3'"``.

    Returns:
        The expression tree, or ``None`` when ``text`` is ``None``, empty or blank.

    Raises:
        InvalidInputError: The filter is malformed, ill-typed or too long; the
            message points at the offending character.
    """
    if text is None:
        return None
    _check_length(text, "filter")
    if not text.strip():
        return None
    return _Parser(text, "invalid filter").parse()


def parse_order_by(items: Sequence[str] | None) -> list[OrderKey]:
    """Parse ``order_by`` items such as ``"metrics.auc DESC"``.

    Args:
        items: Items of the form ``IDENT [ASC|DESC]``; a lone string counts as
            one item.

    Returns:
        The sort keys in order; ascending unless ``DESC`` is given.

    Raises:
        InvalidInputError: An item is malformed; the message names the item and
            points at the offending character.
    """
    if items is None:
        return []
    if isinstance(items, str):
        items = [items]
    keys = []
    for index, item in enumerate(items, 1):
        if not isinstance(item, str):
            raise InvalidInputError(f"order_by item {index} must be a string")
        _check_length(item, f"order_by item {index}")
        shown = item if len(item) <= 60 else item[:57] + "..."
        parser = _Parser(item, f"invalid order_by item {index} ({shown!r})")
        entity, key = parser.ident()
        descending = parser.tok.kw == "DESC"
        if parser.tok.kw in ("ASC", "DESC"):
            parser.advance()
        if parser.tok.kind != "end":
            found = parser.tok.describe()
            raise parser.error(parser.tok.pos, f"expected ASC, DESC or the end, found {found}")
        keys.append(OrderKey(entity, key, descending))
    return keys


def to_text(expr: Expr) -> str:
    """Render an expression in canonical form.

    ``parse_filter(to_text(e))`` equals ``e`` except for positions.

    Args:
        expr: A tree as returned by :func:`parse_filter`.

    Returns:
        The filter text.

    Raises:
        ValueError: The tree has an empty ``And``/``Or`` or a key that contains
            a backtick, neither of which the language can express.
    """
    if isinstance(expr, Comparison):
        if expr.entity == "attribute" and expr.key in ATTRIBUTES:
            ident = expr.key
        else:
            ident = f"{_PLURAL.get(expr.entity, 'attributes')}.{render_key(expr.key)}"
        if expr.value is None:
            return f"{ident} {expr.op}"
        if isinstance(expr.value, tuple):
            rendered = "(" + ", ".join(render_scalar(v) for v in expr.value) + ")"
        else:
            rendered = render_scalar(expr.value)
        return f"{ident} {expr.op} {rendered}"
    if not expr.items:
        raise ValueError(f"cannot render an empty {type(expr).__name__}")
    if isinstance(expr, Or):
        return " OR ".join(to_text(item) for item in expr.items)
    # AND binds tighter than OR, so an OR inside an AND needs parentheses.
    return " AND ".join(
        f"({to_text(item)})" if isinstance(item, Or) else to_text(item) for item in expr.items
    )
