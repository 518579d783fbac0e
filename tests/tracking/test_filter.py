"""Tests for the run search filter parser."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from werft.errors import InvalidInputError
from werft.tracking.filter import (
    ATTRIBUTES,
    RUN_STATUSES,
    And,
    Comparison,
    Expr,
    Op,
    Or,
    OrderKey,
    parse_filter,
    parse_order_by,
    to_text,
)


def strip(expr: Expr) -> Expr:
    """Zero every position so trees parsed from different texts compare equal."""
    if isinstance(expr, Comparison):
        return dataclasses.replace(expr, position=0)
    return type(expr)(tuple(strip(item) for item in expr.items))


def normalize(expr: Expr) -> Expr:
    """Flatten nested And/Or of the same kind, as the parser does."""
    if isinstance(expr, Comparison):
        return expr
    flat: list[Expr] = []
    for item in (normalize(item) for item in expr.items):
        flat.extend(item.items if isinstance(item, type(expr)) else (item,))
    return type(expr)(tuple(flat))


def parsed(text: str) -> Expr:
    expr = parse_filter(text)
    assert expr is not None
    return strip(expr)


def c(entity: str, key: str, op: str, value: object) -> Comparison:
    return Comparison(entity, key, op, value, 0)  # type: ignore[arg-type]


def error_of(text: str) -> str:
    with pytest.raises(InvalidInputError) as info:
        parse_filter(text)
    return info.value.message


def assert_points_at(text: str, pos: int, fragment: str) -> None:
    message = error_of(text)
    first, shown, caret = message.split("\n")
    assert first.startswith(f"invalid filter at character {pos + 1}: "), message
    assert fragment in first, message
    assert shown == "  " + text
    assert caret == "  " + " " * pos + "^"


# -- valid filters -------------------------------------------------------------


def test_example_from_the_docs() -> None:
    expr = parse_filter("metrics.auc > 0.8 and params.depth = '3'")
    assert expr == And(
        (
            Comparison("metric", "auc", ">", 0.8, 0),
            Comparison("param", "depth", "=", "3", 22),
        )
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.auc = 1", c("metric", "auc", "=", 1.0)),
        ("metrics.auc == 1", c("metric", "auc", "=", 1.0)),
        ("metrics.auc != 1", c("metric", "auc", "!=", 1.0)),
        ("metrics.auc <> 1", c("metric", "auc", "!=", 1.0)),
        ("metrics.auc < -1.5", c("metric", "auc", "<", -1.5)),
        ("metrics.auc <= +.5", c("metric", "auc", "<=", 0.5)),
        ("metrics.auc > 1e-3", c("metric", "auc", ">", 0.001)),
        ("metrics.auc>=2E2", c("metric", "auc", ">=", 200.0)),
        ("metrics.auc IN (1, 2.5)", c("metric", "auc", "IN", (1.0, 2.5))),
        ("metrics.auc not in (3)", c("metric", "auc", "NOT IN", (3.0,))),
        ("metrics.auc IS NULL", c("metric", "auc", "IS NULL", None)),
        ("metrics.auc is not null", c("metric", "auc", "IS NOT NULL", None)),
        ("params.model LIKE 'xgb%'", c("param", "model", "LIKE", "xgb%")),
        ("tags.team ilike 'Vision%'", c("tag", "team", "ILIKE", "Vision%")),
        ("params.model IN ('a', \"b\")", c("param", "model", "IN", ("a", "b"))),
        ("tags.x NOT IN ('a')", c("tag", "x", "NOT IN", ("a",))),
        ("tags.x IS NULL", c("tag", "x", "IS NULL", None)),
        ("params.depth = 3", c("param", "depth", "=", "3")),
        ("params.lr = 0.10", c("param", "lr", "=", "0.10")),
        ("params.n IN (1, '2')", c("param", "n", "IN", ("1", "2"))),
        ("param.x = 'a'", c("param", "x", "=", "a")),
        ("Metric.x = 1", c("metric", "x", "=", 1.0)),
        ("TAG.x = 'a'", c("tag", "x", "=", "a")),
    ],
)
def test_operators(text: str, expected: Comparison) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status = 'running'", c("attribute", "status", "=", "running")),
        ("STATUS = 'FINISHED'", c("attribute", "status", "=", "finished")),
        (
            "attributes.status IN ('failed', 'killed')",
            c("attribute", "status", "IN", ("failed", "killed")),
        ),
        ("attr.name LIKE 'exp-%'", c("attribute", "name", "LIKE", "exp-%")),
        ("run.user = 'ana'", c("attribute", "user", "=", "ana")),
        ("attribute.id != 'abc'", c("attribute", "id", "!=", "abc")),
        ("git_commit = 1234567", c("attribute", "git_commit", "=", "1234567")),
        ("start_time >= 0", c("attribute", "start_time", ">=", datetime(1970, 1, 1, tzinfo=UTC))),
        (
            "start_time < 1700000000123",
            c("attribute", "start_time", "<", datetime(2023, 11, 14, 22, 13, 20, 123000, UTC)),
        ),
        (
            "end_time > '2024-05-01T12:00:00+02:00'",
            c("attribute", "end_time", ">", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ),
        (
            "end_time = '2024-05-01'",
            c("attribute", "end_time", "=", datetime(2024, 5, 1, tzinfo=UTC)),
        ),
        ("end_time IS NULL", c("attribute", "end_time", "IS NULL", None)),
        ("`status` = 'killed'", c("attribute", "status", "=", "killed")),
    ],
)
def test_attributes(text: str, expected: Comparison) -> None:
    assert parsed(text) == expected


def test_timestamps_are_utc_aware() -> None:
    value = parsed("end_time > '2024-05-01T12:00:00-05:00'")
    assert isinstance(value, Comparison)
    assert isinstance(value.value, datetime)
    assert value.value.utcoffset() == timedelta(0)
    assert value.value == datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=-5)))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.train/loss < 1", "train/loss"),
        ("metrics.val.loss < 1", "val.loss"),
        ("metrics.a-b:c_1 < 1", "a-b:c_1"),
        ("metrics.`val loss` < 1", "val loss"),
        ("metrics.`a = 'b' (c)` < 1", "a = 'b' (c)"),
        ("metrics.Größe < 1", "Größe"),
    ],
)
def test_keys(text: str, key: str) -> None:
    assert parsed(text) == c("metric", key, "<", 1.0)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'it''s'", "it's"),
        ("'it\\'s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ('"a\\"b"', 'a"b'),
        ("'back\\\\slash'", "back\\slash"),
        ("'100\\%'", "100\\%"),
        ("''", ""),
        ("'  spaced  '", "  spaced  "),
    ],
)
def test_string_literals(literal: str, value: str) -> None:
    assert parsed(f"tags.x = {literal}") == c("tag", "x", "=", value)


A = c("metric", "a", "=", 1.0)
B = c("metric", "b", "=", 2.0)
C = c("metric", "c", "=", 3.0)
D = c("metric", "d", "=", 4.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.a = 1 OR metrics.b = 2 AND metrics.c = 3", Or((A, And((B, C))))),
        ("metrics.a = 1 AND metrics.b = 2 OR metrics.c = 3", Or((And((A, B)), C))),
        ("(metrics.a = 1 OR metrics.b = 2) AND metrics.c = 3", And((Or((A, B)), C))),
        ("metrics.a = 1 AND (metrics.b = 2 AND metrics.c = 3)", And((A, B, C))),
        ("metrics.a = 1 or (metrics.b = 2 or (metrics.c = 3))", Or((A, B, C))),
        ("((metrics.a = 1))", A),
        (
            "(metrics.a = 1 OR metrics.b = 2) AND (metrics.c = 3 OR metrics.d = 4)",
            And((Or((A, B)), Or((C, D)))),
        ),
    ],
)
def test_precedence_and_parentheses(text: str, expected: Expr) -> None:
    assert parsed(text) == expected


def test_positions() -> None:
    expr = parse_filter("  (metrics.a = 1 OR\n params.b = 'x')")
    assert isinstance(expr, Or)
    assert [item.position for item in expr.items] == [3, 21]  # type: ignore[union-attr]


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter(text: str | None) -> None:
    assert parse_filter(text) is None


# -- errors --------------------------------------------------------------------


def test_error_message_format() -> None:
    assert error_of("metrics.auc > ") == (
        "invalid filter at character 15: expected a value after '>', found end of input\n"
        "  metrics.auc > \n"
        "                ^"
    )


@pytest.mark.parametrize(
    ("text", "pos", "fragment"),
    [
        ("metrics.auc >", 13, "expected a value after '>'"),
        ("metrics.auc = AND metrics.b = 1", 14, "expected a value after '='"),
        ("params.x = 'abc", 11, "unterminated string"),
        ('params.x = "abc\\"', 11, "unterminated string"),
        ("metrics.`abc = 1", 8, "no closing backtick"),
        ("metrics.auc ~ 3", 12, "unexpected character '~'"),
        ("metrics.auc CONTAINS 3", 12, "expected an operator after 'metrics.auc'"),
        ("metrics.auc NOT LIKE 3", 16, "expected IN after 'NOT'"),
        ("metrics.auc IS 3", 15, "expected NULL after 'IS'"),
        ("metrics.auc IN 3", 15, "expected '(' after 'IN'"),
        ("metrics.auc IN (1, )", 19, "expected a value after ','"),
        ("metrics.auc IN (1 2)", 18, "expected ',' or ')' in the list, found '2'"),
        ("foo.bar = 1", 0, "unknown entity 'foo'"),
        ("foo = 1", 0, "unknown attribute 'foo'"),
        ("attributes.colour = 'x'", 11, "unknown run attribute 'colour'"),
        ("metrics = 1", 7, "expected '.' and a key after 'metrics'"),
        ("metrics. = 1", 8, "expected a key after 'metrics.'"),
        ("metrics.`` = 1", 8, "key must not be empty"),
        ("metrics.a > 1 AND", 17, "expected a comparison or '(' after 'AND'"),
        ("metrics.a > 1 and or metrics.b < 1", 18, "after 'AND', found 'or'"),
        ("OR metrics.a > 1", 0, "expected a comparison or '(', found 'OR'"),
        ("NOT metrics.a > 1", 0, "NOT only appears in NOT IN"),
        ("(metrics.a > 1", 14, "to close the '(' at character 1"),
        ("((metrics.a > 1) or metrics.b = 1", 33, "to close the '(' at character 1"),
        ("metrics.a > 1)", 13, "unbalanced ')'"),
        ("()", 1, "expected a comparison or '(' after '('"),
        ("metrics.a > 1 metrics.b > 1", 14, "expected AND, OR or end of input"),
        ("metrics.auc > 'high'", 14, "metrics are numbers, found the string 'high'"),
        ("metrics.auc IN (1, 'x')", 19, "metrics are numbers"),
        ("metrics.auc LIKE '1%'", 12, "metrics are numbers; compare with"),
        ("params.depth < 3", 13, "params are strings; compare with =, !=, LIKE"),
        ("tags.x >= 'a'", 7, "tags are strings"),
        ("params.x = abc", 11, "quote strings, e.g. 'abc'"),
        ("params.x = NULL", 11, "IS NULL"),
        ("metrics.x = nan", 12, "comparisons with NaN are meaningless"),
        ("metrics.x > -inf", 12, "NaN and infinity are not allowed"),
        ("metrics.x < Infinity", 12, "NaN and infinity are not allowed"),
        ("metrics.x < 1e999", 12, "number out of range"),
        ("metrics.x < 1.2.3", 12, "malformed number"),
        ("metrics.x < 12abc", 12, "malformed number"),
        ("status = 'done'", 9, "unknown run status 'done'; expected running, finished"),
        ("status < 'running'", 7, "run attribute 'status' supports only =, !=, IN or NOT IN"),
        ("status IS NULL", 7, "run attribute 'status' supports only"),
        ("name < 'x'", 5, "run attribute 'name' supports only"),
        ("start_time IS NULL", 11, "run attribute 'start_time' supports only"),
        ("start_time IN (1)", 11, "run attribute 'start_time' supports only"),
        ("start_time > 'yesterday'", 13, "takes epoch milliseconds or an ISO-8601 timestamp"),
        ("start_time > 1e300", 13, "takes epoch milliseconds"),
    ],
)
def test_error_positions(text: str, pos: int, fragment: str) -> None:
    assert_points_at(text, pos, fragment)


def test_unknown_attribute_lists_the_valid_ones() -> None:
    message = error_of("colour = 'x'")
    assert all(name in message for name in ATTRIBUTES)
    message = error_of("foo.bar = 'x'")
    assert all(prefix in message for prefix in ("metrics.", "params.", "tags.", "attributes."))


def test_long_filter_error_shows_a_window_around_the_position() -> None:
    text = "metrics.a > 1 AND " * 20 + "metrics.b >"
    first, shown, caret = error_of(text).split("\n")
    assert first.startswith(f"invalid filter at character {len(text) + 1}:")
    assert shown.startswith("  ...")
    assert len(shown) < 100
    assert caret.index("^") == len(shown)


def test_control_characters_do_not_shift_the_caret() -> None:
    _, shown, caret = error_of("metrics.a\t>\n").split("\n")
    assert shown == "  metrics.a > "
    assert caret == "  " + " " * 12 + "^"
    first, shown, _ = error_of("metrics.`a\nb` ~").split("\n")
    assert shown == "  metrics.`a b` ~"
    assert "unexpected character '~'" in first
    first, _, _ = error_of("metrics.`a\nb` CONTAINS 1").split("\n")
    assert "expected an operator after 'metrics.`a b`'" in first


def test_too_long() -> None:
    text = "metrics.a > 1 AND " * 600
    with pytest.raises(InvalidInputError, match="limit is 10,000"):
        parse_filter(text)


def test_too_deeply_nested() -> None:
    with pytest.raises(InvalidInputError, match="nested more than"):
        parse_filter("(" * 500 + "metrics.a > 1" + ")" * 500)
    assert parsed("(" * 50 + "metrics.a = 1" + ")" * 50) == A


# -- order_by ------------------------------------------------------------------


def test_order_by() -> None:
    assert parse_order_by(None) == []
    assert parse_order_by([]) == []
    assert parse_order_by(
        ["metrics.auc DESC", "params.model", "start_time asc", "tags.`team name` desc", "name"]
    ) == [
        OrderKey("metric", "auc", True),
        OrderKey("param", "model", False),
        OrderKey("attribute", "start_time", False),
        OrderKey("tag", "team name", True),
        OrderKey("attribute", "name", False),
    ]
    assert parse_order_by("metrics.val.loss") == [OrderKey("metric", "val.loss", False)]


@pytest.mark.parametrize(
    ("items", "index", "pos", "fragment"),
    [
        (["metrics.auc DESCX"], 1, 12, "expected ASC, DESC or the end"),
        (["name", "metrics.auc DESC ASC"], 2, 17, "expected ASC, DESC or the end"),
        (["foo DESC"], 1, 0, "unknown attribute 'foo'"),
        ([""], 1, 0, "found end of input"),
        (["DESC"], 1, 0, "found 'DESC'"),
        (["metrics.x = 1"], 1, 10, "found '='"),
    ],
)
def test_order_by_errors(items: list[str], index: int, pos: int, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_order_by(items)
    first, shown, caret = info.value.message.split("\n")
    item = items[index - 1]
    assert first.startswith(f"invalid order_by item {index} ({item!r}) at character {pos + 1}: ")
    assert fragment in first
    assert shown == "  " + item
    assert caret == "  " + " " * pos + "^"


# -- to_text -------------------------------------------------------------------


def test_to_text_is_canonical() -> None:
    expr = parse_filter(
        "metric.auc>0.8 and (params.`max depth` = 3 or tags.x not in ('it''s')) "
        "AND status='FINISHED' and end_time is null"
    )
    assert expr is not None
    assert to_text(expr) == (
        "metrics.auc > 0.8 AND (params.`max depth` = '3' OR tags.x NOT IN ('it''s')) "
        "AND status = 'finished' AND end_time IS NULL"
    )


def test_to_text_rejects_what_the_language_cannot_express() -> None:
    with pytest.raises(ValueError, match="empty"):
        to_text(And(()))
    with pytest.raises(ValueError, match="cannot be written"):
        to_text(c("tag", "a`b", "=", "x"))


# -- properties ----------------------------------------------------------------

METRIC_OPS: list[Op] = ["=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
STRING_OPS: list[Op] = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
ATTRIBUTE_OPS: dict[str, list[Op]] = {
    "status": ["=", "!=", "IN", "NOT IN"],
    "start_time": ["=", "!=", "<", "<=", ">", ">="],
    "end_time": ["=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL"],
}
keys = st.text(min_size=1, max_size=10).filter(lambda key: "`" not in key)


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    entity = draw(st.sampled_from(["metric", "param", "tag", "attribute"]))
    key = draw(st.sampled_from(sorted(ATTRIBUTES)) if entity == "attribute" else keys)
    scalars: st.SearchStrategy[object]
    if entity == "metric":
        ops, scalars = METRIC_OPS, st.floats(allow_nan=False, allow_infinity=False)
    elif entity != "attribute":
        ops, scalars = STRING_OPS, st.text(max_size=10)
    else:
        ops = ATTRIBUTE_OPS.get(key, ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"])
        if key == "status":
            scalars = st.sampled_from(RUN_STATUSES)
        elif key.endswith("_time"):
            scalars = st.datetimes(timezones=st.just(UTC))
        else:
            scalars = st.text(max_size=10)
    op = draw(st.sampled_from(ops))
    value: object = None
    if op in ("IN", "NOT IN"):
        value = tuple(draw(st.lists(scalars, min_size=1, max_size=3)))
    elif op not in ("IS NULL", "IS NOT NULL"):
        value = draw(scalars)
    return c(entity, key, op, value)


expressions = st.recursive(
    comparisons(),
    lambda children: st.builds(
        lambda kind, items: kind(tuple(items)),
        st.sampled_from([And, Or]),
        st.lists(children, min_size=2, max_size=3),
    ),
    max_leaves=8,
).map(normalize)


@settings(deadline=None)
@given(expressions)
def test_to_text_round_trips(expr: Expr) -> None:
    assert parsed(to_text(expr)) == expr


FRAGMENTS = [
    "metrics.a", "params.b", "tags.`c d`", "status", "start_time", "end_time", "name", "foo.x",
    "=", "==", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "ilike", "IN", "NOT", "IS", "NULL",
    "AND", "or", "(", ")", ",", "'x'", "'running'", '"a""b"', "'unclosed", "`", "1", "-2.5e3",
    "1e999", "nan", "-inf", "1700000000000", "'2024-01-01T00:00:00Z'", "DESC", "~", ".", "",
]  # fmt: skip


def check_text(text: str) -> None:
    try:
        expr = parse_filter(text)
    except InvalidInputError as error:
        first, _, caret = error.message.split("\n")
        assert first.startswith("invalid filter at character ")
        assert caret.strip() == "^"
    else:
        if expr is not None:
            assert parsed(to_text(expr)) == strip(expr)
    with contextlib.suppress(InvalidInputError):
        parse_order_by([text])


@settings(deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_invalid_input(text: str) -> None:
    check_text(text)


@settings(deadline=None, max_examples=300)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=10), st.sampled_from([" ", ""]))
def test_token_soup_parses_or_raises_invalid_input(fragments: list[str], sep: str) -> None:
    check_text(sep.join(fragments))
