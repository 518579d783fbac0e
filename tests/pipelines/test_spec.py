"""The training section of werft.yaml: the issue's example is valid; mistakes name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from werft.errors import InvalidInputError
from werft.governance.usecases import UseCaseInvalid, load_use_case
from werft.pipelines.spec import check_executor, parse_dataset_ref

USE_CASE = """\
use_case:
  key: churn
  name: Churn prediction
  business_goal: Reduce contract cancellations
  owner: sales-analytics
  risk_class: limited
  approvers: [anna]
"""

TRAINING = """\
training:
  entrypoint: train.py:main
  params: {depth: 3, lr: 0.1}
  data: {train: customers@latest, holdout: customers-holdout@latest}
  executor: local
  timeout: 2h
  triggers:
    - schedule: "0 3 * * 1"
    - alert: churn-drift
    - dataset: customers
  on_success: {promote_to: production}
"""


TWO_IN_ONE = "- alert: churn-drift\n      dataset: customers"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "werft.yaml"
    path.write_text(text)
    return path


def test_the_issues_example_is_valid(tmp_path: Path) -> None:
    loaded = load_use_case(_write(tmp_path, USE_CASE + TRAINING))
    training = loaded.training
    assert training is not None
    assert training.entrypoint == "train.py:main"
    assert training.params == {"depth": 3, "lr": 0.1}
    assert training.timeout == 7200
    assert [t.kind for t in training.triggers] == ["schedule", "alert", "dataset"]
    assert training.on_success.promote_to == "production"
    assert load_use_case(_write(tmp_path, USE_CASE)).training is None


@pytest.mark.parametrize(
    ("bad", "good", "line", "words"),
    [
        ("train.py:main", "train.py", 9, "entrypoint"),
        ("customers@latest", "customers@newest", 11, "NAME@VERSION"),
        ("executor: local", "executor: kubernetes", 12, "not known"),
        ('"0 3 * * 1"', '"every monday"', 15, "five fields"),
        (
            "- alert: churn-drift",
            "- alert: churn-drift\n      dataset: customers",
            16,
            "exactly one",
        ),
        ("promote_to: production", "promote_to: 'prod uction'", 18, "alias"),
        ("timeout: 2h", "timeout: soon", 13, "15m"),
    ],
)
def test_mistakes_name_the_line(tmp_path: Path, bad: str, good: str, line: int, words: str) -> None:
    text = USE_CASE + TRAINING.replace(bad, good, 1)
    with pytest.raises(UseCaseInvalid) as caught:
        load_use_case(_write(tmp_path, text))
    problems = caught.value.problems
    assert [p.line for p in problems] == [line], problems
    assert words in problems[0].message or words in problems[0].path, problems


def test_executor_and_dataset_reference_forms() -> None:
    for spec in ("local", "ray", "ray://head:10001", "http://head:8265", "https://h:1"):
        assert check_executor(spec) == spec
    with pytest.raises(InvalidInputError, match="ray://HEAD:10001"):
        check_executor("slurm")
    assert parse_dataset_ref("customers@latest") == ("customers", None)
    assert parse_dataset_ref("customers@3") == ("customers", 3)
    with pytest.raises(InvalidInputError, match="NAME@VERSION"):
        parse_dataset_ref("customers")
