"""Executors run a :class:`TrainingJob` and hand back a :class:`JobHandle`.

Every executor starts the same runner (:mod:`werft.pipelines.runner`) in the
project's repository, which calls the entrypoint as
``function(params=..., data=...)``; they differ in where that process runs:

* :class:`LocalExecutor` — a subprocess on this machine (the default);
* :class:`~werft.pipelines.ray_executor.RayExecutor` — a job on a Ray cluster
  (``pip install 'werft[ray]'``).

:func:`executor_for` picks one from the ``executor:`` setting of ``werft.yaml``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from werft.errors import UnavailableError
from werft.pipelines.jobs import (
    JobResult,
    JobStatus,
    Outcome,
    TrainingJob,
    conclude,
    runner_command,
)
from werft.pipelines.logtail import DEFAULT_LOG_LIMIT, LogTail
from werft.pipelines.ray_executor import RayExecutor
from werft.pipelines.spec import check_executor

log = logging.getLogger("werft.pipelines")

DEFAULT_GRACE = 10.0
"""Seconds between SIGTERM and SIGKILL when a job is stopped."""

_OUTPUT_DRAIN = 5.0


class JobHandle(Protocol):
    """A submitted job: watch it, stop it, wait for its :class:`JobResult`."""

    @property
    def id(self) -> str:
        """The executor's id of the job."""
        ...

    def status(self) -> JobStatus:
        """The job's status now."""
        ...

    def wait(self, timeout: float | None = None) -> JobResult:
        """Block until the job has ended and return how it ended.

        Raises:
            TimeoutError: ``timeout`` seconds passed first; the job goes on.
        """
        ...

    def cancel(self) -> None:
        """Ask the job to stop; it ends ``cancelled`` unless it finished first."""
        ...

    def logs(self) -> str:
        """stdout and stderr so far, bounded like :attr:`JobResult.logs`."""
        ...


class Executor(Protocol):
    """Runs training jobs somewhere."""

    def submit(self, job: TrainingJob) -> JobHandle:
        """Start ``job`` and return its handle.

        Raises:
            InvalidInputError: the workdir or entrypoint file does not exist.
            UnavailableError: the job could not be started.
        """
        ...


class LocalExecutor:
    """Runs each job in a subprocess on this machine, in a process group of its own.

    The process inherits this process's environment plus the job's ``env``; its
    output goes through a pipe into a bounded :class:`LogTail`. A timeout or
    :meth:`LocalJobHandle.cancel` sends SIGTERM to the whole group — the runner
    turns it into an exception, so ``finally`` blocks run — and SIGKILL after
    ``grace`` seconds. When the entrypoint ends, whatever it left running in its
    group is killed.

    Args:
        python: the interpreter that runs the runner; werft and the project's
            dependencies must be importable there.
        log_limit: bytes of output kept per job (the end is kept).
        grace: seconds between SIGTERM and SIGKILL.
    """

    def __init__(
        self,
        *,
        python: str = sys.executable,
        log_limit: int = DEFAULT_LOG_LIMIT,
        grace: float = DEFAULT_GRACE,
    ) -> None:
        self.python = python
        self.log_limit = log_limit
        self.grace = grace

    def submit(self, job: TrainingJob) -> LocalJobHandle:
        """Start ``job`` in a subprocess; see :meth:`Executor.submit`."""
        workdir = job.check_workdir()
        return LocalJobHandle(
            job, workdir, python=self.python, log_limit=self.log_limit, grace=self.grace
        )


class LocalJobHandle:
    """A job running in a local subprocess; three daemon threads look after it:
    one drains its output, one waits for it to exit, one enforces the timeout
    and cancellation and records the result."""

    def __init__(
        self, job: TrainingJob, workdir: Path, *, python: str, log_limit: int, grace: float
    ) -> None:
        self.id = f"local-{uuid.uuid4().hex[:12]}"
        self._timeout = job.timeout
        self._grace = grace
        self._tail = LogTail(log_limit)
        self._cancel_requested = False
        self._wake = threading.Event()  # the process exited, or cancel() was called
        self._exited = threading.Event()
        self._done = threading.Event()
        self._result: JobResult | None = None
        self._scratch = Path(tempfile.mkdtemp(prefix="werft-job-"))
        self._outcome_file = self._scratch / "outcome.json"
        argv = runner_command(python, job, result_file=self._outcome_file)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **job.env}
        self.started_at = datetime.now(UTC)
        try:
            self._process = subprocess.Popen(
                argv,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, to stop it whole
            )
        except OSError as exc:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise UnavailableError(
                f"cannot start the training process with {python!r}: {exc}"
            ) from exc
        self.pid = self._process.pid
        self._reader = self._thread(self._drain_output, "output")
        self._thread(self._await_exit, "exit")
        self._thread(self._supervise, "supervisor")

    def _thread(self, target: Callable[[], None], role: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"werft-{self.id}-{role}", daemon=True)
        thread.start()
        return thread

    def status(self) -> JobStatus:
        """``running`` until the job has ended, then how it ended."""
        result = self._result
        return JobStatus.RUNNING if result is None else result.status

    def wait(self, timeout: float | None = None) -> JobResult:
        """See :meth:`JobHandle.wait`."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.id} is still running after {timeout} s")
        return self._finished()

    def cancel(self) -> None:
        """See :meth:`JobHandle.cancel`; returns at once, :meth:`wait` to see it end."""
        if not self._done.is_set():
            self._cancel_requested = True
            self._wake.set()

    def logs(self) -> str:
        """See :meth:`JobHandle.logs`."""
        return self._tail.text()

    def _finished(self) -> JobResult:
        if self._result is None:  # _done is set only after _result
            raise RuntimeError(f"job {self.id} has no result yet")
        return self._result

    def _drain_output(self) -> None:
        stream = self._process.stdout
        if stream is None:
            return
        with stream:
            fd = stream.fileno()
            while chunk := os.read(fd, 65536):
                self._tail.write(chunk)

    def _await_exit(self) -> None:
        self._process.wait()
        self._exited.set()
        self._wake.set()

    def _signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)  # raises when the group is gone already

    def _supervise(self) -> None:
        try:
            stopped = self._stop_when_due()
            # Whatever the entrypoint started and left behind dies with it.
            self._signal_group(signal.SIGKILL)
            self._reader.join(_OUTPUT_DRAIN)
            if self._reader.is_alive():
                self._tail.write(
                    b"\n[werft: a process that left the job's process group still holds "
                    b"its output open; output after this point is not kept]\n"
                )
            self._record(stopped)
        except Exception as exc:  # a thread's top level: the waiter must not hang
            log.exception("supervising job %s failed", self.id)
            self._record(None, failure=f"werft could not supervise the job: {exc!r}")
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._done.set()

    def _stop_when_due(self) -> JobStatus | None:
        """Wait for the exit, a cancel or the timeout; stop the job for the latter two."""
        self._wake.wait(self._timeout)
        if self._exited.is_set():
            return None
        stopped = JobStatus.CANCELLED if self._cancel_requested else JobStatus.TIMED_OUT
        self._signal_group(signal.SIGTERM)
        if not self._exited.wait(self._grace):
            self._signal_group(signal.SIGKILL)
            self._exited.wait()
        return stopped

    def _record(self, stopped: JobStatus | None, *, failure: str | None = None) -> None:
        exit_code = self._process.returncode
        error: str | None
        if failure is not None:
            status, result, error = JobStatus.FAILED, None, failure
        else:
            outcome = None
            if self._outcome_file.is_file():
                outcome = Outcome.from_json(self._outcome_file.read_text(encoding="utf-8"))
            status, result, error = conclude(exit_code, outcome, stopped)
        self._result = JobResult(
            status=status,
            exit_code=exit_code,
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            logs=self._tail.text(),
            logs_truncated=self._tail.truncated,
            result=result,
            error=error,
        )


def executor_for(spec: str) -> Executor:
    """The executor a ``werft.yaml`` ``executor:`` value names.

    * ``local`` — :class:`LocalExecutor`;
    * ``ray`` — :class:`RayExecutor` on the cluster Ray finds by itself
      (``RAY_API_SERVER_ADDRESS`` / ``RAY_ADDRESS``, or one running on this machine);
    * ``ray://HEAD:10001`` — a Ray Client address; Ray asks the cluster for its
      dashboard address and submits there;
    * ``http://HEAD:8265`` (or ``https://``) — the Ray dashboard, whose Jobs API
      takes the job directly.

    Raises:
        InvalidInputError: the spec is none of these.
        UnavailableError: a Ray spec, but the ``ray`` extra is not installed.
    """
    spec = check_executor(spec)
    if spec == "local":
        return LocalExecutor()
    return RayExecutor() if spec == "ray" else RayExecutor(spec)
