"""Training jobs, outcomes and log tails: pure logic, no processes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from werft.errors import InvalidInputError
from werft.pipelines.jobs import (
    MAX_JOB_BYTES,
    Entrypoint,
    JobStatus,
    Outcome,
    TrainingJob,
    conclude,
    parse_entrypoint,
    runner_command,
)
from werft.pipelines.logtail import LogTail


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("train.py:main", Entrypoint("file", "train.py", "main")),
        ("src/jobs/train.py:fit", Entrypoint("file", "src/jobs/train.py", "fit")),
        ("churn.train:main", Entrypoint("module", "churn.train", "main")),
        ("train:main", Entrypoint("module", "train", "main")),
    ],
)
def test_entrypoints_name_a_file_or_a_module(spec: str, expected: Entrypoint) -> None:
    assert parse_entrypoint(spec) == expected
    assert str(expected) == spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("train.py", "FILE.py:FUNCTION"),
        ("train.py:1st", "FILE.py:FUNCTION"),
        ("/srv/train.py:main", "relative to it"),
        ("jobs/../../train.py:main", "relative to it"),
        ("C:/train.py:main", "relative to it"),
        ("jobs/train.txt:main", "is not a .py file"),
        ("churn..train:main", "not a dotted module"),
    ],
)
def test_malformed_entrypoints_say_how_to_write_them(spec: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_entrypoint(spec)


def test_a_job_keeps_a_private_json_copy_of_its_params(tmp_path: Path) -> None:
    params = {"layers": (8, 4), "depth": 3}
    job = TrainingJob(entrypoint="train.py:main", workdir=str(tmp_path), params=params)  # type: ignore[arg-type]
    params["depth"] = 4
    assert job.params == {"layers": [8, 4], "depth": 3}
    assert job.workdir == tmp_path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"params": {"model": object()}}, "params must be JSON-compatible"),
        ({"params": {"lr": math.nan}}, "params must be JSON-compatible"),
        ({"params": [1, 2]}, "params must be a mapping"),
        ({"data": {"train": 7}}, "data must map non-empty names to strings"),
        ({"env": {"": "x"}}, "env must map non-empty names to strings"),
        ({"env": {"A=B": "x"}}, "env names may not contain '='"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"timeout": math.inf}, "timeout must be a positive number"),
        ({"params": {"blob": "x" * MAX_JOB_BYTES}}, "pass large inputs as a dataset reference"),
    ],
)
def test_a_malformed_job_is_refused(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        TrainingJob(entrypoint="train.py:main", workdir=tmp_path, **fields)  # type: ignore[arg-type]


def test_the_runner_gets_exactly_one_way_back(tmp_path: Path) -> None:
    job = TrainingJob(entrypoint="train.py:main", workdir=tmp_path, params={"a": 1})
    assert runner_command("python3", job, marker="@@m@@") == [
        "python3",
        "-P",
        "-m",
        "werft.pipelines.runner",
        "--job",
        '{"entrypoint":"train.py:main","params":{"a":1},"data":{}}',
        "--result-marker",
        "@@m@@",
    ]
    with pytest.raises(ValueError, match="exactly one"):
        runner_command("python3", job)


def test_outcomes_round_trip_and_half_an_outcome_is_none() -> None:
    outcome = Outcome(ok=True, result={"run_id": "r1", "model_version": 3})
    assert Outcome.from_json(outcome.to_json()) == outcome
    assert Outcome.from_json(outcome.to_json()[:-5]) is None
    assert Outcome.from_json('{"result": 1}') is None
    assert Outcome.from_json("[]") is None


@pytest.mark.parametrize(
    ("exit_code", "outcome", "stopped", "status", "error"),
    [
        (0, Outcome(ok=True, result=1), None, JobStatus.SUCCEEDED, None),
        (0, Outcome(ok=True, result=1), JobStatus.CANCELLED, JobStatus.SUCCEEDED, None),
        (
            143,
            Outcome(ok=False, error="stopped"),
            JobStatus.CANCELLED,
            JobStatus.CANCELLED,
            "the job was cancelled",
        ),
        (
            -9,
            None,
            JobStatus.TIMED_OUT,
            JobStatus.TIMED_OUT,
            "the job exceeded its timeout and was stopped",
        ),
        (1, Outcome(ok=False, error="ValueError: x"), None, JobStatus.FAILED, "ValueError: x"),
        (-9, None, None, JobStatus.FAILED, "killed by SIGKILL"),
        (0, None, None, JobStatus.FAILED, "exited with code 0 without a result"),
        (None, None, None, JobStatus.FAILED, "exited with code None without a result"),
    ],
)
def test_conclude_prefers_a_completed_result_then_the_stop_then_the_error(
    exit_code: int | None,
    outcome: Outcome | None,
    stopped: JobStatus | None,
    status: JobStatus,
    error: str | None,
) -> None:
    got_status, _, got_error = conclude(exit_code, outcome, stopped)
    assert got_status is status
    assert (got_error is None) if error is None else (got_error is not None and error in got_error)


def test_terminal_statuses() -> None:
    assert {s for s in JobStatus if s.is_terminal} == {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.TIMED_OUT,
    }


def test_a_log_tail_under_its_limit_is_the_whole_output() -> None:
    tail = LogTail(limit=100)
    tail.write(b"one\n")
    tail.write("zwei \u00fcber\n".encode())
    assert tail.text() == "one\nzwei \u00fcber\n"
    assert not tail.truncated


@pytest.mark.parametrize(
    ("chunks", "kept"),
    [
        ([b"aaaa\nbb", b"bb\ncc", b"c\n"], "bbbb\nccc\n"),  # cut inside a line: drop its rest
        ([b"aaaa\n", b"bbbb\nccc\n"], "bbbb\nccc\n"),  # cut at a line start: keep it
    ],
)
def test_a_log_tail_keeps_the_end_from_a_line_start(chunks: list[bytes], kept: str) -> None:
    tail = LogTail(limit=10)
    for chunk in chunks:
        tail.write(chunk)
    assert tail.truncated
    note = "[werft: the first 5 bytes of output were cut; the last 9 bytes follow]\n"
    assert tail.text() == note + kept


def test_a_log_tail_of_one_long_line_keeps_its_end() -> None:
    tail = LogTail(limit=3)
    tail.write("xx\u00e9\u00e9".encode())  # the cut falls inside the first é
    assert tail.text().endswith("\n\ufffd\u00e9")
