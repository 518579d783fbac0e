"""What a training job is, how it ends, and the runner's command line.

A job names an entrypoint ``target:function`` in the project's repository:
``train.py:main`` (a file, relative to the repository) or
``churn.train:main`` (a module importable from the repository). The runner
(:mod:`werft.pipelines.runner`) calls it as ``function(params=..., data=...)``
and reports back an *outcome* — the returned value or the error — which every
executor turns into the same :class:`JobResult`.
"""

from __future__ import annotations

import json
import math
import signal
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from werft.errors import InvalidInputError

RUNNER_MODULE = "werft.pipelines.runner"

MAX_JOB_BYTES = 100 * 1024
"""The job's JSON (entrypoint, params, data) travels on the runner's command
line, where Linux allows 128 KiB per argument."""

MAX_RESULT_BYTES = 1024 * 1024
"""An entrypoint returns ids and small numbers, not data."""

EXIT_OK = 0
EXIT_RAISED = 1
EXIT_UNLOADABLE = 2
"""The runner's exit codes; an entrypoint's own ``sys.exit(n)`` exits with n."""


class JobStatus(StrEnum):
    """Where a job is in its life; the last four are terminal."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended and will not change any more."""
        return self not in (JobStatus.PENDING, JobStatus.RUNNING)


@dataclass(frozen=True)
class Entrypoint:
    """A parsed ``target:function``: a file relative to the repository or a module."""

    kind: Literal["file", "module"]
    target: str
    function: str

    def __str__(self) -> str:
        return f"{self.target}:{self.function}"


def parse_entrypoint(spec: str) -> Entrypoint:
    """Parse ``train.py:main`` or ``package.module:main``.

    Raises:
        InvalidInputError: the spec has no function, or the file is absolute or
            leaves the repository (only the repository travels to a Ray cluster).
    """
    target, sep, function = spec.rpartition(":")
    hint = "write it as FILE.py:FUNCTION or MODULE:FUNCTION, e.g. train.py:main"
    if not sep or not target or not function.isidentifier():
        raise InvalidInputError(f"entrypoint {spec!r} is not valid; {hint}")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = PurePosixPath(target.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in target:
            raise InvalidInputError(
                f"entrypoint file {target!r} must be a path inside the project's "
                "repository, relative to it, e.g. train.py or src/train.py"
            )
        if path.suffix != ".py":
            raise InvalidInputError(f"entrypoint file {target!r} is not a .py file; {hint}")
        return Entrypoint("file", path.as_posix(), function)
    if not all(part.isidentifier() for part in target.split(".")):
        raise InvalidInputError(f"entrypoint module {target!r} is not a dotted module; {hint}")
    return Entrypoint("module", target, function)


def _json_copy(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be JSON-compatible: {exc}") from exc


def _str_mapping(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInputError(f"{what} must map non-empty names to strings, got {value!r}")
    return dict(value)


@dataclass(frozen=True)
class TrainingJob:
    """One execution of a training entrypoint.

    Attributes:
        entrypoint: ``train.py:main`` (a file relative to ``workdir``) or
            ``package.module:main`` (importable with ``workdir`` on the path).
        workdir: the project's repository; the entrypoint runs with it as the
            current directory (on Ray, a copy of it).
        params: JSON-compatible parameters, passed as ``params``.
        data: role → dataset reference (``{"train": "customers@7"}``), passed
            unchanged as ``data``; the entrypoint resolves them.
        env: extra environment variables for the process (``WERFT_URL``,
            ``WERFT_PIPELINE_RUN`` …), on top of the executor's own environment.
        timeout: seconds until the job is stopped and ends ``timed_out``;
            ``None`` waits for ever.

    Raises:
        InvalidInputError: on construction, when a field is malformed.
    """

    entrypoint: str
    workdir: Path
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None

    def __post_init__(self) -> None:
        parse_entrypoint(self.entrypoint)
        if not isinstance(self.params, dict):
            raise InvalidInputError(f"params must be a mapping, got {self.params!r}")
        # A private JSON copy: the job cannot change under the executor, and what
        # the entrypoint receives is exactly what a recorded run can replay.
        object.__setattr__(self, "params", _json_copy(self.params, "params"))
        object.__setattr__(self, "data", _str_mapping(self.data, "data"))
        object.__setattr__(self, "env", _str_mapping(self.env, "env"))
        if any("=" in name or "\0" in value for name, value in self.env.items()):
            raise InvalidInputError("env names may not contain '=' and values no NUL byte")
        object.__setattr__(self, "workdir", Path(self.workdir))
        if self.timeout is not None and not (math.isfinite(self.timeout) and self.timeout > 0):
            raise InvalidInputError(
                f"timeout must be a positive number of seconds or None, got {self.timeout!r}"
            )
        size = len(self.spec_json().encode())
        if size > MAX_JOB_BYTES:
            raise InvalidInputError(
                f"params and data take {size} bytes as JSON, more than the "
                f"{MAX_JOB_BYTES} that fit on the runner's command line; pass large "
                "inputs as a dataset reference in data"
            )

    def spec_json(self) -> str:
        """The part the runner needs: entrypoint, params and data, as JSON."""
        spec = {"entrypoint": self.entrypoint, "params": self.params, "data": self.data}
        return json.dumps(spec, separators=(",", ":"))

    def check_workdir(self) -> Path:
        """The absolute workdir, after checking it and the entrypoint file exist.

        Raises:
            InvalidInputError: the workdir is not a directory or the file is missing.
        """
        workdir = self.workdir.expanduser().resolve()
        if not workdir.is_dir():
            raise InvalidInputError(f"workdir {str(self.workdir)!r} is not a directory")
        entry = parse_entrypoint(self.entrypoint)
        if entry.kind == "file" and not (workdir / entry.target).is_file():
            raise InvalidInputError(
                f"entrypoint file {entry.target!r} does not exist in {str(workdir)!r}"
            )
        return workdir


def runner_command(
    python: str, job: TrainingJob, *, result_file: Path | None = None, marker: str | None = None
) -> list[str]:
    """The command line that runs ``job`` with the interpreter ``python``.

    The outcome goes to ``result_file`` (local: prints cannot interfere), or is
    printed as the last line of the log prefixed with ``marker`` (Ray: the
    cluster shares no file system with the submitter). ``-P`` keeps the current
    directory off ``sys.path`` until the runner has imported what it needs: a
    ``json.py`` in the repository must not replace the standard library's.
    """
    if (result_file is None) == (marker is None):
        raise ValueError("pass exactly one of result_file and marker")
    command = [python, "-P", "-m", RUNNER_MODULE, "--job", job.spec_json()]
    if result_file is not None:
        return [*command, "--result-file", str(result_file)]
    return [*command, "--result-marker", str(marker)]


@dataclass(frozen=True)
class Outcome:
    """What the runner reports: the entrypoint's value, or why there is none."""

    ok: bool
    result: Any = None
    error: str | None = None

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps(
            {"ok": self.ok, "result": self.result, "error": self.error},
            separators=(",", ":"),
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Outcome | None:
        """The outcome in ``text``, or ``None`` if it is not one (never half of one)."""
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("ok"), bool):
            return None
        error = doc.get("error")
        return cls(
            ok=doc["ok"], result=doc.get("result"), error=error if isinstance(error, str) else None
        )


@dataclass(frozen=True)
class JobResult:
    """How a job ended.

    Attributes:
        status: one of the terminal statuses.
        exit_code: the process's exit code; negative ``-N`` when signal N
            killed it; ``None`` when the executor could not tell.
        started_at: when the job started (UTC), if it did.
        finished_at: when it ended (UTC).
        logs: stdout and stderr, interleaved, at most the executor's log limit
            (the end is kept; a first line says how much was cut).
        logs_truncated: whether the beginning of the logs was cut.
        result: the JSON value the entrypoint returned (``succeeded`` only).
        error: what went wrong, with the exception type and the last traceback
            lines when the entrypoint raised (all but ``succeeded``).
    """

    status: JobStatus
    exit_code: int | None
    started_at: datetime | None
    finished_at: datetime | None
    logs: str
    logs_truncated: bool = False
    result: Any = None
    error: str | None = None


def conclude(
    exit_code: int | None, outcome: Outcome | None, stopped: JobStatus | None
) -> tuple[JobStatus, Any, str | None]:
    """Status, result and error from what the process left behind.

    A job that completed before a stop took effect counts as succeeded; otherwise
    a stop (``cancelled``/``timed_out``) wins over whatever the process reported.
    """
    if outcome is not None and outcome.ok and exit_code == EXIT_OK:
        return JobStatus.SUCCEEDED, outcome.result, None
    if stopped is JobStatus.CANCELLED:
        return stopped, None, "the job was cancelled"
    if stopped is JobStatus.TIMED_OUT:
        return stopped, None, "the job exceeded its timeout and was stopped"
    if outcome is not None and outcome.error:
        return JobStatus.FAILED, None, outcome.error
    if exit_code is not None and exit_code < 0:
        why = f"was killed by {_signal_name(-exit_code)} (out of memory? killed by hand?)"
    else:
        why = f"exited with code {exit_code} without a result"
    return JobStatus.FAILED, None, f"the training process {why}; see the logs"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
