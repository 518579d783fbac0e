"""The alert condition language: parsing, precedence, errors with a caret, three-valued logic."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from werft.errors import InvalidInputError
from werft.monitoring.conditions import (
    MAX_CONDITION_LENGTH,
    And,
    Comparison,
    Condition,
    Node,
    Not,
    Or,
    parse_condition,
)


def test_a_comparison_parses_with_every_operator() -> None:
    for op in (">", ">=", "<", "<=", "==", "!="):
        condition = parse_condition(f"drift.share {op} 0.3")
        assert condition.root == Comparison("drift.share", op, 0.3)  # type: ignore[arg-type]
        assert str(condition) == f"drift.share {op} 0.3"


def test_not_binds_tighter_than_and_and_and_tighter_than_or() -> None:
    condition = parse_condition("not a > 1 and b < 2 or c == 3")
    a, b, c = Comparison("a", ">", 1), Comparison("b", "<", 2), Comparison("c", "==", 3)
    assert condition.root == Or((And((Not(a), b)), c))
    assert str(condition) == "not a > 1 and b < 2 or c == 3"


def test_parentheses_override_precedence_and_stay_only_where_needed() -> None:
    condition = parse_condition("((a > 1)) and (b < 2 or (c == 3))")
    assert str(condition) == "a > 1 and (b < 2 or c == 3)"
    assert str(parse_condition("not (a > 1 or b > 2)")) == "not (a > 1 or b > 2)"
    assert str(parse_condition("a > 1 and (b > 2 and c > 3)")) == "a > 1 and b > 2 and c > 3"


def test_canonical_text_normalises_spacing_keywords_and_numbers() -> None:
    condition = parse_condition("  drift.share>=.30   AND  NOT serving.rps<1e3 Or rows>100.0 ")
    assert str(condition) == "drift.share >= 0.3 and not serving.rps < 1000 or rows > 100"
    assert str(parse_condition("kpi.x > -2.5e-07")) == "kpi.x > -2.5e-07"


def test_names_take_dots_dashes_colons_and_backticks() -> None:
    condition = parse_condition(
        "quality.null_rate.plan-type > 0.1 or prediction.share.class:yes < 0.2 "
        "or quality.rejected.0 > 1 or `drift.score.monthly charges` > 0.5"
    )
    assert condition.variables == (
        "quality.null_rate.plan-type",
        "prediction.share.class:yes",
        "quality.rejected.0",
        "drift.score.monthly charges",
    )
    assert "`drift.score.monthly charges` > 0.5" in str(condition)
    assert str(parse_condition("`rows` > 1")) == "rows > 1"
    assert str(parse_condition("`and` > 1")) == "`and` > 1"


def test_variables_are_unique_in_text_order() -> None:
    condition = parse_condition("b > 1 and (a < 2 or b < 0) and c != 1")
    assert condition.variables == ("b", "a", "c")


def test_evaluation() -> None:
    condition = parse_condition("drift.share > 0.3 and serving.error_rate < 0.05")
    assert condition.evaluate({"drift.share": 0.4, "serving.error_rate": 0.01}) is True
    assert condition.evaluate({"drift.share": 0.2, "serving.error_rate": 0.01}) is False
    assert parse_condition("rows == 0").evaluate({"rows": 0.0}) is True
    assert parse_condition("not rows != 0").evaluate({"rows": 0}) is True


def test_missing_values_are_unknown_unless_the_rest_decides() -> None:
    both = parse_condition("a > 1 and b > 1")
    either = parse_condition("a > 1 or b > 1")
    assert both.evaluate({"a": 2}) is None
    assert both.evaluate({"a": 0}) is False  # false and unknown is false
    assert either.evaluate({"a": 2}) is True  # true or unknown is true
    assert either.evaluate({"a": 0}) is None
    assert parse_condition("not a > 1").evaluate({}) is None
    assert parse_condition("a > 1").evaluate({"a": math.nan}) is None


def test_primary_value_is_the_first_variable() -> None:
    condition = parse_condition("drift.share > 0.3 or rows < 10")
    assert condition.primary_value({"drift.share": 0.42, "rows": 5}) == 0.42
    assert condition.primary_value({"rows": 5}) is None


def test_conditions_compare_by_meaning() -> None:
    assert parse_condition("a>1") == parse_condition("  a  >  1.0 ")
    assert parse_condition("a > 1") != parse_condition("a >= 1")
    assert len({parse_condition("a > 1"), parse_condition("(a > 1)")}) == 1


def _error(text: str) -> str:
    with pytest.raises(InvalidInputError) as info:
        parse_condition(text)
    return info.value.message


@pytest.mark.parametrize(
    ("text", "column", "problem"),
    [
        ("drift.share >", 14, "expected a number after '>', found end of input"),
        ("drift.share = 0.3", 13, "'=' is not an operator; write '=='"),
        ("drift.share 0.3", 13, "expected a comparison operator (> >= < <= == !=)"),
        ("drift.share > rows", 15, "comparing two values is not supported"),
        ("0.3 < drift.share", 1, "a comparison is written NAME OP NUMBER"),
        ("(a > 1 and b < 2", 17, "expected ')' to close the '(' at character 1"),
        ("a > 1 b > 2", 7, "expected 'and', 'or' or end of input, found 'b'"),
        ("a > 1 and", 10, "expected a comparison such as drift.share > 0.3, found end of input"),
        ("a > 1.2.3", 5, "malformed number"),
        ("a > 1 & b > 2", 7, "unexpected character '&'"),
        ("`a > 1", 1, "unterminated `quoted name`"),
        ("a > 1e999", 5, "out of range"),
    ],
)
def test_errors_name_the_problem_and_point_at_it(text: str, column: int, problem: str) -> None:
    first, shown, caret = _error(text).split("\n")
    assert first.startswith(f"invalid condition at character {column}: "), first
    assert problem in first
    assert shown == f"  {text}"
    assert caret == "  " + " " * (column - 1) + "^"


def test_empty_and_overlong_conditions_are_refused() -> None:
    assert "empty" in _error("   ")
    assert f"{MAX_CONDITION_LENGTH:,}" in _error("a > 1 and " * 300 + "a > 1")


def test_deep_nesting_is_refused_without_recursion_errors() -> None:
    assert "nested deeper than" in _error("(" * 500 + "a > 1" + ")" * 500)
    assert "nested deeper than" in _error("not " * 300 + "a > 1")


_names = st.sampled_from(["a", "drift.share", "serving.latency_p99", "kpi.x.mean", "odd name"])
_numbers = st.one_of(
    st.integers(-1000, 1000).map(float),
    st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12),
)
_comparisons = st.builds(
    Comparison, _names, st.sampled_from([">", ">=", "<", "<=", "==", "!="]), _numbers
)


def _tree(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    pairs = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(And, pairs), st.builds(Or, pairs), st.builds(Not, children))


_nodes = st.recursive(_comparisons, _tree, max_leaves=8)
_values = st.dictionaries(_names, st.one_of(st.floats(-1e12, 1e12), st.just(math.nan)), max_size=5)


@given(_nodes, _values)
def test_canonical_text_reads_back_to_the_same_meaning(
    node: Node, values: dict[str, float]
) -> None:
    condition = Condition(node)
    again = parse_condition(str(condition))
    assert str(again) == str(condition)
    assert again.evaluate(values) == condition.evaluate(values)
    assert again.variables == condition.variables
