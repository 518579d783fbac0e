"""The condition language of alert rules.

A condition compares the values a monitor produced (``drift.share``,
``serving.latency_p99``, ``kpi.revenue.mean``; see docs/monitoring.md) with
numbers, combined with ``and``, ``or``, ``not`` and parentheses::

    drift.share > 0.3 and (serving.error_rate >= 0.05 or not performance.f1 > 0.7)

``not`` binds tighter than ``and``, ``and`` tighter than ``or``. A name whose
characters the plain form cannot hold is written in backticks:
```drift.score.monthly charges` > 0.2``.

Evaluation is three-valued: a comparison whose value is missing (or NaN) is
*unknown*, and so is any combination that the known parts do not decide — an
alert keeps its state while its condition is unknown. The module is pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, cast

from werft.errors import InvalidInputError
from werft.tracking.filter_lexer import Lexer

Op = Literal[">", ">=", "<", "<=", "==", "!="]

MAX_CONDITION_LENGTH = 2000
"""Longest condition text accepted, in characters."""

_MAX_NESTING = 50
_WHAT = "invalid condition"
_OPS: tuple[Op, ...] = (">=", "<=", "==", "!=", ">", "<")  # longest first
_KEYWORDS = frozenset({"and", "or", "not"})
# The first segment starts with a letter or '_'; later segments may also hold ':'
# (Prometheus-style names) and start with a digit (``quality.rejected.0``).
_NAME = re.compile(r"[^\W\d][\w\-]*(?:\.[\w:\-]+)*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_TAIL = re.compile(r"[\w.]")


@dataclass(frozen=True)
class Comparison:
    """``name op threshold``; ``position`` is where it starts in the text (not compared)."""

    name: str
    op: Op
    threshold: float
    position: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    """All items hold; never directly holds another ``And``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any item holds; never directly holds another ``Or``."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The item does not hold."""

    item: Node


Node: TypeAlias = Comparison | And | Or | Not


def _compare(value: float, op: Op, threshold: float) -> bool:
    if op == ">":
        return value > threshold
    if op == ">=":
        return value >= threshold
    if op == "<":
        return value < threshold
    if op == "<=":
        return value <= threshold
    if op == "==":
        return value == threshold
    return value != threshold


def _lookup(values: Mapping[str, float], name: str) -> float | None:
    value = values.get(name)
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def evaluate_node(node: Node, values: Mapping[str, float]) -> bool | None:
    """Kleene logic: ``None`` where a missing value leaves the answer open."""
    if isinstance(node, Comparison):
        value = _lookup(values, node.name)
        return None if value is None else _compare(value, node.op, node.threshold)
    if isinstance(node, Not):
        inner = evaluate_node(node.item, values)
        return None if inner is None else not inner
    decisive = isinstance(node, Or)  # True decides an Or, False an And
    unknown = False
    for item in node.items:
        result = evaluate_node(item, values)
        if result is None:
            unknown = True
        elif result is decisive:
            return decisive
    return None if unknown else not decisive


def comparisons(node: Node) -> Iterator[Comparison]:
    """The comparisons of ``node`` in text order."""
    if isinstance(node, Comparison):
        yield node
    elif isinstance(node, Not):
        yield from comparisons(node.item)
    else:
        for item in node.items:
            yield from comparisons(item)


def render_name(name: str) -> str:
    """A value name as a condition writes it: bare when possible, else in backticks."""
    if _NAME.fullmatch(name) and name.lower() not in _KEYWORDS:
        return name
    return f"`{name}`"


def render_number(value: float) -> str:
    """The shortest text that reads back as ``value``: ``5``, ``0.3``, ``1e-05``."""
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def render(node: Node) -> str:
    """Canonical text of a tree: single spaces, lower-case keywords, minimal parentheses."""
    if isinstance(node, Comparison):
        return f"{render_name(node.name)} {node.op} {render_number(node.threshold)}"
    if isinstance(node, Not):
        inner = render(node.item)
        return f"not ({inner})" if isinstance(node.item, And | Or) else f"not {inner}"
    if isinstance(node, And):
        return " and ".join(
            f"({render(item)})" if isinstance(item, Or) else render(item) for item in node.items
        )
    return " or ".join(render(item) for item in node.items)


class Condition:
    """A parsed condition: evaluate it, list its variables, print it canonically."""

    def __init__(self, root: Node) -> None:
        self.root = root
        self._text = render(root)

    @property
    def variables(self) -> tuple[str, ...]:
        """The value names the condition reads, each once, in text order."""
        return tuple(dict.fromkeys(c.name for c in comparisons(self.root)))

    def evaluate(self, values: Mapping[str, float]) -> bool | None:
        """Whether the condition holds; ``None`` when a missing value leaves it open."""
        return evaluate_node(self.root, values)

    def primary_value(self, values: Mapping[str, float]) -> float | None:
        """The value of the first variable (what an alert shows as its value)."""
        return _lookup(values, self.variables[0])

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Condition({self._text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)


# --- parsing ----------------------------------------------------------------------------

_Kind = Literal["name", "number", "op", "keyword", "(", ")", "end"]


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str
    pos: int
    value: str = ""

    def describe(self) -> str:
        if self.kind == "end":
            return "end of input"
        return f"'{self.text}'" if len(self.text) <= 40 else f"'{self.text[:37]}...'"


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.depth = 0
        self.token = self._lex()

    def error(self, pos: int, message: str) -> InvalidInputError:
        # The run filter's lexer formats errors with the text and a caret; reuse it
        # so both languages point at mistakes the same way.
        return Lexer(self.text, _WHAT).error(pos, message)

    def _lex(self) -> _Token:
        text, i = self.text, self.i
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            token = _Token("end", "", len(text))
        elif text[i] in "()":
            token = _Token("(" if text[i] == "(" else ")", text[i], i)
        elif text[i] == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise self.error(i, "unterminated `quoted name`: no closing backtick")
            if end == i + 1:
                raise self.error(i, "empty `quoted name`")
            token = _Token("name", text[i : end + 1], i, text[i + 1 : end])
        elif m := _NUMBER.match(text, i):
            if _NUMBER_TAIL.match(text, m.end()):
                raise self.error(i, "malformed number")
            token = _Token("number", m.group(), i)
        elif m := _NAME.match(text, i):
            word = m.group()
            kind: _Kind = "keyword" if word.lower() in _KEYWORDS else "name"
            token = _Token(kind, word, i, word.lower() if kind == "keyword" else word)
        elif op := next((o for o in _OPS if text.startswith(o, i)), None):
            token = _Token("op", op, i)
        elif text[i] == "=":
            raise self.error(i, "'=' is not an operator; write '==' to compare for equality")
        else:
            raise self.error(i, f"unexpected character {text[i]!r}")
        self.i = token.pos + len(token.text)
        return token

    def advance(self) -> _Token:
        token, self.token = self.token, self._lex()
        return token

    def at(self, kind: _Kind) -> bool:
        # A method, not ``self.token.kind == ...``: mypy would keep a narrowed kind
        # across advance() calls.
        return self.token.kind == kind

    def keyword(self, word: str) -> bool:
        return self.token.kind == "keyword" and self.token.value == word

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise InvalidInputError("the condition is empty; write e.g. drift.share > 0.3")
        node = self.parse_or()
        if not self.at("end"):
            raise self.error(
                self.token.pos,
                f"expected 'and', 'or' or end of input, found {self.token.describe()}",
            )
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.keyword("or"):
            self.advance()
            items.append(self.parse_and())
        return _flatten(Or, items)

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.keyword("and"):
            self.advance()
            items.append(self.parse_not())
        return _flatten(And, items)

    def parse_not(self) -> Node:
        if self.keyword("not"):
            start = self.advance()
            self._enter(start.pos)
            node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_primary()

    def parse_primary(self) -> Node:
        token = self.token
        if token.kind == "(":
            self.advance()
            self._enter(token.pos)
            node = self.parse_or()
            self.depth -= 1
            if self.token.kind != ")":
                raise self.error(
                    self.token.pos,
                    f"expected ')' to close the '(' at character {token.pos + 1}, "
                    f"found {self.token.describe()}",
                )
            self.advance()
            return node
        if token.kind == "name":
            return self.parse_comparison()
        if token.kind == "number":
            raise self.error(
                token.pos,
                f"expected a value name, found {token.describe()}; "
                "a comparison is written NAME OP NUMBER, e.g. drift.share > 0.3",
            )
        raise self.error(
            token.pos, f"expected a comparison such as drift.share > 0.3, found {token.describe()}"
        )

    def parse_comparison(self) -> Comparison:
        name = self.advance()
        if self.token.kind != "op":
            raise self.error(
                self.token.pos,
                f"expected a comparison operator (> >= < <= == !=) after {name.describe()}, "
                f"found {self.token.describe()}",
            )
        op = self.advance()
        if not self.at("number"):
            extra = "; comparing two values is not supported" if self.at("name") else ""
            raise self.error(
                self.token.pos,
                f"expected a number after '{op.text}', found {self.token.describe()}{extra}",
            )
        number = self.advance()
        threshold = float(number.text)
        if math.isinf(threshold):
            raise self.error(number.pos, f"number {number.text} is out of range")
        return Comparison(name.value, cast(Op, op.text), threshold, name.pos)

    def _enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise self.error(pos, f"nested deeper than {_MAX_NESTING} levels")


def _flatten(kind: type[And] | type[Or], items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return kind(tuple(flat))


def parse_condition(text: str) -> Condition:
    """Parse a condition.

    Raises:
        InvalidInputError: The text is not a condition; the message names the
            problem and shows the text with a caret under the offending character.
    """
    if len(text) > MAX_CONDITION_LENGTH:
        raise InvalidInputError(
            f"condition is too long: {len(text):,} characters "
            f"(the limit is {MAX_CONDITION_LENGTH:,})"
        )
    return Condition(_Parser(text).parse())
