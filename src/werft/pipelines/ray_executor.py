"""Training jobs on a Ray cluster, through the Ray Jobs API (``werft[ray]``).

The job's repository is uploaded as the Ray job's ``working_dir`` and the
runner starts there with ``python -m werft.pipelines.runner`` — so werft and
the project's dependencies must be installed on the cluster's nodes. The Jobs
API is served by the head node's dashboard (``http://HEAD:8265``).

The cluster shares no file system with the submitter, so the runner prints its
outcome as the last line of the job's output, after a marker unique to the
job; the handle takes that line out of the logs and parses it.

Ray itself has no job timeout: the handle enforces ``TrainingJob.timeout``
whenever it is asked for the status (``wait`` asks every ``poll_interval``
seconds), counting from submission, which includes waiting for resources and
setting up the runtime environment.
"""

from __future__ import annotations

import shlex
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

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

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

_T = TypeVar("_T")

_STATUSES = {
    "PENDING": JobStatus.PENDING,
    "RUNNING": JobStatus.RUNNING,
    "SUCCEEDED": JobStatus.SUCCEEDED,
    "FAILED": JobStatus.FAILED,
    "STOPPED": JobStatus.CANCELLED,
}


def _import_job_submission() -> ModuleType:
    # Deferred: Ray is an optional extra and takes 0.4 s to import.
    try:
        import ray.job_submission
    except ImportError as exc:
        raise UnavailableError(
            "the Ray executor needs Ray, which is not installed: pip install 'werft[ray]'"
        ) from exc
    module: ModuleType = ray.job_submission  # typed even where mypy lacks Ray
    return module


class RayExecutor:
    """Submits jobs to a Ray cluster's Jobs API.

    Args:
        address: ``http://HEAD:8265`` (the dashboard, which serves the Jobs
            API), ``ray://HEAD:10001`` (a Ray Client address, from which Ray
            looks the dashboard up), or ``None`` for Ray's own discovery. Ray lets
            ``RAY_API_SERVER_ADDRESS`` or ``RAY_ADDRESS``, when set, override it.
        python: the interpreter on the cluster's nodes.
        log_limit: bytes of output kept per job (the end is kept).
        poll_interval: seconds between status requests in :meth:`RayJobHandle.wait`.
        num_cpus: CPUs to reserve for the entrypoint (Ray's default: none).
        num_gpus: GPUs to reserve for the entrypoint.

    Raises:
        UnavailableError: Ray is not installed. The cluster is contacted on the
            first :meth:`submit`, not here.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        python: str = "python",
        log_limit: int = DEFAULT_LOG_LIMIT,
        poll_interval: float = 1.0,
        num_cpus: float | None = None,
        num_gpus: float | None = None,
    ) -> None:
        self._job_submission = _import_job_submission()
        self.address = address
        self.python = python
        self.log_limit = log_limit
        self.poll_interval = poll_interval
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self._client: JobSubmissionClient | None = None
        self._lock = threading.Lock()

    def _connect(self) -> JobSubmissionClient:
        with self._lock:
            if self._client is None:
                factory: Callable[[str | None], JobSubmissionClient] = (
                    self._job_submission.JobSubmissionClient
                )
                self._client = _calling_ray(self.address, factory, self.address)
            return self._client

    def submit(self, job: TrainingJob) -> RayJobHandle:
        """Upload the repository and submit the job; see ``Executor.submit``."""
        workdir = job.check_workdir()
        client = self._connect()
        marker = f"@@werft-outcome-{uuid.uuid4().hex}@@"
        entrypoint = shlex.join(runner_command(self.python, job, marker=marker))
        runtime_env = {
            "working_dir": str(workdir),
            "env_vars": {"PYTHONUNBUFFERED": "1", **job.env},
        }
        submission_id = _calling_ray(
            self.address,
            lambda: client.submit_job(
                entrypoint=entrypoint,
                runtime_env=runtime_env,
                submission_id=f"werft-{uuid.uuid4().hex[:16]}",
                metadata={"werft_entrypoint": job.entrypoint},
                entrypoint_num_cpus=self.num_cpus,
                entrypoint_num_gpus=self.num_gpus,
            ),
        )
        return RayJobHandle(
            client,
            submission_id,
            address=self.address,
            marker=marker,
            timeout=job.timeout,
            log_limit=self.log_limit,
            poll_interval=self.poll_interval,
        )


class RayJobHandle:
    """A job on a Ray cluster; every call asks the cluster."""

    def __init__(
        self,
        client: JobSubmissionClient,
        submission_id: str,
        *,
        address: str | None,
        marker: str,
        timeout: float | None,
        log_limit: int,
        poll_interval: float,
    ) -> None:
        self.id = submission_id
        self._client = client
        self._address = address
        self._marker = marker
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._log_limit = log_limit
        self._poll_interval = poll_interval
        self._stopped_by_us: JobStatus | None = None
        self._result: JobResult | None = None
        self._lock = threading.Lock()

    def _ray(self, call: Callable[[], _T]) -> _T:
        return _calling_ray(self._address, call)

    def status(self) -> JobStatus:
        """The job's status; stops it when its timeout has passed."""
        if self._result is not None:
            return self._result.status
        info = self._ray(lambda: self._client.get_job_info(self.id))
        status = _STATUSES.get(str(info.status.value), JobStatus.RUNNING)
        if status.is_terminal:
            return self._finish(info).status
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self._stop(JobStatus.TIMED_OUT)
        return status

    def wait(self, timeout: float | None = None) -> JobResult:
        """See ``JobHandle.wait``; polls every ``poll_interval`` seconds."""
        give_up = None if timeout is None else time.monotonic() + timeout
        while not self.status().is_terminal:
            now = time.monotonic()
            if give_up is not None and now >= give_up:
                raise TimeoutError(f"job {self.id} is still running after {timeout} s")
            pause = self._poll_interval
            for limit in (give_up, self._deadline):  # wake for whichever comes first
                if limit is not None and limit > now:
                    pause = min(pause, limit - now)
            time.sleep(pause)  # the Jobs API has no blocking wait to await
        if self._result is None:
            raise RuntimeError(f"job {self.id} ended without a result")
        return self._result

    def cancel(self) -> None:
        """Ask Ray to stop the job (SIGTERM, then SIGKILL); it ends ``cancelled``."""
        if self._result is None:
            self._stop(JobStatus.CANCELLED)

    def logs(self) -> str:
        """See ``JobHandle.logs``."""
        if self._result is not None:
            return self._result.logs
        text, _ = self._split_logs(self._ray(lambda: self._client.get_job_logs(self.id)))
        return text.text()

    def _stop(self, reason: JobStatus) -> None:
        with self._lock:
            if self._stopped_by_us is not None:
                return  # asked once already
            self._stopped_by_us = reason
        try:
            self._ray(lambda: self._client.stop_job(self.id))
        except UnavailableError:
            self._stopped_by_us = None  # not asked after all: the next poll asks again
            raise

    def _split_logs(self, raw: str) -> tuple[LogTail, Outcome | None]:
        """The logs without the outcome line, and the outcome it carried."""
        tail = LogTail(self._log_limit)
        outcome = None
        for line in raw.splitlines(keepends=True):
            if line.startswith(self._marker):
                outcome = Outcome.from_json(line[len(self._marker) :])
            else:
                tail.write(line.encode())
        return tail, outcome

    def _finish(self, info: Any) -> JobResult:
        with self._lock:
            if self._result is not None:
                return self._result
            tail, outcome = self._split_logs(self._ray(lambda: self._client.get_job_logs(self.id)))
            ray_status = str(info.status.value)
            stopped = self._stopped_by_us or (
                JobStatus.CANCELLED if ray_status == "STOPPED" else None
            )
            exit_code: int | None = getattr(info, "driver_exit_code", None)
            if exit_code is None and ray_status == "SUCCEEDED":
                exit_code = 0
            status, result, error = conclude(exit_code, outcome, stopped)
            if status is JobStatus.FAILED and outcome is None and info.message:
                error = f"Ray: {info.message}"
            self._result = JobResult(
                status=status,
                exit_code=exit_code,
                started_at=_from_millis(info.start_time),
                finished_at=_from_millis(info.end_time),
                logs=tail.text(),
                logs_truncated=tail.truncated,
                result=result,
                error=error,
            )
            return self._result


def _from_millis(millis: int | None) -> datetime | None:
    return None if not millis else datetime.fromtimestamp(millis / 1000, UTC)


def _calling_ray(address: str | None, call: Callable[..., _T], *args: Any) -> _T:
    """``call(*args)``, with Ray's connection and HTTP errors as UnavailableError."""
    try:
        return call(*args)
    except (RuntimeError, OSError, ValueError) as exc:
        where = address or "the default address"
        raise UnavailableError(f"the Ray cluster at {where} could not be used: {exc}") from exc
