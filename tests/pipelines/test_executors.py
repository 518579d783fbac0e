"""The local executor, with real subprocesses running real entrypoint files."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from werft.errors import InvalidInputError, UnavailableError
from werft.pipelines.executors import LocalExecutor, LocalJobHandle, executor_for
from werft.pipelines.jobs import JobStatus, TrainingJob

EXECUTOR = LocalExecutor(grace=1.0)


def _write(root: Path, name: str, source: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def _eventually(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    # logs() is read by polling, as a caller would; bounded, so a hang fails.
    give_up = time.monotonic() + timeout
    while not check():
        if time.monotonic() > give_up:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _living_members(group: int) -> list[int]:
    # Orphans are reaped by PID 1 in its own time: a zombie counts as gone.
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def _submit(root: Path, source: str, **job: Any) -> LocalJobHandle:
    _write(root, "train.py", source)
    return EXECUTOR.submit(TrainingJob(entrypoint="train.py:main", workdir=root, **job))


SPAWNS_A_SLEEPER = """
    import subprocess, sys
    from pathlib import Path

    def main(params, data):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        Path("child.pid").write_text(str(child.pid))
        print("spawned", flush=True)
        {rest}
"""


def test_params_and_data_go_in_and_the_result_comes_back(tmp_path: Path) -> None:
    handle = _submit(
        tmp_path,
        """
        import os

        def main(params, data):
            print("training with", params)
            return {"params": params, "data": data, "cwd": os.getcwd(),
                    "run": os.environ["WERFT_PIPELINE_RUN"], "path": os.environ.get("PATH")}
        """,
        params={"depth": 3, "lr": 0.1, "layers": [8, 4]},
        data={"train": "customers@7", "holdout": "customers-holdout@2"},
        env={"WERFT_PIPELINE_RUN": "pr-1"},
    )
    result = handle.wait(timeout=30)
    assert result.status is JobStatus.SUCCEEDED
    assert result.exit_code == 0
    assert result.error is None
    assert result.result == {
        "params": {"depth": 3, "lr": 0.1, "layers": [8, 4]},
        "data": {"train": "customers@7", "holdout": "customers-holdout@2"},
        "cwd": str(tmp_path.resolve()),
        "run": "pr-1",
        "path": os.environ.get("PATH"),
    }
    assert "training with {'depth': 3" in result.logs
    assert result.started_at is not None and result.finished_at is not None
    assert result.started_at <= result.finished_at
    assert handle.status() is JobStatus.SUCCEEDED


def test_a_module_entrypoint_and_a_file_in_a_folder_import_their_neighbours(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "churn/__init__.py", "")
    _write(tmp_path, "churn/features.py", "COLUMNS = ['age', 'plan']\n")
    _write(
        tmp_path,
        "churn/train.py",
        """
        from churn.features import COLUMNS

        def main(params, data):
            return COLUMNS
        """,
    )
    _write(tmp_path, "jobs/helpers.py", "def double(x):\n    return 2 * x\n")
    _write(
        tmp_path,
        "jobs/nightly.py",
        """
        from helpers import double  # beside the file
        from churn.features import COLUMNS  # from the repository's root

        def main(params, data):
            return double(params["n"]) + len(COLUMNS)

        if __name__ == "__main__":
            raise SystemExit("the runner imports the file; it does not run it as a script")
        """,
    )
    module = EXECUTOR.submit(TrainingJob(entrypoint="churn.train:main", workdir=tmp_path))
    nested = EXECUTOR.submit(
        TrainingJob(entrypoint="jobs/nightly.py:main", workdir=tmp_path, params={"n": 21})
    )
    assert module.wait(timeout=30).result == ["age", "plan"]
    assert nested.wait(timeout=30).result == 44


def test_stdout_and_stderr_are_readable_while_the_job_runs(tmp_path: Path) -> None:
    handle = _submit(
        tmp_path,
        """
        import sys, time
        from pathlib import Path

        def main(params, data):
            print("epoch 1 loss 0.5")
            print("a warning on stderr", file=sys.stderr)
            while not Path("release").exists():
                time.sleep(0.01)
            print("epoch 2 loss 0.3")
            return None
        """,
    )
    _eventually(lambda: "a warning on stderr" in handle.logs(), "output of the running job")
    assert "epoch 1 loss 0.5" in handle.logs()
    assert handle.status() is JobStatus.RUNNING
    (tmp_path / "release").touch()
    result = handle.wait(timeout=30)
    assert result.status is JobStatus.SUCCEEDED
    assert result.result is None
    assert result.logs.index("epoch 1") < result.logs.index("epoch 2")
    assert "a warning on stderr" in result.logs


def test_an_entrypoint_that_raises_fails_with_its_traceback(tmp_path: Path) -> None:
    handle = _submit(
        tmp_path,
        """
        def check(depth):
            raise ValueError(f"depth must be positive, got {depth}")

        def main(params, data):
            check(params["depth"])
        """,
        params={"depth": -1},
    )
    result = handle.wait(timeout=30)
    assert result.status is JobStatus.FAILED
    assert result.exit_code == 1
    assert result.result is None
    assert result.error is not None
    assert result.error.startswith("ValueError: depth must be positive, got -1")
    assert "train.py" in result.error and "in check" in result.error
    assert "runner.py" not in result.error
    assert "Traceback (most recent call last)" in result.logs


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def train(params, data):\n    pass\n", "has no 'main' (its functions: train)"),
        ("def main(params):\n    pass\n", "must accept the arguments params and data"),
        ("main = 3\n", "is not a function"),
        ("import no_such_dependency\n", "ModuleNotFoundError: No module named 'no_such"),
    ],
    ids=["missing-function", "wrong-signature", "not-callable", "import-fails"],
)
def test_an_entrypoint_that_cannot_be_called_fails_saying_why(
    tmp_path: Path, source: str, message: str
) -> None:
    result = _submit(tmp_path, source).wait(timeout=30)
    assert result.status is JobStatus.FAILED
    assert result.exit_code == 2
    assert result.error is not None and message in result.error
    assert message in result.logs


def test_a_missing_module_fails_saying_so(tmp_path: Path) -> None:
    result = EXECUTOR.submit(TrainingJob(entrypoint="churn.nothing:main", workdir=tmp_path))
    outcome = result.wait(timeout=30)
    assert outcome.status is JobStatus.FAILED
    assert outcome.error is not None
    assert "entrypoint module 'churn.nothing' cannot be found" in outcome.error


def test_a_file_named_like_a_loaded_module_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "json.py", "def main(params, data):\n    return 1\n")
    handle = EXECUTOR.submit(TrainingJob(entrypoint="json.py:main", workdir=tmp_path))
    result = handle.wait(timeout=30)
    assert result.status is JobStatus.FAILED
    assert result.error is not None
    assert "has the name of the module 'json', which is already loaded" in result.error


@pytest.mark.parametrize(
    "entrypoint",
    ["train.py", "train.py:", ":main", "/srv/train.py:main", "../train.py:main", "a-b:main"],
)
def test_a_malformed_entrypoint_is_refused_before_anything_runs(
    tmp_path: Path, entrypoint: str
) -> None:
    with pytest.raises(InvalidInputError, match="entrypoint"):
        TrainingJob(entrypoint=entrypoint, workdir=tmp_path)


def test_a_missing_file_or_workdir_is_refused_at_submit(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"entrypoint file 'train\.py' does not exist"):
        EXECUTOR.submit(TrainingJob(entrypoint="train.py:main", workdir=tmp_path))
    with pytest.raises(InvalidInputError, match="is not a directory"):
        EXECUTOR.submit(TrainingJob(entrypoint="train.py:main", workdir=tmp_path / "nope"))


def test_the_exit_code_of_sys_exit_is_reported(tmp_path: Path) -> None:
    result = _submit(tmp_path, "import sys\ndef main(params, data):\n    sys.exit(3)\n").wait(30)
    assert result.status is JobStatus.FAILED
    assert result.exit_code == 3
    assert result.error == "the entrypoint called sys.exit(3)"


def test_a_result_that_is_not_json_fails(tmp_path: Path) -> None:
    result = _submit(tmp_path, "def main(params, data):\n    return {1, 2}\n").wait(30)
    assert result.status is JobStatus.FAILED
    assert result.error is not None and "not JSON-compatible" in result.error


def test_a_timeout_stops_the_whole_process_group(tmp_path: Path) -> None:
    handle = _submit(
        tmp_path,
        SPAWNS_A_SLEEPER.format(
            rest="""
        try:
            subprocess.run(["sleep", "600"])
        finally:
            Path("cleaned-up").touch()
        """
        ),
        timeout=2.0,
    )
    result = handle.wait(timeout=30)
    assert result.status is JobStatus.TIMED_OUT
    assert result.error == "the job exceeded its timeout and was stopped"
    assert result.exit_code == 143  # SIGTERM, turned into an exception by the runner
    assert (tmp_path / "cleaned-up").exists(), "finally blocks run on SIGTERM"
    # SIGKILL is delivered, not awaited: the kernel may take a moment.
    child = int((tmp_path / "child.pid").read_text())
    _eventually(lambda: _living_members(handle.pid) == [], "the process group to die")
    assert _gone(child)


def test_cancel_stops_the_job_and_sigkill_follows_an_ignored_sigterm(tmp_path: Path) -> None:
    handle = _submit(
        tmp_path,
        SPAWNS_A_SLEEPER.format(
            rest="""
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(0.05)
        """
        ),
    )
    _eventually(lambda: "spawned" in handle.logs(), "the job to start")
    with pytest.raises(TimeoutError, match="still running"):
        handle.wait(timeout=0.05)
    handle.cancel()
    result = handle.wait(timeout=30)
    assert result.status is JobStatus.CANCELLED
    assert result.error == "the job was cancelled"
    assert result.exit_code == -9
    child = int((tmp_path / "child.pid").read_text())
    _eventually(lambda: _gone(child), "the child to die")
    handle.cancel()  # cancelling an ended job changes nothing
    assert handle.status() is JobStatus.CANCELLED


def test_what_a_successful_entrypoint_leaves_running_is_killed(tmp_path: Path) -> None:
    result = _submit(tmp_path, SPAWNS_A_SLEEPER.format(rest="return 'done'")).wait(30)
    assert result.status is JobStatus.SUCCEEDED
    assert result.result == "done"
    child = int((tmp_path / "child.pid").read_text())
    _eventually(lambda: _gone(child), "the child to die")


def test_logs_keep_the_end_and_say_what_was_cut(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "train.py",
        "def main(params, data):\n    for i in range(1000):\n        print(f'line {i:04d}')\n",
    )
    executor = LocalExecutor(log_limit=1000)
    result = executor.submit(TrainingJob(entrypoint="train.py:main", workdir=tmp_path)).wait(30)
    assert result.status is JobStatus.SUCCEEDED
    assert result.logs_truncated
    first, *kept = result.logs.splitlines()
    assert first.startswith("[werft: the first ") and "bytes of output were cut" in first
    assert kept[-1] == "line 0999"
    assert kept[0].startswith("line ")  # cut at a line boundary
    assert len("\n".join(kept)) <= 1000


def test_a_missing_interpreter_is_unavailable(tmp_path: Path) -> None:
    _write(tmp_path, "train.py", "def main(params, data):\n    pass\n")
    executor = LocalExecutor(python=str(tmp_path / "no-python"))
    with pytest.raises(UnavailableError, match="cannot start the training process"):
        executor.submit(TrainingJob(entrypoint="train.py:main", workdir=tmp_path))


def test_executor_for_knows_local_and_refuses_the_unknown() -> None:
    assert isinstance(executor_for("local"), LocalExecutor)
    with pytest.raises(InvalidInputError, match="executor 'kubernetes' is not known"):
        executor_for("kubernetes")
